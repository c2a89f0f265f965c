use std::fmt;
use std::hash::Hash;
use std::sync::Arc;
use std::time::Duration;

use governor::clock::Clock;
use governor::middleware::NoOpMiddleware;

use super::store::{OnFull, Probe, Store};
use crate::Quota;
use crate::clock::TokioClock;
use crate::hooks::{Hooks, NoHooks, Reason, Rejection};
use crate::limiter::nonzero_wait;

type Gcra<K, C> =
    governor::RateLimiter<Probe<K>, Store<K, C>, C, NoOpMiddleware<<C as Clock>::Instant>>;

/// One GCRA rate limit per key, in bounded memory. Cloning shares the
/// state.
///
/// At most [`max_keys`](KeyedBuilder::max_keys) keys are tracked at once;
/// idle keys (whose limit has fully recovered) are forgotten, which changes
/// no decision; what happens to a new key when every tracked key is active
/// is set by [`OnFull`]. The [store module](super::store) explains how.
///
/// ```
/// use kit_ratelimit::{KeyedRateLimiter, Quota};
/// use kit_ratelimit::hooks::Reason;
/// use std::num::NonZeroU32;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
/// let limiter = KeyedRateLimiter::builder(Quota::per_minute(NonZeroU32::MIN))
///     .max_keys(1)
///     .build();
/// assert!(limiter.check("acme").is_ok());
/// // each key has its own budget…
/// assert_eq!(limiter.check("acme").unwrap_err().reason, Reason::RateExceeded);
/// // …but only one key fits, and "acme" is still active
/// assert_eq!(limiter.check("globex").unwrap_err().reason, Reason::TooManyKeys);
/// assert_eq!(limiter.len(), 1);
/// # }
/// ```
pub struct KeyedRateLimiter<K: Hash + Eq + Clone, C: Clock = TokioClock> {
    inner: Arc<Inner<K, C>>,
}

struct Inner<K: Hash + Eq + Clone, C: Clock> {
    gcra: Gcra<K, C>,
    quota: Quota,
    max_keys: usize,
    hooks: Arc<dyn Hooks>,
}

impl<K: Hash + Eq + Clone> KeyedRateLimiter<K, TokioClock> {
    /// A limiter of `quota` per key, with the default cap of 100,000 keys.
    pub fn new(quota: Quota) -> Self {
        KeyedRateLimiter::builder(quota).build()
    }

    /// A builder, to set the cap, the policy when full, hooks or a clock.
    pub fn builder(quota: Quota) -> KeyedBuilder<K, TokioClock> {
        KeyedBuilder {
            quota,
            max_keys: 100_000,
            on_full: OnFull::Reject,
            sweep_interval: Duration::from_secs(10),
            clock: TokioClock,
            hooks: Arc::new(NoHooks),
            _key: std::marker::PhantomData,
        }
    }
}

impl<K: Hash + Eq + Clone, C: Clock> KeyedRateLimiter<K, C> {
    /// Takes one token from `key`'s budget, or says why not and for how
    /// long (reason `RateExceeded` or `TooManyKeys`).
    #[inline]
    pub fn check(&self, key: K) -> Result<(), Rejection> {
        let probe = Probe::new(key);
        let decision = self.inner.gcra.check_key(&probe);
        if let Some(wait) = probe.refused.get() {
            return Err(Rejection::new(Reason::TooManyKeys, wait));
        }
        decision.map_err(|not_until| {
            let wait = not_until.wait_time_from(self.inner.gcra.clock().now());
            Rejection::new(Reason::RateExceeded, nonzero_wait(wait, &self.inner.quota))
        })
    }

    /// The number of keys tracked now.
    pub fn len(&self) -> usize {
        self.inner.gcra.len()
    }

    /// Whether no key is tracked.
    pub fn is_empty(&self) -> bool {
        self.inner.gcra.is_empty()
    }

    /// The most keys tracked at once.
    pub fn max_keys(&self) -> usize {
        self.inner.max_keys
    }

    /// Forgets every idle key now, rather than when new keys need room.
    pub fn retain_recent(&self) {
        self.inner.gcra.retain_recent();
    }

    /// The quota of each key.
    pub fn quota(&self) -> Quota {
        self.inner.quota
    }

    pub(crate) fn hooks(&self) -> &dyn Hooks {
        &*self.inner.hooks
    }
}

impl<K: Hash + Eq + Clone, C: Clock> Clone for KeyedRateLimiter<K, C> {
    fn clone(&self) -> Self {
        KeyedRateLimiter {
            inner: self.inner.clone(),
        }
    }
}

impl<K: Hash + Eq + Clone, C: Clock> fmt::Debug for KeyedRateLimiter<K, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyedRateLimiter")
            .field("quota", &self.inner.quota)
            .field("max_keys", &self.inner.max_keys)
            .finish_non_exhaustive()
    }
}

/// Builds a [`KeyedRateLimiter`]; see [`KeyedRateLimiter::builder`].
pub struct KeyedBuilder<K, C> {
    quota: Quota,
    max_keys: usize,
    on_full: OnFull,
    sweep_interval: Duration,
    clock: C,
    hooks: Arc<dyn Hooks>,
    _key: std::marker::PhantomData<fn(K)>,
}

impl<K: Hash + Eq + Clone, C: Clock + Clone> KeyedBuilder<K, C> {
    /// The most keys tracked at once (default 100,000). Memory stays below
    /// about `max_keys × (size_of::<K>() + 24)` bytes plus the keys' own
    /// heap data, times hashbrown's load factor. Rounded down to a multiple
    /// of the shard count (at most 63 fewer).
    pub fn max_keys(mut self, max_keys: usize) -> Self {
        self.max_keys = max_keys;
        self
    }

    /// What to do with a new key when full (default [`OnFull::Reject`]).
    pub fn on_full(mut self, on_full: OnFull) -> Self {
        self.on_full = on_full;
        self
    }

    /// How often a shard that sees new keys drops its idle ones even when
    /// not full (default 10 s).
    pub fn sweep_interval(mut self, every: Duration) -> Self {
        self.sweep_interval = every;
        self
    }

    /// Reports rejections to `hooks`.
    pub fn hooks(mut self, hooks: impl Hooks) -> Self {
        self.hooks = Arc::new(hooks);
        self
    }

    /// Reads `clock` instead of tokio's.
    pub fn clock<C2: Clock + Clone>(self, clock: C2) -> KeyedBuilder<K, C2> {
        KeyedBuilder {
            quota: self.quota,
            max_keys: self.max_keys,
            on_full: self.on_full,
            sweep_interval: self.sweep_interval,
            clock,
            hooks: self.hooks,
            _key: std::marker::PhantomData,
        }
    }

    /// The limiter.
    pub fn build(self) -> KeyedRateLimiter<K, C> {
        let t = self.quota.replenish_interval();
        let store = Store::new(
            self.max_keys,
            self.on_full,
            t,
            self.sweep_interval,
            self.clock.clone(),
        );
        let max_keys = store.max_keys();
        KeyedRateLimiter {
            inner: Arc::new(Inner {
                gcra: governor::RateLimiter::new(self.quota, store, self.clock),
                quota: self.quota,
                max_keys,
                hooks: self.hooks,
            }),
        }
    }
}

impl<K, C> fmt::Debug for KeyedBuilder<K, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyedBuilder")
            .field("quota", &self.quota)
            .field("max_keys", &self.max_keys)
            .field("on_full", &self.on_full)
            .field("sweep_interval", &self.sweep_interval)
            .finish_non_exhaustive()
    }
}
