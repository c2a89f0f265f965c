//! Vegas: Netflix's concurrency limit after TCP Vegas.
//!
//! Vegas estimates how many requests are queued at the callee from how far
//! latency has risen over the no-load latency (`rtt_noload`, the lowest
//! seen):
//!
//! ```text
//! queue = ceil(limit × (1 − rtt_noload / rtt))
//! ```
//!
//! With `step = max(1, floor(log10(limit)))`, `alpha = 3 step` and
//! `beta = 6 step`, each window then:
//!
//! - cuts the limit by `step` if any request was dropped (timed out,
//!   unavailable, shed downstream);
//! - leaves it alone while fewer than half of it are in use;
//! - grows it by `beta` when `queue ≤ step` (no queueing), by `step` when
//!   `queue < alpha`, cuts it by `step` when `queue > beta`, and leaves it
//!   alone in between, the sweet spot.
//!
//! The no-load latency only ever falls, so every `probe_multiplier × limit`
//! windows (times a jitter in `[0.5, 1)`) Vegas takes the current latency as
//! the new no-load latency: that is how it notices a callee whose latency
//! without load has risen for good.
//!
//! Written from the published description and source of Netflix's
//! `VegasLimit` (concurrency-limits, Apache-2.0), with their defaults. As
//! with Netflix's `WindowedLimit`, kit feeds it one sample per window (the
//! window's average latency), so the probe interval counts windows. The
//! jitter comes from a small deterministic generator, so runs repeat.

use super::algorithm::log10_step;
use super::{Algorithm, Sample};

/// Netflix's Vegas limit. See the [module docs](self).
///
/// ```
/// use kit_ratelimit::adaptive::{Algorithm, Sample, Vegas};
/// use std::time::Duration;
///
/// let mut v = Vegas::new().initial_limit(20);
/// let ms = Duration::from_millis;
/// v.update(&Sample::new(ms(10), 20, 100)); // learns the no-load latency
/// assert_eq!(v.update(&Sample::new(ms(10), 20, 100)), 26); // no queue: + beta
/// assert_eq!(v.update(&Sample::new(ms(20), 26, 100)), 25); // 13 queued: - step
/// ```
#[derive(Clone, Debug)]
pub struct Vegas {
    initial: usize,
    min: usize,
    max: usize,
    smoothing: f64,
    probe_multiplier: f64,
    estimate: f64,
    /// The lowest window latency seen since the last probe, in nanoseconds.
    rtt_noload: Option<f64>,
    windows_since_probe: usize,
    jitter: f64,
    rng: u64,
}

impl Default for Vegas {
    fn default() -> Self {
        Vegas::new()
    }
}

impl Vegas {
    /// Netflix's defaults: start at 20, at most 1000, no smoothing, a probe
    /// every 30 × limit windows (jittered).
    pub fn new() -> Vegas {
        let mut v = Vegas {
            initial: 20,
            min: 1,
            max: 1000,
            smoothing: 1.0,
            probe_multiplier: 30.0,
            estimate: 20.0,
            rtt_noload: None,
            windows_since_probe: 0,
            jitter: 1.0,
            rng: 0x9e37_79b9_7f4a_7c15,
        };
        v.jitter = v.next_jitter();
        v
    }

    /// The limit to start with.
    pub fn initial_limit(mut self, limit: usize) -> Self {
        self.initial = limit;
        self.restart()
    }

    /// The lowest limit (default 1).
    pub fn min_limit(mut self, limit: usize) -> Self {
        self.min = limit.max(1);
        self.restart()
    }

    /// The highest limit (default 1000).
    pub fn max_limit(mut self, limit: usize) -> Self {
        self.max = limit.max(1);
        self.restart()
    }

    /// How much of each new estimate is taken, in `(0, 1]` (default 1).
    pub fn smoothing(mut self, smoothing: f64) -> Self {
        self.smoothing = if smoothing > 0.0 {
            smoothing.min(1.0)
        } else {
            1.0
        };
        self
    }

    /// Probe for a new no-load latency every `multiplier × limit` windows,
    /// times a jitter in `[0.5, 1)` (default 30).
    pub fn probe_multiplier(mut self, multiplier: usize) -> Self {
        self.probe_multiplier = multiplier.max(1) as f64;
        self
    }

    /// Seeds the probe jitter (runs with the same seed repeat exactly).
    pub fn seed(mut self, seed: u64) -> Self {
        self.rng = seed | 1;
        self.jitter = self.next_jitter();
        self
    }

    fn restart(mut self) -> Self {
        self.estimate = self.clamp(self.initial as f64);
        self
    }

    fn clamp(&self, limit: f64) -> f64 {
        limit.clamp(self.min as f64, self.max.max(self.min) as f64)
    }

    /// A number in `[0.5, 1)` from xorshift64.
    fn next_jitter(&mut self) -> f64 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        0.5 + (self.rng >> 11) as f64 / (1u64 << 53) as f64 * 0.5
    }

    fn next_limit(&self, rtt: f64, noload: f64, sample: &Sample) -> Option<f64> {
        let limit = self.estimate;
        let step = log10_step(limit);
        if sample.dropped {
            return Some(limit - step);
        }
        if (sample.max_in_flight as f64) * 2.0 < limit {
            return None;
        }
        let queue = (limit * (1.0 - noload / rtt)).ceil();
        if queue <= step {
            Some(limit + 6.0 * step)
        } else if queue < 3.0 * step {
            Some(limit + step)
        } else if queue > 6.0 * step {
            Some(limit - step)
        } else {
            None
        }
    }
}

impl Algorithm for Vegas {
    fn initial(&self) -> usize {
        self.clamp(self.initial as f64) as usize
    }

    fn update(&mut self, sample: &Sample) -> usize {
        let rtt = (sample.rtt.as_nanos() as f64).max(1.0);
        self.windows_since_probe += 1;
        if self.jitter * self.probe_multiplier * self.estimate <= self.windows_since_probe as f64 {
            self.jitter = self.next_jitter();
            self.windows_since_probe = 0;
            self.rtt_noload = Some(rtt);
            return self.estimate as usize;
        }
        let noload = match self.rtt_noload {
            Some(noload) if rtt >= noload => noload,
            _ => {
                self.rtt_noload = Some(rtt);
                return self.estimate as usize;
            }
        };
        if let Some(next) = self.next_limit(rtt, noload, sample) {
            let next = self.clamp(next);
            self.estimate =
                self.clamp(self.estimate * (1.0 - self.smoothing) + next * self.smoothing);
        }
        self.estimate as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn sample(ms: u64, in_flight: usize) -> Sample {
        Sample::new(Duration::from_millis(ms), in_flight, 50)
    }

    fn learned(limit: usize) -> Vegas {
        let mut v = Vegas::new().initial_limit(limit).probe_multiplier(1000);
        v.update(&sample(10, limit));
        v
    }

    #[test]
    fn grows_fast_without_queueing() {
        let mut v = learned(20);
        assert_eq!(v.update(&sample(10, 20)), 26);
        assert_eq!(v.update(&sample(10, 26)), 32);
    }

    #[test]
    fn settles_in_the_sweet_spot() {
        // limit 50, rtt 10 → 11ms: queue = ceil(50 × 1/11) = 5, in [3, 6]
        let mut v = learned(50);
        for _ in 0..10 {
            assert_eq!(v.update(&sample(11, 50)), 50);
        }
        // queue 2 (≤ step 1? no; < alpha 3): + step
        assert_eq!(
            v.update(&Sample::new(Duration::from_micros(10_300), 50, 50)),
            51
        );
    }

    #[test]
    fn cuts_on_queueing_and_on_drops() {
        let mut v = learned(50);
        assert_eq!(v.update(&sample(20, 50)), 49);
        assert_eq!(v.update(&sample(10, 49).with_dropped(true)), 48);
    }

    #[test]
    fn lower_latency_resets_the_baseline_without_moving() {
        let mut v = learned(50);
        assert_eq!(v.update(&sample(5, 50)), 50);
        // 10ms is now a doubled latency: cut
        assert_eq!(v.update(&sample(10, 50)), 49);
    }

    #[test]
    fn idle_callers_change_nothing() {
        let mut v = learned(50);
        for ms in [10, 50, 100] {
            assert_eq!(v.update(&sample(ms, 24)), 50);
        }
    }

    #[test]
    fn probes_take_the_current_latency_as_no_load() {
        let mut v = Vegas::new().initial_limit(10).probe_multiplier(1).seed(7);
        v.update(&sample(10, 10));
        // latency without load doubles for good; within 10 windows a probe
        // adopts it, after which the limit grows again
        let mut limits = Vec::new();
        for _ in 0..30 {
            limits.push(v.update(&sample(20, 100)));
        }
        assert_eq!(v.rtt_noload, Some(20_000_000.0));
        assert!(limits.last() > limits.first(), "{limits:?}");
    }

    #[test]
    fn jitter_stays_in_range() {
        let mut v = Vegas::new();
        for _ in 0..10_000 {
            let j = v.next_jitter();
            assert!((0.5..1.0).contains(&j));
        }
    }
}
