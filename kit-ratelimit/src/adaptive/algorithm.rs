//! The [`Algorithm`] trait and the [`Sample`] it learns from.

use std::time::Duration;

/// A concurrency-limit algorithm: from one sampling window's latency and
/// load, the next limit.
///
/// [`Gradient2`](super::Gradient2) and [`Vegas`](super::Vegas) implement it;
/// so can any other (AIMD, a fixed limit for tests). The limiter calls
/// [`update`](Algorithm::update) once per window, under a lock, never on the
/// admission path.
pub trait Algorithm: Send + 'static {
    /// The limit before the first window closes.
    fn initial(&self) -> usize;

    /// The limit after the window that `sample` summarises.
    fn update(&mut self, sample: &Sample) -> usize;
}

/// What one sampling window saw.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Sample {
    /// The average latency of the requests that completed in the window.
    pub rtt: Duration,
    /// The lowest of those latencies.
    pub min_rtt: Duration,
    /// The most requests in flight when any of them started.
    pub max_in_flight: usize,
    /// How many requests completed in the window.
    pub count: usize,
    /// Whether any of them was dropped: failed with `DeadlineExceeded`,
    /// `Unavailable` or `ResourceExhausted`, the codes of an overloaded
    /// callee.
    pub dropped: bool,
}

impl Sample {
    /// A sample of `count` requests with average latency `rtt`, at most
    /// `max_in_flight` at once, none dropped.
    pub fn new(rtt: Duration, max_in_flight: usize, count: usize) -> Sample {
        Sample {
            rtt,
            min_rtt: rtt,
            max_in_flight,
            count,
            dropped: false,
        }
    }

    /// The same sample, with some requests dropped.
    pub fn with_dropped(mut self, dropped: bool) -> Sample {
        self.dropped = dropped;
        self
    }

    /// The same sample, with this lowest latency.
    pub fn with_min_rtt(mut self, min_rtt: Duration) -> Sample {
        self.min_rtt = min_rtt;
        self
    }
}

/// `max(1, floor(log10(n)))`: the step size Netflix's Vegas uses, so that a
/// limit of 10..99 moves by 1, 100..999 by 2, and so on.
pub(crate) fn log10_step(n: f64) -> f64 {
    if n >= 10.0 {
        n.log10().floor().max(1.0)
    } else {
        1.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log10_steps() {
        for (n, step) in [
            (0.0, 1.0),
            (1.0, 1.0),
            (9.9, 1.0),
            (10.0, 1.0),
            (99.0, 1.0),
            (100.0, 2.0),
            (999.0, 2.0),
            (1000.0, 3.0),
        ] {
            assert_eq!(log10_step(n), step, "{n}");
        }
    }
}
