//! A governor [`Clock`] that reads tokio's clock.
//!
//! # Why kit has its own clock
//! governor's own clocks (`QuantaClock`, `MonotonicClock`) read the operating
//! system's clock directly. kit's limiters need tokio's instead, for two
//! reasons:
//!
//! - **One time line for deadlines.** A request's deadline in its
//!   [`Context`](kit_endpoint::Context) is a [`tokio::time::Instant`], and the
//!   delaying limiter sleeps with tokio's timer. Measuring the rate on the
//!   same clock means "the next token comes at T" and "the deadline is at D"
//!   can be compared directly.
//! - **Tests on paused time.** Under `tokio::time::pause()`, tokio's clock
//!   stands still until the test advances it (`tokio::time::advance`), so a
//!   simulated minute of traffic runs in milliseconds and gives the same
//!   answer every time. governor's clocks would keep running.
//!
//! Outside paused time, [`tokio::time::Instant::now`] is `std`'s monotonic
//! clock (a vDSO `clock_gettime`) plus one atomic load, and it is most of
//! the cost of an admission check (the benchmark in `benches/ratelimit.rs`
//! measures both). Where that matters more than paused-time tests, enable
//! this crate's `quanta` feature and build limiters with governor's
//! `QuantaClock`, which reads the TSC:
//! `RateLimiter::builder(quota).clock(governor::clock::QuantaClock::default())`.
//! Every limiter here is generic over the clock; the delaying limiter still
//! sleeps on tokio's timer, which runs on the same monotonic time outside
//! paused tests.
//!
//! Rust's orphan rule forbids implementing governor's [`Reference`] trait
//! for tokio's `Instant` directly (neither is kit's), hence the
//! [`TokioInstant`] newtype.
//!
//! ```
//! use governor::clock::Clock;
//! use kit_ratelimit::clock::TokioClock;
//! use std::time::Duration;
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
//! let clock = TokioClock::default();
//! let before = clock.now();
//! tokio::time::advance(Duration::from_secs(3)).await;
//! assert_eq!(clock.now().into_inner() - before.into_inner(), Duration::from_secs(3));
//! # }
//! ```

use std::ops::Add;
use std::time::Duration;

use governor::clock::{Clock, ReasonablyRealtime, Reference};
use governor::nanos::Nanos;

/// A governor [`Clock`] that reads [`tokio::time::Instant::now`], so it
/// follows paused and advanced time in tests. See the [module docs](self).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TokioClock;

impl Clock for TokioClock {
    type Instant = TokioInstant;

    #[inline]
    fn now(&self) -> TokioInstant {
        TokioInstant(tokio::time::Instant::now())
    }
}

impl ReasonablyRealtime for TokioClock {}

/// A [`tokio::time::Instant`] that governor can use as its time reference.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TokioInstant(tokio::time::Instant);

impl TokioInstant {
    /// Wraps a tokio instant.
    pub fn new(at: tokio::time::Instant) -> TokioInstant {
        TokioInstant(at)
    }

    /// The tokio instant.
    pub fn into_inner(self) -> tokio::time::Instant {
        self.0
    }
}

impl From<tokio::time::Instant> for TokioInstant {
    fn from(at: tokio::time::Instant) -> TokioInstant {
        TokioInstant(at)
    }
}

impl From<TokioInstant> for tokio::time::Instant {
    fn from(at: TokioInstant) -> tokio::time::Instant {
        at.0
    }
}

impl Add<Nanos> for TokioInstant {
    type Output = TokioInstant;

    /// Adds `rhs`, saturating at the latest instant the platform can hold
    /// instead of panicking (governor never asks for more than 584 years).
    #[inline]
    fn add(self, rhs: Nanos) -> TokioInstant {
        let rhs: Duration = rhs.into();
        TokioInstant(self.0.checked_add(rhs).unwrap_or(self.0))
    }
}

impl Reference for TokioInstant {
    #[inline]
    fn duration_since(&self, earlier: Self) -> Nanos {
        self.0.saturating_duration_since(earlier.0).into()
    }

    #[inline]
    fn saturating_sub(&self, duration: Nanos) -> Self {
        TokioInstant(self.0.checked_sub(duration.into()).unwrap_or(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn follows_paused_time() {
        let clock = TokioClock;
        let t0 = clock.now();
        assert_eq!(clock.now(), t0);
        tokio::time::advance(Duration::from_millis(1500)).await;
        let t1 = clock.now();
        assert_eq!(
            t1.duration_since(t0),
            Nanos::from(Duration::from_millis(1500))
        );
        // duration_since saturates at zero the other way round
        assert_eq!(t0.duration_since(t1), Nanos::from(Duration::ZERO));
    }

    #[tokio::test(start_paused = true)]
    async fn arithmetic_matches_tokio() {
        let t0 = TokioClock.now();
        let later = t0 + Nanos::from(Duration::from_nanos(7));
        assert_eq!(
            later.into_inner(),
            t0.into_inner() + Duration::from_nanos(7)
        );
        assert_eq!(
            later.saturating_sub(Nanos::from(Duration::from_nanos(7))),
            t0
        );
        assert!(later > t0);
        assert_eq!(TokioInstant::from(t0.into_inner()), t0);
    }
}
