//! `Backoff`: the delays between a backend's tries after errors.
//!
//! Every loop in kit-sd that talks to a registry (watches, polls,
//! keep-alives) waits between failed tries with exponential backoff and
//! jitter, and starts over after a success. Go kit's Consul instancer once
//! retried at once, forever, and spun at 100% CPU while Consul was down.

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};

/// Exponential backoff with jitter: from `min`, doubling, up to `max`, each
/// delay stretched by a random factor between 1 and 2. The default is Go
/// kit's Consul backoff: 10 ms up to 1 minute.
///
/// ```
/// use std::time::Duration;
/// use kit_sd::backoff::Backoff;
///
/// let mut delays = Backoff::new(Duration::from_millis(10), Duration::from_secs(1)).delays();
/// let first = delays.next().unwrap();
/// assert!(first >= Duration::from_millis(10) && first < Duration::from_millis(20));
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Backoff {
    min: Duration,
    max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff::new(Duration::from_millis(10), Duration::from_secs(60))
    }
}

impl Backoff {
    /// Delays from `min` (at least 1 ms) doubling up to `max`.
    pub fn new(min: Duration, max: Duration) -> Backoff {
        let min = min.max(Duration::from_millis(1));
        Backoff {
            min,
            max: max.max(min),
        }
    }

    /// The first delay.
    pub fn min(&self) -> Duration {
        self.min
    }

    /// The largest delay before jitter.
    pub fn max(&self) -> Duration {
        self.max
    }

    /// An endless series of delays; take a new one after a success.
    pub fn delays(&self) -> Delays {
        Delays {
            inner: ExponentialBuilder::new()
                .with_min_delay(self.min)
                .with_max_delay(self.max)
                .with_factor(2.0)
                .with_jitter()
                .without_max_times()
                .build(),
            cap: self.max * 2,
        }
    }
}

/// The delays of a [`Backoff`].
#[derive(Debug)]
pub struct Delays {
    inner: backon::ExponentialBackoff,
    cap: Duration,
}

impl Iterator for Delays {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        Some(self.inner.next().unwrap_or(self.cap).min(self.cap))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_to_the_cap_and_never_end() {
        let backoff = Backoff::new(Duration::from_millis(10), Duration::from_millis(80));
        let delays: Vec<Duration> = backoff.delays().take(50).collect();
        assert_eq!(delays.len(), 50);
        for (i, d) in delays.iter().enumerate() {
            // f32 jitter in [0, 1) can round up to a whole base: 2 × base at most
            let base = Duration::from_millis(10 << i.min(3));
            assert!(*d >= base && *d <= base * 2, "#{i}: {d:?}");
        }
    }

    #[test]
    fn nonsense_settings_are_fixed_up() {
        let b = Backoff::new(Duration::ZERO, Duration::ZERO);
        assert_eq!(b.min(), Duration::from_millis(1));
        assert_eq!(b.max(), Duration::from_millis(1));
        assert!(b.delays().next().unwrap() > Duration::ZERO);
    }
}
