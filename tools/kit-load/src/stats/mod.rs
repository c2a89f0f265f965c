//! Counting a run: outcomes, latencies and bytes, inside the measured
//! window only.
//!
//! Each load-generator thread owns one `Recorder`; its connections record
//! into it without locks (they all run on that thread), and the threads'
//! recorders are merged when the run ends. A request counts if it
//! *finishes* inside the window, as in wrk, so requests started during the
//! warm-up and finished after it count, and requests cut off at the end
//! do not.

mod latency;
mod outcome;

use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use crate::Error;

pub use latency::{Latency, MAX_TRACKED, Short, histogram};
pub use outcome::Outcomes;

/// The measured window: `[start, end)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Window {
    /// When counting starts (after the warm-up).
    pub(crate) start: Instant,
    /// When counting stops and the load stops.
    pub(crate) end: Instant,
}

impl Window {
    /// Whether an instant falls inside the window.
    pub(crate) fn contains(&self, t: Instant) -> bool {
        t >= self.start && t < self.end
    }

    /// The window's length.
    pub(crate) fn len(&self) -> Duration {
        self.end - self.start
    }
}

/// What one thread counted.
#[derive(Debug)]
pub(crate) struct Recorder {
    window: Window,
    /// Latencies of responses (any status), in nanoseconds.
    pub(crate) hist: Histogram<u64>,
    pub(crate) outcomes: Outcomes,
    /// Requests finished in the window, counted apart from `outcomes` so
    /// tests can check the two agree.
    pub(crate) requests: u64,
    /// Response body bytes read in the window.
    pub(crate) bytes: u64,
}

impl Recorder {
    /// An empty recorder for `window`.
    pub(crate) fn new(window: Window) -> Result<Recorder, Error> {
        Ok(Recorder {
            window,
            hist: histogram()?,
            outcomes: Outcomes::default(),
            requests: 0,
            bytes: 0,
        })
    }

    /// An HTTP response that took from `start` to `end`.
    pub(crate) fn http(&mut self, start: Instant, end: Instant, status: u16, bytes: u64) {
        if self.window.contains(end) {
            self.requests += 1;
            self.bytes += bytes;
            *self.outcomes.http.entry(status).or_default() += 1;
            latency::record(&mut self.hist, end - start);
        }
    }

    /// A gRPC reply with `code` (0 for OK).
    pub(crate) fn grpc(&mut self, start: Instant, end: Instant, code: i32, bytes: u64) {
        if self.window.contains(end) {
            self.requests += 1;
            self.bytes += bytes;
            *self.outcomes.grpc.entry(code).or_default() += 1;
            latency::record(&mut self.hist, end - start);
        }
    }

    /// A request that failed on the wire at `end`.
    pub(crate) fn io_error(&mut self, end: Instant) {
        if self.window.contains(end) {
            self.requests += 1;
            self.outcomes.io_errors += 1;
        }
    }

    /// A request that timed out at `end`.
    pub(crate) fn timeout(&mut self, end: Instant) {
        if self.window.contains(end) {
            self.requests += 1;
            self.outcomes.timeouts += 1;
        }
    }

    /// A connection that could not be opened, at `end`.
    pub(crate) fn connect_error(&mut self, end: Instant) {
        if self.window.contains(end) {
            self.outcomes.connect_errors += 1;
        }
    }

    /// Adds another thread's counts to these.
    pub(crate) fn merge(&mut self, other: &Recorder) -> Result<(), Error> {
        self.hist
            .add(&other.hist)
            .map_err(|e| Error::invalid("histogram merge", format!("{e:?}")))?;
        self.outcomes.merge(&other.outcomes);
        self.requests += other.requests;
        self.bytes += other.bytes;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_window_counts() {
        let t0 = Instant::now();
        let window = Window {
            start: t0 + Duration::from_secs(1),
            end: t0 + Duration::from_secs(2),
        };
        let mut rec = Recorder::new(window).unwrap();
        let ms = |n| t0 + Duration::from_millis(n);
        rec.http(ms(0), ms(500), 200, 10); // warm-up: not counted
        rec.http(ms(900), ms(1000), 200, 10); // finishes at the start: counted
        rec.http(ms(1100), ms(1200), 500, 7);
        rec.grpc(ms(1100), ms(1300), 0, 3);
        rec.io_error(ms(1400));
        rec.timeout(ms(1500));
        rec.connect_error(ms(1600));
        rec.http(ms(1900), ms(2000), 200, 10); // finishes at the end: not counted
        rec.io_error(ms(2500));
        assert_eq!(rec.requests, 5);
        assert_eq!(rec.outcomes.total(), rec.requests);
        assert_eq!(rec.outcomes.errors(), 4);
        assert_eq!(rec.bytes, 20);
        assert_eq!(rec.hist.len(), 3);
        assert_eq!(window.len(), Duration::from_secs(1));

        let mut sum = Recorder::new(window).unwrap();
        sum.merge(&rec).unwrap();
        sum.merge(&rec).unwrap();
        assert_eq!(sum.requests, 10);
        assert_eq!(sum.hist.len(), 6);
        assert_eq!(sum.outcomes.total(), 10);
    }
}
