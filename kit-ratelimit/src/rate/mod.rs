//! The erroring rate limiter: reject at once when there is no token.
//!
//! This is Go kit's `NewErroringLimiter`, on governor's GCRA instead of
//! `x/time/rate`: a request that finds no token fails immediately with
//! `ResourceExhausted` ("rate limit exceeded") and a retry-after hint equal
//! to the time until the next token. Unlike tower's `RateLimit` (a fixed
//! window that only waits, and whose clones each get their own budget),
//! every clone of [`RateLimit`] draws from one shared [`RateLimiter`].
//!
//! The check happens in `call`, after the inner service is ready: a
//! rejected request never reaches the inner service, and a ready inner
//! service stays ready for the next request.

mod layer;

pub use self::layer::RateLimitLayer;

use std::task::{Context, Poll};

use governor::clock::Clock;
use kit_endpoint::Error;
use tower_service::Service;

use crate::RateLimiter;
use crate::clock::TokioClock;
use crate::future::ResponseFuture;
use crate::hooks::{Reason, Rejection, reject};

/// Rejects requests over a rate at once. See the [module docs](self).
#[derive(Clone, Debug)]
pub struct RateLimit<S, C: Clock = TokioClock> {
    inner: S,
    limiter: RateLimiter<C>,
}

impl<S, C: Clock> RateLimit<S, C> {
    /// Limits `inner` with `limiter`, sharing its budget with every other
    /// holder of `limiter`.
    pub fn new(inner: S, limiter: RateLimiter<C>) -> Self {
        RateLimit { inner, limiter }
    }

    /// The limiter.
    pub fn limiter(&self) -> &RateLimiter<C> {
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

impl<S, C, Req> Service<Req> for RateLimit<S, C>
where
    S: Service<Req>,
    S::Error: Into<Error>,
    C: Clock,
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
        match self.limiter.check() {
            Ok(()) => ResponseFuture::admitted(self.inner.call(req)),
            Err(wait) => ResponseFuture::rejected(reject(
                self.limiter.hooks(),
                Rejection::new(Reason::RateExceeded, wait),
            )),
        }
    }
}
