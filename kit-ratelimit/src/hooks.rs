//! Rejections, limit changes, and the hooks that report them.
//!
//! Every limiter in this crate rejects the same way: a kit
//! [`Error`] with [`Code::ResourceExhausted`](kit_endpoint::Code) and a
//! retry-after hint, which transports turn into `Retry-After` or gRPC
//! metadata. Before it returns the error, the limiter tells its [`Hooks`]
//! with a [`Rejection`] saying why; the adaptive limiter also reports every
//! [`LimitChange`].
//!
//! Hooks are how kit-metrics (or anything else) counts rejections without
//! this crate depending on a metrics library. They run only on rejections
//! and limit changes, never on the admission path.
//!
//! ```
//! use kit_ratelimit::hooks::{Hooks, Reason, Rejection};
//! use std::sync::atomic::{AtomicU64, Ordering};
//!
//! #[derive(Default)]
//! struct CountRateRejections(AtomicU64);
//!
//! impl Hooks for CountRateRejections {
//!     fn on_reject(&self, rejection: &Rejection) {
//!         if rejection.reason == Reason::RateExceeded {
//!             self.0.fetch_add(1, Ordering::Relaxed);
//!         }
//!     }
//! }
//! ```

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use kit_endpoint::Error;

/// Receives rejections and limit changes. Every method has an empty default.
///
/// Implementations must be cheap and must not block: they run on the
/// request's task.
pub trait Hooks: Send + Sync + 'static {
    /// A request was rejected.
    fn on_reject(&self, rejection: &Rejection) {
        let _ = rejection;
    }

    /// An adaptive limiter changed its concurrency limit.
    fn on_limit_change(&self, change: &LimitChange) {
        let _ = change;
    }
}

/// Hooks that do nothing: the default of every limiter.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoHooks;

impl Hooks for NoHooks {}

impl<H: Hooks + ?Sized> Hooks for Arc<H> {
    fn on_reject(&self, rejection: &Rejection) {
        (**self).on_reject(rejection);
    }
    fn on_limit_change(&self, change: &LimitChange) {
        (**self).on_limit_change(change);
    }
}

/// Why a request was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Reason {
    /// A rate limiter had no token (Go kit's "rate limit exceeded").
    RateExceeded,
    /// A delaying rate limiter would have had to wait past the request's
    /// deadline for a token.
    WaitPastDeadline,
    /// A keyed limiter already tracks as many keys as it may, and none of
    /// them is idle; the request's key is new.
    TooManyKeys,
    /// A concurrency limit was reached and its wait queue is full.
    QueueFull,
    /// A request waited in a concurrency limiter's queue for the whole queue
    /// timeout.
    QueueTimeout,
    /// An adaptive concurrency limit was reached.
    OverLimit,
}

impl Reason {
    /// Every reason.
    pub const ALL: [Reason; 6] = [
        Reason::RateExceeded,
        Reason::WaitPastDeadline,
        Reason::TooManyKeys,
        Reason::QueueFull,
        Reason::QueueTimeout,
        Reason::OverLimit,
    ];

    /// A snake_case name, for metric labels.
    pub const fn as_str(self) -> &'static str {
        match self {
            Reason::RateExceeded => "rate_exceeded",
            Reason::WaitPastDeadline => "wait_past_deadline",
            Reason::TooManyKeys => "too_many_keys",
            Reason::QueueFull => "queue_full",
            Reason::QueueTimeout => "queue_timeout",
            Reason::OverLimit => "over_limit",
        }
    }

    /// The message of the error a rejection for this reason returns.
    pub const fn message(self) -> &'static str {
        match self {
            Reason::RateExceeded => "rate limit exceeded",
            Reason::WaitPastDeadline => "rate limit exceeded: the wait would pass the deadline",
            Reason::TooManyKeys => "rate limit exceeded: too many distinct keys",
            Reason::QueueFull => "concurrency limit reached: queue full",
            Reason::QueueTimeout => "concurrency limit reached: timed out in queue",
            Reason::OverLimit => "adaptive concurrency limit reached",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One rejected request, as [`Hooks::on_reject`] sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Rejection {
    /// Why the request was rejected.
    pub reason: Reason,
    /// How long the caller should wait before retrying.
    pub retry_after: Duration,
}

impl Rejection {
    /// A rejection for `reason`, retryable after `retry_after`.
    pub fn new(reason: Reason, retry_after: Duration) -> Rejection {
        Rejection {
            reason,
            retry_after,
        }
    }

    /// The kit error for this rejection: `ResourceExhausted`, the reason's
    /// message and the retry-after hint.
    pub fn to_error(&self) -> Error {
        Error::resource_exhausted(self.reason.message()).with_retry_after(self.retry_after)
    }
}

/// A change of an adaptive concurrency limit, as
/// [`Hooks::on_limit_change`] sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct LimitChange {
    /// The limit before.
    pub from: usize,
    /// The limit now.
    pub to: usize,
    /// The average latency of the sampling window that caused the change.
    pub latency: Duration,
    /// The most requests in flight during that window.
    pub in_flight: usize,
}

/// Hooks that count rejections per [`Reason`] and remember the last limit:
/// enough for tests, and for exporters that scrape counters.
#[derive(Debug, Default)]
pub struct Counters {
    rejected: [AtomicU64; Reason::ALL.len()],
    limit_changes: AtomicU64,
    last_limit: AtomicU64,
}

impl Counters {
    /// Zeroed counters.
    pub fn new() -> Counters {
        Counters::default()
    }

    /// Rejections for `reason` so far.
    pub fn rejected(&self, reason: Reason) -> u64 {
        self.rejected[Self::index(reason)].load(Ordering::Relaxed)
    }

    /// Rejections for every reason so far.
    pub fn rejected_total(&self) -> u64 {
        self.rejected
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .sum()
    }

    /// How many times an adaptive limit changed.
    pub fn limit_changes(&self) -> u64 {
        self.limit_changes.load(Ordering::Relaxed)
    }

    /// The adaptive limit after its last change (0 before any).
    pub fn last_limit(&self) -> u64 {
        self.last_limit.load(Ordering::Relaxed)
    }

    fn index(reason: Reason) -> usize {
        Reason::ALL.iter().position(|r| *r == reason).unwrap_or(0)
    }
}

impl Hooks for Counters {
    fn on_reject(&self, rejection: &Rejection) {
        self.rejected[Self::index(rejection.reason)].fetch_add(1, Ordering::Relaxed);
    }

    fn on_limit_change(&self, change: &LimitChange) {
        self.limit_changes.fetch_add(1, Ordering::Relaxed);
        self.last_limit.store(change.to as u64, Ordering::Relaxed);
    }
}

/// Reports `rejection` to `hooks` and returns its error: the one place every
/// limiter rejects through.
pub(crate) fn reject(hooks: &dyn Hooks, rejection: Rejection) -> Error {
    hooks.on_reject(&rejection);
    rejection.to_error()
}

#[cfg(test)]
mod tests {
    use super::*;
    use kit_endpoint::Code;

    #[test]
    fn every_reason_rejects_with_resource_exhausted_and_a_hint() {
        let counters = Counters::new();
        for (i, reason) in Reason::ALL.into_iter().enumerate() {
            let after = Duration::from_millis(10 * (i as u64 + 1));
            let err = reject(&counters, Rejection::new(reason, after));
            assert_eq!(err.code(), Code::ResourceExhausted);
            assert_eq!(err.retry_after(), Some(after));
            assert_eq!(err.message(), reason.message());
            assert_eq!(counters.rejected(reason), 1);
        }
        assert_eq!(counters.rejected_total(), Reason::ALL.len() as u64);
        let names: std::collections::HashSet<_> = Reason::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(names.len(), Reason::ALL.len());
    }

    #[test]
    fn limit_changes_are_counted() {
        let counters = Arc::new(Counters::new());
        let hooks: Arc<dyn Hooks> = counters.clone();
        hooks.on_limit_change(&LimitChange {
            from: 20,
            to: 24,
            latency: Duration::from_millis(5),
            in_flight: 19,
        });
        assert_eq!(counters.limit_changes(), 1);
        assert_eq!(counters.last_limit(), 24);
    }
}
