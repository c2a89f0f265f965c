//! Adaptive concurrency limits: find the callee's capacity from latency.
//!
//! A fixed concurrency limit is right for one load, one deployment, one
//! day. [`AdaptiveLimit`] instead measures the latency of the requests it
//! admits and lets an [`Algorithm`] move the limit once per sampling
//! [window](WindowConfig): up while latency holds, down when it rises,
//! which is when requests start to queue at the callee. Requests over the
//! limit are shed at once with `ResourceExhausted` (reason
//! [`OverLimit`](crate::hooks::Reason::OverLimit)) and the last window's
//! latency as the retry-after hint; every change of the limit is reported
//! to the [`Hooks`](crate::hooks::Hooks).
//!
//! Two algorithms from Netflix's concurrency-limits are built in:
//!
//! - [`Gradient2`] compares each window's latency with a slow average of
//!   past windows. It is the default.
//! - [`Vegas`] estimates the queue at the callee from the rise over the
//!   lowest latency seen, as TCP Vegas does.
//!
//! # Cost
//! Admission is one compare-and-swap on the in-flight count, with no lock.
//! Completion takes a mutex for a few additions, and, once per window, the
//! algorithm's update.
//!
//! # Outcomes
//! A completed request is a latency sample, success or not, unless it
//! failed with `DeadlineExceeded`, `Unavailable` or `ResourceExhausted`:
//! such a drop also tells the algorithm to back off. A request whose future
//! is dropped before it completes frees its slot and teaches nothing
//! ([`Outcome`]).
//!
//! # Ordering
//! Put the adaptive limit close to the callee it protects, inside retries
//! and circuit breakers, so that it sees the callee's latency and not the
//! time spent waiting elsewhere.

mod algorithm;
mod future;
pub mod gradient2;
mod layer;
mod limiter;
pub mod vegas;
pub mod window;

pub use self::algorithm::{Algorithm, Sample};
pub use self::future::ResponseFuture;
pub use self::gradient2::Gradient2;
pub use self::layer::AdaptiveLimitLayer;
pub use self::limiter::{AdaptiveBuilder, AdaptiveLimiter, Outcome, Permit};
pub use self::vegas::Vegas;
pub use self::window::WindowConfig;

use std::task::{Context, Poll};

use kit_endpoint::Error;
use tower_service::Service;

use crate::hooks::reject;

/// Sheds requests over an adaptive concurrency limit. See the
/// [module docs](self).
#[derive(Clone, Debug)]
pub struct AdaptiveLimit<S> {
    inner: S,
    limiter: AdaptiveLimiter,
}

impl<S> AdaptiveLimit<S> {
    /// Limits `inner` with `limiter`, sharing its limit with every other
    /// holder of `limiter`.
    pub fn new(inner: S, limiter: AdaptiveLimiter) -> Self {
        AdaptiveLimit { inner, limiter }
    }

    /// The limiter.
    pub fn limiter(&self) -> &AdaptiveLimiter {
        &self.limiter
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, to change.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, Req> Service<Req> for AdaptiveLimit<S>
where
    S: Service<Req>,
    S::Error: Into<Error>,
{
    type Response = S::Response;
    type Error = Error;
    type Future = ResponseFuture<S::Future>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    #[inline]
    fn call(&mut self, req: Req) -> Self::Future {
        match self.limiter.try_acquire() {
            Ok(permit) => ResponseFuture::admitted(self.inner.call(req), permit),
            Err(rejection) => ResponseFuture::rejected(reject(self.limiter.hooks(), rejection)),
        }
    }
}
