//! The sampling window: latencies of completed requests, summarised once
//! per window for the [`Algorithm`](super::Algorithm).
//!
//! This follows Netflix's `WindowedLimit` with an average-latency window:
//! a window lasts twice its lowest latency, kept between `min` and `max`;
//! latencies under `min_rtt` (cache hits, fast failures) say nothing about
//! queueing and are ignored; a window with fewer than `min_samples`
//! requests is discarded rather than trusted.

use std::time::Duration;

use tokio::time::Instant;

use super::Sample;

/// How the adaptive limiter samples latency. See the [module docs](self).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WindowConfig {
    /// The shortest window (default 100 ms).
    pub min: Duration,
    /// The longest window (default 1 s).
    pub max: Duration,
    /// The fewest requests a window needs to count (default 10).
    pub min_samples: usize,
    /// Latencies below this are ignored (default 100 µs).
    pub min_rtt: Duration,
}

impl Default for WindowConfig {
    fn default() -> Self {
        WindowConfig {
            min: Duration::from_millis(100),
            max: Duration::from_secs(1),
            min_samples: 10,
            min_rtt: Duration::from_micros(100),
        }
    }
}

/// No window is longer than this, whatever the config says: it keeps
/// `now + length` far from overflowing the clock.
const LONGEST: Duration = Duration::from_secs(24 * 3600);

#[derive(Debug)]
pub(super) struct Window {
    config: WindowConfig,
    /// When the current window closes; `None` before the first sample.
    closes_at: Option<Instant>,
    sum_nanos: u128,
    count: usize,
    min_rtt: Duration,
    max_in_flight: usize,
    dropped: bool,
}

impl Window {
    pub(super) fn new(config: WindowConfig) -> Window {
        Window {
            config,
            closes_at: None,
            sum_nanos: 0,
            count: 0,
            min_rtt: Duration::MAX,
            max_in_flight: 0,
            dropped: false,
        }
    }

    /// Adds one completed request; returns the window's sample when this
    /// request closed a window with enough requests in it.
    pub(super) fn add(
        &mut self,
        now: Instant,
        rtt: Duration,
        in_flight: usize,
        dropped: bool,
    ) -> Option<Sample> {
        if rtt < self.config.min_rtt {
            return None;
        }
        self.sum_nanos += rtt.as_nanos();
        self.count += 1;
        self.min_rtt = self.min_rtt.min(rtt);
        self.max_in_flight = self.max_in_flight.max(in_flight);
        self.dropped |= dropped;
        let length = self.length(rtt);
        let closes_at = *self.closes_at.get_or_insert(now + length);
        if now < closes_at {
            return None;
        }
        let sample = (self.count >= self.config.min_samples).then(|| {
            let avg = self.sum_nanos / self.count as u128;
            Sample {
                rtt: Duration::from_nanos(u64::try_from(avg).unwrap_or(u64::MAX)),
                min_rtt: self.min_rtt,
                max_in_flight: self.max_in_flight,
                count: self.count,
                dropped: self.dropped,
            }
        });
        self.closes_at = Some(now + self.length(self.min_rtt));
        self.sum_nanos = 0;
        self.count = 0;
        self.min_rtt = Duration::MAX;
        self.max_in_flight = 0;
        self.dropped = false;
        sample
    }

    fn length(&self, min_rtt: Duration) -> Duration {
        min_rtt
            .saturating_mul(2)
            .clamp(self.config.min, self.config.max.max(self.config.min))
            .min(LONGEST)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn windows_close_and_summarise() {
        let mut w = Window::new(WindowConfig::default());
        let ms = Duration::from_millis;
        let t0 = Instant::now();
        // the first sample opens a window of max(2 x 10ms, 100ms)
        for i in 0..10 {
            assert_eq!(w.add(t0 + ms(i), ms(10 + i), i as usize, false), None);
        }
        assert_eq!(w.add(t0 + ms(99), ms(20), 3, false), None);
        let s = w.add(t0 + ms(100), ms(30), 4, true).unwrap();
        assert_eq!(s.count, 12);
        assert_eq!(s.min_rtt, ms(10));
        assert_eq!(s.max_in_flight, 9);
        assert!(s.dropped);
        // (10+..+19 + 20 + 30) / 12 = 195 / 12
        assert_eq!(s.rtt, Duration::from_nanos(195_000_000 / 12));
        // a window with too few samples is dropped, and the next one starts
        // clean
        assert_eq!(w.add(t0 + ms(300), ms(10), 1, true), None);
        for i in 0..10 {
            assert_eq!(w.add(t0 + ms(301 + i), ms(10), 1, false), None);
        }
        let s = w.add(t0 + ms(400), ms(10), 1, false).unwrap();
        assert!(!s.dropped);
        assert_eq!(s.count, 11);
    }

    #[tokio::test(start_paused = true)]
    async fn fast_requests_are_ignored() {
        let mut w = Window::new(WindowConfig {
            min_samples: 1,
            ..WindowConfig::default()
        });
        let t0 = Instant::now();
        for i in 0..1000 {
            assert_eq!(
                w.add(
                    t0 + Duration::from_secs(i),
                    Duration::from_micros(99),
                    1,
                    false
                ),
                None
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn slow_requests_lengthen_windows_up_to_the_max() {
        let w = Window::new(WindowConfig::default());
        assert_eq!(
            w.length(Duration::from_millis(300)),
            Duration::from_millis(600)
        );
        assert_eq!(w.length(Duration::from_secs(30)), Duration::from_secs(1));
        assert_eq!(w.length(Duration::ZERO), Duration::from_millis(100));
        assert_eq!(w.length(Duration::MAX), Duration::from_secs(1));
        let absurd = Window::new(WindowConfig {
            min: Duration::MAX,
            max: Duration::ZERO,
            ..WindowConfig::default()
        });
        assert_eq!(absurd.length(Duration::ZERO), LONGEST);
    }
}
