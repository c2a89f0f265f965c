use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use kit_endpoint::Code;
use tokio::time::Instant;

use super::window::{Window, WindowConfig};
use super::{Algorithm, Gradient2};
use crate::hooks::{Hooks, LimitChange, NoHooks, Reason, Rejection};

/// An adaptive concurrency limit, shared by every clone: admits requests
/// while fewer than the limit are in flight, and moves the limit with the
/// latency it measures, by an [`Algorithm`].
///
/// ```
/// use kit_ratelimit::adaptive::{AdaptiveLimiter, Vegas};
///
/// let limiter = AdaptiveLimiter::builder(Vegas::new().initial_limit(2)).build();
/// let a = limiter.try_acquire().unwrap();
/// let b = limiter.try_acquire().unwrap();
/// assert!(limiter.try_acquire().is_err()); // 2 in flight
/// drop(a); // a cancelled request frees its slot, and teaches nothing
/// assert!(limiter.try_acquire().is_ok());
/// # drop(b);
/// ```
#[derive(Clone)]
pub struct AdaptiveLimiter {
    inner: Arc<Shared>,
}

struct Shared {
    limit: AtomicUsize,
    in_flight: AtomicUsize,
    /// The last window's average latency, for retry-after hints.
    last_rtt_nanos: AtomicU64,
    /// Latencies under this are ignored: checked before taking the lock.
    min_rtt: Duration,
    estimator: Mutex<Estimator>,
    hooks: Arc<dyn Hooks>,
}

struct Estimator {
    algorithm: Box<dyn Algorithm>,
    window: Window,
}

impl AdaptiveLimiter {
    /// A limiter driven by `algorithm`, with the default window.
    pub fn new(algorithm: impl Algorithm) -> AdaptiveLimiter {
        AdaptiveLimiter::builder(algorithm).build()
    }

    /// A builder, to set the sampling window and hooks.
    pub fn builder(algorithm: impl Algorithm) -> AdaptiveBuilder {
        AdaptiveBuilder {
            algorithm: Box::new(algorithm),
            window: WindowConfig::default(),
            hooks: Arc::new(NoHooks),
        }
    }

    /// The current limit.
    pub fn limit(&self) -> usize {
        self.inner.limit.load(Ordering::Relaxed)
    }

    /// The requests in flight now.
    pub fn in_flight(&self) -> usize {
        self.inner.in_flight.load(Ordering::Relaxed)
    }

    /// Takes a slot if fewer than the limit are in flight. The slot is
    /// held until the [`Permit`] is completed or dropped.
    #[inline]
    pub fn try_acquire(&self) -> Result<Permit, Rejection> {
        let shared = &self.inner;
        let limit = shared.limit.load(Ordering::Relaxed);
        let mut current = shared.in_flight.load(Ordering::Relaxed);
        loop {
            if current >= limit {
                return Err(Rejection::new(Reason::OverLimit, self.retry_after()));
            }
            match shared.in_flight.compare_exchange_weak(
                current,
                current + 1,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => break,
                Err(actual) => current = actual,
            }
        }
        Ok(Permit {
            shared: Some(self.inner.clone()),
            start: Instant::now(),
            in_flight: current + 1,
        })
    }

    /// A slot frees up, on average, within one latency: the hint is the
    /// last window's average latency (1 ms before the first window).
    fn retry_after(&self) -> Duration {
        let nanos = self.inner.last_rtt_nanos.load(Ordering::Relaxed);
        Duration::from_nanos(nanos).max(Duration::from_millis(1))
    }

    pub(super) fn hooks(&self) -> &dyn Hooks {
        &*self.inner.hooks
    }
}

impl Shared {
    fn record(&self, start: Instant, in_flight: usize, dropped: bool) {
        let now = Instant::now();
        if now - start < self.min_rtt {
            return;
        }
        let change = {
            let mut est = self
                .estimator
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let Some(sample) = est.window.add(now, now - start, in_flight, dropped) else {
                return;
            };
            let to = est.algorithm.update(&sample).max(1);
            self.last_rtt_nanos.store(
                u64::try_from(sample.rtt.as_nanos()).unwrap_or(u64::MAX),
                Ordering::Relaxed,
            );
            let from = self.limit.swap(to, Ordering::Relaxed);
            (from != to).then_some(LimitChange {
                from,
                to,
                latency: sample.rtt,
                in_flight: sample.max_in_flight,
            })
        };
        // Outside the lock: hooks are the user's code.
        if let Some(change) = change {
            self.hooks.on_limit_change(&change);
        }
    }
}

/// How a request that held a [`Permit`] ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// It completed: its latency is a sample.
    Success,
    /// It failed the way an overloaded callee fails (timed out, unavailable,
    /// shed): a sample, and a sign to back off.
    Dropped,
    /// It says nothing about the callee's load (cancelled, or failed before
    /// doing the work): no sample.
    Ignore,
}

impl Outcome {
    /// The outcome of a kit result: errors with `DeadlineExceeded`,
    /// `Unavailable` or `ResourceExhausted` are drops; anything else,
    /// success or failure, took the callee's time and is a sample.
    pub fn of<T>(result: &Result<T, kit_endpoint::Error>) -> Outcome {
        match result {
            Err(e)
                if matches!(
                    e.code(),
                    Code::DeadlineExceeded | Code::Unavailable | Code::ResourceExhausted
                ) =>
            {
                Outcome::Dropped
            }
            _ => Outcome::Success,
        }
    }
}

/// A slot of an [`AdaptiveLimiter`]. Complete it with the request's
/// [`Outcome`]; dropping it uncompleted frees the slot with no sample.
pub struct Permit {
    shared: Option<Arc<Shared>>,
    start: Instant,
    in_flight: usize,
}

impl Permit {
    /// Frees the slot and, unless `outcome` is `Ignore`, records the
    /// request's latency.
    pub fn complete(mut self, outcome: Outcome) {
        if let Some(shared) = self.shared.take() {
            shared.in_flight.fetch_sub(1, Ordering::AcqRel);
            if outcome != Outcome::Ignore {
                shared.record(self.start, self.in_flight, outcome == Outcome::Dropped);
            }
        }
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if let Some(shared) = self.shared.take() {
            shared.in_flight.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

impl fmt::Debug for Permit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit")
            .field("in_flight", &self.in_flight)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for AdaptiveLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdaptiveLimiter")
            .field("limit", &self.limit())
            .field("in_flight", &self.in_flight())
            .finish_non_exhaustive()
    }
}

/// Builds an [`AdaptiveLimiter`]; see [`AdaptiveLimiter::builder`].
pub struct AdaptiveBuilder {
    algorithm: Box<dyn Algorithm>,
    window: WindowConfig,
    hooks: Arc<dyn Hooks>,
}

impl AdaptiveBuilder {
    /// How latency is sampled (default [`WindowConfig::default`]).
    pub fn window(mut self, window: WindowConfig) -> Self {
        self.window = window;
        self
    }

    /// Reports rejections and limit changes to `hooks`.
    pub fn hooks(mut self, hooks: impl Hooks) -> Self {
        self.hooks = Arc::new(hooks);
        self
    }

    /// The limiter.
    pub fn build(self) -> AdaptiveLimiter {
        AdaptiveLimiter {
            inner: Arc::new(Shared {
                limit: AtomicUsize::new(self.algorithm.initial().max(1)),
                in_flight: AtomicUsize::new(0),
                last_rtt_nanos: AtomicU64::new(0),
                min_rtt: self.window.min_rtt,
                estimator: Mutex::new(Estimator {
                    algorithm: self.algorithm,
                    window: Window::new(self.window),
                }),
                hooks: self.hooks,
            }),
        }
    }
}

impl Default for AdaptiveBuilder {
    /// [`Gradient2`] with Netflix's defaults.
    fn default() -> Self {
        AdaptiveLimiter::builder(Gradient2::new())
    }
}

impl fmt::Debug for AdaptiveBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdaptiveBuilder")
            .field("window", &self.window)
            .finish_non_exhaustive()
    }
}
