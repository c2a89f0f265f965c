//! Notifications for logs and metrics: state changes, finished calls,
//! rejections.
//!
//! The breaker depends on no metrics crate: implement [`Hooks`] over
//! whichever one the service uses (kit-metrics, `metrics`, `prometheus-client`,
//! plain atomics in a test). Hooks run inline on the task that caused the
//! event, so they must be cheap and must not block; the call hooks run on
//! every call.

use std::sync::Arc;
use std::time::Duration;

use crate::{Outcome, State};

/// Why the breaker changed state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Cause {
    /// A [`Trip::ConsecutiveFailures`](crate::Trip::ConsecutiveFailures) policy tripped.
    ConsecutiveFailures,
    /// A failure-rate policy tripped.
    FailureRate,
    /// A slow-call-rate policy tripped.
    SlowCallRate,
    /// The open period ended and a call or `poll_ready` came.
    OpenElapsed,
    /// A probe failed (or was slow) in half-open.
    ProbeFailed,
    /// Enough probes succeeded in half-open.
    ProbesSucceeded,
    /// [`Breaker::force_open`](crate::Breaker::force_open).
    ForceOpen,
    /// [`Breaker::force_closed`](crate::Breaker::force_closed).
    ForceClosed,
    /// [`Breaker::reset`](crate::Breaker::reset).
    Reset,
}

/// A state change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Transition {
    /// The state left.
    pub from: State,
    /// The state entered.
    pub to: State,
    /// Why.
    pub cause: Cause,
    /// The generation entered: one more on each transition, so reports that
    /// arrive out of order can be put back in order.
    pub generation: u32,
    /// How long the breaker will stay open, when it opens.
    pub open_for: Option<Duration>,
}

/// Receives every event of a breaker, for metrics. Every method has an
/// empty default.
///
/// Hooks behind an `Arc` are hooks too, so the caller can keep a handle:
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use kit_circuitbreaker::{Breaker, Config, Hooks, Outcome, State, Transition, Trip};
///
/// #[derive(Default)]
/// struct Counters { failures: AtomicU64, rejected: AtomicU64, opened: AtomicU64 }
///
/// impl Hooks for Counters {
///     fn on_call(&self, _state: State, outcome: Outcome, _slow: bool) {
///         if outcome == Outcome::Failure {
///             self.failures.fetch_add(1, Ordering::Relaxed);
///         }
///     }
///     fn on_rejected(&self, _state: State) {
///         self.rejected.fetch_add(1, Ordering::Relaxed);
///     }
///     fn on_state_change(&self, t: &Transition) {
///         if t.to == State::Open {
///             self.opened.fetch_add(1, Ordering::Relaxed);
///         }
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
/// let counters = Arc::new(Counters::default());
/// let breaker = Breaker::new(
///     Config::new().trips([Trip::consecutive_failures(1)]).hooks(counters.clone()),
/// );
/// breaker.acquire().unwrap().finish(Outcome::Failure);
/// assert!(breaker.acquire().is_err());
/// assert_eq!(counters.failures.load(Ordering::Relaxed), 1);
/// assert_eq!(counters.opened.load(Ordering::Relaxed), 1);
/// assert_eq!(counters.rejected.load(Ordering::Relaxed), 1);
/// # }
/// ```
pub trait Hooks: Send + Sync + 'static {
    /// After every state change.
    fn on_state_change(&self, transition: &Transition) {
        let _ = transition;
    }

    /// After every call that finished, with the state it was admitted in
    /// and whether it was slower than a slow-call policy's threshold.
    fn on_call(&self, state: State, outcome: Outcome, slow: bool) {
        let _ = (state, outcome, slow);
    }

    /// After every call dropped before it finished (counted nowhere).
    fn on_cancelled(&self, state: State) {
        let _ = state;
    }

    /// After every call the breaker refused, with the state that refused it.
    fn on_rejected(&self, state: State) {
        let _ = state;
    }
}

impl<H: Hooks> Hooks for Arc<H> {
    fn on_state_change(&self, transition: &Transition) {
        (**self).on_state_change(transition);
    }

    fn on_call(&self, state: State, outcome: Outcome, slow: bool) {
        (**self).on_call(state, outcome, slow);
    }

    fn on_cancelled(&self, state: State) {
        (**self).on_cancelled(state);
    }

    fn on_rejected(&self, state: State) {
        (**self).on_rejected(state);
    }
}
