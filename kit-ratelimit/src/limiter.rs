//! [`RateLimiter`]: one GCRA rate limit, shared by every clone.
//!
//! The limiter is governor's lock-free GCRA (one atomic compare-and-swap per
//! check) on kit's [`TokioClock`], with [`Hooks`] attached. The erroring
//! [`RateLimit`](crate::RateLimit) and delaying
//! [`DelayLimit`](crate::DelayLimit) services both take one, so a single
//! budget can be shared across clones, endpoints, or both.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use governor::clock::Clock;
use governor::middleware::NoOpMiddleware;
use governor::state::{InMemoryState, NotKeyed};

use crate::Quota;
use crate::clock::TokioClock;
use crate::hooks::{Hooks, NoHooks};

type Gcra<C> =
    governor::RateLimiter<NotKeyed, InMemoryState, C, NoOpMiddleware<<C as Clock>::Instant>>;

/// A GCRA rate limit: `quota.burst_size()` requests at once, refilled at one
/// per `quota.replenish_interval()`. Cloning shares the budget.
///
/// ```
/// use kit_ratelimit::{Quota, RateLimiter};
/// use std::num::NonZeroU32;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
/// // 10 per second, in bursts of up to 3
/// let quota = Quota::per_second(NonZeroU32::new(10).unwrap())
///     .allow_burst(NonZeroU32::new(3).unwrap());
/// let limiter = RateLimiter::new(quota);
/// let shared = limiter.clone();
/// assert!(limiter.check().is_ok());
/// assert!(shared.check().is_ok());
/// assert!(limiter.check().is_ok());
/// // the burst is spent; the next token comes 100ms later
/// let wait = shared.check().unwrap_err();
/// assert_eq!(wait.as_millis(), 100);
/// # }
/// ```
pub struct RateLimiter<C: Clock = TokioClock> {
    inner: Arc<Inner<C>>,
}

struct Inner<C: Clock> {
    gcra: Gcra<C>,
    quota: Quota,
    hooks: Arc<dyn Hooks>,
}

impl RateLimiter<TokioClock> {
    /// A limiter for `quota` on tokio's clock, with no hooks.
    pub fn new(quota: Quota) -> RateLimiter<TokioClock> {
        RateLimiter::builder(quota).build()
    }

    /// A builder, to set hooks or another clock.
    pub fn builder(quota: Quota) -> Builder<TokioClock> {
        Builder {
            quota,
            clock: TokioClock,
            hooks: Arc::new(NoHooks),
        }
    }
}

impl<C: Clock> RateLimiter<C> {
    /// Takes one token if there is one; otherwise returns how long until
    /// there will be (never zero).
    #[inline]
    pub fn check(&self) -> Result<(), Duration> {
        match self.inner.gcra.check() {
            Ok(()) => Ok(()),
            Err(not_until) => {
                let now = self.inner.gcra.clock().now();
                Err(nonzero_wait(
                    not_until.wait_time_from(now),
                    &self.inner.quota,
                ))
            }
        }
    }

    /// Takes `n` tokens at once if there are that many (all or none, so a
    /// refusal wastes nothing); otherwise returns how long until there will
    /// be. `n = 0` always succeeds; `n` above the burst size can never
    /// succeed and returns `Duration::MAX`.
    ///
    /// ```
    /// use kit_ratelimit::{Quota, RateLimiter};
    /// use std::num::NonZeroU32;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
    /// let limiter = RateLimiter::new(Quota::per_second(NonZeroU32::new(10).unwrap()));
    /// assert!(limiter.check_n(7).is_ok());
    /// assert!(limiter.check_n(4).is_err()); // 3 left: none taken
    /// assert!(limiter.check_n(3).is_ok());
    /// assert_eq!(limiter.check_n(11), Err(std::time::Duration::MAX));
    /// # }
    /// ```
    pub fn check_n(&self, n: u32) -> Result<(), Duration> {
        let Some(n) = std::num::NonZeroU32::new(n) else {
            return Ok(());
        };
        match self.inner.gcra.check_n(n) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(not_until)) => {
                let now = self.inner.gcra.clock().now();
                Err(nonzero_wait(
                    not_until.wait_time_from(now),
                    &self.inner.quota,
                ))
            }
            Err(_insufficient) => Err(Duration::MAX),
        }
    }

    /// The quota this limiter enforces.
    pub fn quota(&self) -> Quota {
        self.inner.quota
    }

    /// The clock this limiter reads.
    pub fn clock(&self) -> &C {
        self.inner.gcra.clock()
    }

    /// Whether `self` and `other` share one budget.
    pub fn same_budget(&self, other: &RateLimiter<C>) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    pub(crate) fn hooks(&self) -> &dyn Hooks {
        &*self.inner.hooks
    }
}

/// A wait is only ever zero when a token freed up between the check and the
/// clock read; report one replenish interval rather than "retry now".
pub(crate) fn nonzero_wait(wait: Duration, quota: &Quota) -> Duration {
    if wait.is_zero() {
        quota.replenish_interval().max(Duration::from_nanos(1))
    } else {
        wait
    }
}

impl<C: Clock> Clone for RateLimiter<C> {
    fn clone(&self) -> Self {
        RateLimiter {
            inner: self.inner.clone(),
        }
    }
}

impl<C: Clock> fmt::Debug for RateLimiter<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimiter")
            .field("quota", &self.inner.quota)
            .finish_non_exhaustive()
    }
}

/// Builds a [`RateLimiter`]; see [`RateLimiter::builder`].
pub struct Builder<C> {
    quota: Quota,
    clock: C,
    hooks: Arc<dyn Hooks>,
}

impl<C: Clock> Builder<C> {
    /// Reports rejections to `hooks`.
    pub fn hooks(mut self, hooks: impl Hooks) -> Builder<C> {
        self.hooks = Arc::new(hooks);
        self
    }

    /// Reads `clock` instead of tokio's, e.g. governor's
    /// `FakeRelativeClock` in a test that runs without tokio.
    pub fn clock<C2: Clock>(self, clock: C2) -> Builder<C2> {
        Builder {
            quota: self.quota,
            clock,
            hooks: self.hooks,
        }
    }

    /// The limiter.
    pub fn build(self) -> RateLimiter<C> {
        RateLimiter {
            inner: Arc::new(Inner {
                gcra: governor::RateLimiter::direct_with_clock(self.quota, self.clock),
                quota: self.quota,
                hooks: self.hooks,
            }),
        }
    }
}

impl<C> fmt::Debug for Builder<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("quota", &self.quota)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use governor::clock::FakeRelativeClock;
    use std::num::NonZeroU32;

    fn nz(n: u32) -> NonZeroU32 {
        NonZeroU32::new(n).unwrap()
    }

    #[test]
    fn burst_then_one_per_interval_on_a_fake_clock() {
        let clock = FakeRelativeClock::default();
        let quota = Quota::per_second(nz(4)).allow_burst(nz(2));
        let limiter = RateLimiter::builder(quota).clock(clock.clone()).build();
        assert_eq!(limiter.check(), Ok(()));
        assert_eq!(limiter.check(), Ok(()));
        assert_eq!(limiter.check(), Err(Duration::from_millis(250)));
        clock.advance(Duration::from_millis(100));
        assert_eq!(limiter.check(), Err(Duration::from_millis(150)));
        clock.advance(Duration::from_millis(150));
        assert_eq!(limiter.check(), Ok(()));
        assert_eq!(limiter.check(), Err(Duration::from_millis(250)));
    }

    #[test]
    fn check_n_takes_all_or_nothing_and_refills() {
        let clock = FakeRelativeClock::default();
        let quota = Quota::per_second(nz(10));
        let limiter = RateLimiter::builder(quota).clock(clock.clone()).build();
        assert_eq!(limiter.check_n(0), Ok(()));
        assert_eq!(limiter.check_n(8), Ok(()));
        assert!(limiter.check_n(3).is_err(), "2 left");
        assert_eq!(limiter.check_n(2), Ok(()));
        assert_eq!(limiter.check_n(1), Err(Duration::from_millis(100)));
        clock.advance(Duration::from_millis(500));
        assert_eq!(limiter.check_n(5), Ok(()), "refilled 5 in 500ms");
        assert_eq!(limiter.check_n(11), Err(Duration::MAX));
    }

    #[test]
    fn clones_share_one_budget() {
        let clock = FakeRelativeClock::default();
        let a = RateLimiter::builder(Quota::per_minute(nz(1)))
            .clock(clock)
            .build();
        let b = a.clone();
        assert!(a.same_budget(&b));
        assert!(a.check().is_ok());
        assert_eq!(b.check(), Err(Duration::from_secs(60)));
    }

    #[test]
    fn zero_waits_become_one_interval() {
        let quota = Quota::per_second(nz(50));
        assert_eq!(
            nonzero_wait(Duration::ZERO, &quota),
            Duration::from_millis(20)
        );
        assert_eq!(
            nonzero_wait(Duration::from_millis(3), &quota),
            Duration::from_millis(3)
        );
    }
}
