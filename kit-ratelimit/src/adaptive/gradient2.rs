//! Gradient2: Netflix's latency-gradient concurrency limit.
//!
//! Each window compares the window's average latency (`short`) with a
//! slow exponential average of past windows (`long`, the baseline):
//!
//! ```text
//! gradient  = clamp(tolerance × long / short, 0.5, 1.0)
//! new       = limit × gradient + queue_size
//! limit     = limit × (1 − smoothing) + new × smoothing,  within [min, max]
//! ```
//!
//! While latency holds (`short ≤ tolerance × long`) the gradient is 1 and
//! the limit grows by `queue_size × smoothing` per window; when latency
//! rises past the tolerance, the gradient falls below 1 and the limit is
//! cut, by at most half per window before smoothing. Two guards from the
//! original: the limit does not grow while fewer than half of it are in use
//! (the caller, not the callee, is the bottleneck), and when the baseline
//! is more than twice the current latency (load has just gone away) the
//! baseline decays 5% per window instead of waiting for the average.
//!
//! Written from the published description and source of Netflix's
//! `Gradient2Limit` (concurrency-limits, Apache-2.0). Two differences:
//!
//! - The baseline counts windows, not single requests, as it does in
//!   Netflix's library whenever the limit is wrapped in their
//!   `WindowedLimit`.
//! - The default tolerance is 1.0, not Netflix's 1.5. With 1.5 the limit
//!   keeps growing while latency stays under 1.5 × the baseline, and the
//!   baseline, an average of recent latency, follows latency up: on a
//!   callee that queues (latency grows with concurrency, nothing times
//!   out) the limit drifts upward without end (Netflix issue #137, PR
//!   #134). In kit's simulation (`examples/adaptive_trace.rs`, a backend
//!   of 40 workers) tolerance 1.5 let the limit reach 99 within 30 s and
//!   the 200 maximum within 90 s, with latency at 4.8 × the service time;
//!   tolerance 1.0 held it at 44–59 (26–30 while half the workers
//!   stalled), latency within 1.5 ×. Set
//!   [`tolerance`](Gradient2::tolerance) to 1.5 for Netflix's behaviour.

use super::{Algorithm, Sample};

/// Netflix's Gradient2 limit. See the [module docs](self).
///
/// ```
/// use kit_ratelimit::adaptive::{Algorithm, Gradient2, Sample};
/// use std::time::Duration;
///
/// let mut g = Gradient2::new().initial_limit(40).min_limit(5);
/// // latency triples under a full load: the limit is cut
/// let calm = Sample::new(Duration::from_millis(10), 40, 100);
/// for _ in 0..10 { g.update(&calm); }
/// let before = g.update(&calm);
/// let after = g.update(&Sample::new(Duration::from_millis(30), 40, 100));
/// assert!(after < before);
/// ```
#[derive(Clone, Debug)]
pub struct Gradient2 {
    initial: usize,
    min: usize,
    max: usize,
    smoothing: f64,
    queue_size: f64,
    tolerance: f64,
    estimate: f64,
    long: ExpAvg,
}

impl Default for Gradient2 {
    fn default() -> Self {
        Gradient2::new()
    }
}

impl Gradient2 {
    /// Netflix's defaults except the tolerance: start at 20, between 20
    /// and 200, smoothing 0.2, queue size 4, a baseline over 600 windows;
    /// tolerance 1.0 (see the [module docs](self)).
    pub fn new() -> Gradient2 {
        Gradient2 {
            initial: 20,
            min: 20,
            max: 200,
            smoothing: 0.2,
            queue_size: 4.0,
            tolerance: 1.0,
            estimate: 20.0,
            long: ExpAvg::new(600, 10),
        }
    }

    /// The limit to start with (clamped into `[min, max]` when used).
    pub fn initial_limit(mut self, limit: usize) -> Self {
        self.initial = limit;
        self.restart()
    }

    /// The lowest limit (at least 1).
    pub fn min_limit(mut self, limit: usize) -> Self {
        self.min = limit.max(1);
        self.restart()
    }

    /// The highest limit.
    pub fn max_limit(mut self, limit: usize) -> Self {
        self.max = limit.max(1);
        self.restart()
    }

    fn restart(mut self) -> Self {
        self.estimate = self.clamp(self.initial as f64);
        self
    }

    /// How much of each new estimate is taken, in `(0, 1]`.
    pub fn smoothing(mut self, smoothing: f64) -> Self {
        self.smoothing = if smoothing > 0.0 {
            smoothing.min(1.0)
        } else {
            0.2
        };
        self
    }

    /// How much the limit may grow per window while latency holds, before
    /// smoothing.
    pub fn queue_size(mut self, queue_size: usize) -> Self {
        self.queue_size = queue_size as f64;
        self
    }

    /// How much latency may rise over the baseline before the limit is cut
    /// (at least 1.0, the default; 2.0 accepts doubled latency).
    pub fn tolerance(mut self, tolerance: f64) -> Self {
        self.tolerance = if tolerance >= 1.0 { tolerance } else { 1.0 };
        self
    }

    /// How many windows the baseline averages over.
    pub fn long_window(mut self, windows: usize) -> Self {
        self.long = ExpAvg::new(windows.max(1), 10);
        self
    }

    fn clamp(&self, limit: f64) -> f64 {
        limit.clamp(self.min as f64, self.max.max(self.min) as f64)
    }
}

impl Algorithm for Gradient2 {
    fn initial(&self) -> usize {
        self.clamp(self.initial as f64) as usize
    }

    fn update(&mut self, sample: &Sample) -> usize {
        let short = (sample.rtt.as_nanos() as f64).max(1.0);
        let long = self.long.add(short);
        // Load has gone: let the baseline catch up faster than the average.
        if long / short > 2.0 {
            self.long.scale(0.95);
        }
        // The caller is the bottleneck: there is nothing to learn.
        if (sample.max_in_flight as f64) < self.estimate / 2.0 {
            return self.estimate as usize;
        }
        let gradient = (self.tolerance * long / short).clamp(0.5, 1.0);
        let target = self.estimate * gradient + self.queue_size;
        let smoothed = self.estimate * (1.0 - self.smoothing) + target * self.smoothing;
        self.estimate = self.clamp(smoothed);
        self.estimate as usize
    }
}

/// An exponential moving average over `window` values, after a plain
/// average of the first `warmup`.
#[derive(Clone, Debug)]
struct ExpAvg {
    factor: f64,
    warmup: usize,
    count: usize,
    sum: f64,
    value: f64,
}

impl ExpAvg {
    fn new(window: usize, warmup: usize) -> ExpAvg {
        ExpAvg {
            factor: 2.0 / (window as f64 + 1.0),
            warmup,
            count: 0,
            sum: 0.0,
            value: 0.0,
        }
    }

    fn add(&mut self, x: f64) -> f64 {
        if self.count < self.warmup {
            self.count += 1;
            self.sum += x;
            self.value = self.sum / self.count as f64;
        } else {
            self.value = self.value * (1.0 - self.factor) + x * self.factor;
        }
        self.value
    }

    fn scale(&mut self, by: f64) {
        self.value *= by;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn sample(ms: u64, in_flight: usize) -> Sample {
        Sample::new(Duration::from_millis(ms), in_flight, 50)
    }

    #[test]
    fn grows_while_latency_holds() {
        let mut g = Gradient2::new().initial_limit(20).min_limit(1);
        let mut last = g.initial();
        for _ in 0..50 {
            let limit = g.update(&sample(10, last));
            assert!(limit >= last);
            last = limit;
        }
        // 0.8 per window: 20 + 50 × 0.8 = 60
        assert!((g.estimate - 60.0).abs() < 1e-9, "{}", g.estimate);
        assert!((59..=60).contains(&last));
    }

    #[test]
    fn cuts_when_latency_rises_past_the_tolerance() {
        let mut g = Gradient2::new()
            .initial_limit(100)
            .min_limit(1)
            .max_limit(1000)
            .tolerance(1.5);
        for _ in 0..20 {
            g.update(&sample(10, 100));
        }
        let before = g.estimate;
        // 1.4x is within the 1.5 tolerance: still growing
        g.update(&sample(14, 100));
        assert!(g.estimate >= before);
        let before = g.estimate;
        // 3x: gradient 0.5, smoothed to a 10% cut (+ queue)
        g.update(&sample(30, 100));
        let after = g.estimate;
        assert!(
            (after - (before * 0.9 + 0.8)).abs() < 0.5,
            "{before} -> {after}"
        );
    }

    #[test]
    fn the_default_tolerance_cuts_on_any_rise() {
        let mut g = Gradient2::new().initial_limit(100).min_limit(1);
        for _ in 0..20 {
            g.update(&sample(10, 100));
        }
        let before = g.estimate;
        g.update(&sample(12, 100));
        assert!(g.estimate < before);
    }

    #[test]
    fn does_not_grow_when_app_limited() {
        let mut g = Gradient2::new().initial_limit(50).min_limit(1);
        for _ in 0..100 {
            assert_eq!(g.update(&sample(10, 24)), 50);
        }
    }

    #[test]
    fn stays_within_bounds() {
        let mut g = Gradient2::new()
            .initial_limit(1000)
            .min_limit(9)
            .max_limit(30);
        assert_eq!(g.initial(), 30);
        for _ in 0..100 {
            let l = g.update(&sample(10, 1000));
            assert!((9..=30).contains(&l));
        }
        // Halving with smoothing 0.2 and queue 4 tends to 0.9 e + 0.8 = e,
        // e = 8: below the minimum, which holds.
        for ms in 1..100 {
            let l = g.update(&sample(ms * 100, 1000));
            assert!((9..=30).contains(&l));
        }
        assert_eq!(g.estimate, 9.0);
    }

    #[test]
    fn baseline_decays_fast_when_load_goes() {
        let mut avg = ExpAvg::new(600, 10);
        for _ in 0..10 {
            avg.add(100.0);
        }
        assert_eq!(avg.value, 100.0);
        let mut g = Gradient2::new();
        g.long = avg;
        g.update(&sample(0, 0)); // 1ns: more than twice below
        assert!(g.long.value < 100.0 * 0.96);
    }
}
