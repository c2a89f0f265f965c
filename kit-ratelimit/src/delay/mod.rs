//! The delaying rate limiter: wait for a token, but never past the deadline.
//!
//! This is Go kit's `NewDelayingLimiter`: a request that finds no token
//! waits for one, unless the wait would pass the deadline its
//! [`Context`](kit_endpoint::Context) carries; then it fails at once, without
//! waiting, with `ResourceExhausted` and the wait as its retry-after hint.
//! A request with no deadline waits as long as it takes.
//!
//! # Waiting
//! governor has no reservations, so a waiter sleeps until the next token
//! and then checks again. When several requests wait at once, only one wins
//! each token; the others compute their new wait and, if it would now pass
//! their deadline, fail at that moment. A request therefore never waits
//! past its deadline, and fails without waiting whenever the first wait
//! already would; but waiters are not served in arrival order (Go's
//! `x/time/rate`, which reserves, is FIFO). A waiter that a busy runtime
//! wakes only after its deadline fails then, without taking a token or
//! calling the inner service. Dropping the response future cancels the
//! wait.
//!
//! Waiting needs the inner service inside the response future, so the
//! service must be `Clone`: as in tower's `Oneshot`, the instance that was
//! polled ready moves into the future and a clone takes its place.

mod future;
mod layer;

pub use self::future::ResponseFuture;
pub use self::layer::DelayLimitLayer;

use std::task::{Context, Poll};

use governor::clock::Clock;
use kit_endpoint::{Error, HasContext};
use tokio::time::Instant;
use tower_service::Service;

use crate::RateLimiter;
use crate::clock::TokioClock;
use crate::hooks::{Reason, Rejection, reject};

/// Delays requests over a rate until a token is free, within the request's
/// deadline. See the [module docs](self).
#[derive(Clone, Debug)]
pub struct DelayLimit<S, C: Clock = TokioClock> {
    inner: S,
    limiter: RateLimiter<C>,
}

impl<S, C: Clock> DelayLimit<S, C> {
    /// Limits `inner` with `limiter`, sharing its budget with every other
    /// holder of `limiter`.
    pub fn new(inner: S, limiter: RateLimiter<C>) -> Self {
        DelayLimit { inner, limiter }
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

/// Whether waiting `wait` from `now` would pass `deadline`. Arriving exactly
/// at the deadline is allowed, as in `x/time/rate`.
pub(crate) fn passes_deadline(
    now: Instant,
    wait: std::time::Duration,
    deadline: Option<Instant>,
) -> bool {
    deadline.is_some_and(|d| now.checked_add(wait).is_none_or(|at| at > d))
}

impl<S, C, Req> Service<Req> for DelayLimit<S, C>
where
    S: Service<Req> + Clone,
    S::Error: Into<Error>,
    C: Clock,
    Req: HasContext,
{
    type Response = S::Response;
    type Error = Error;
    type Future = ResponseFuture<S, Req, C>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, req: Req) -> Self::Future {
        let wait = match self.limiter.check() {
            Ok(()) => return ResponseFuture::called(self.inner.call(req)),
            Err(wait) => wait,
        };
        let deadline = req.context().deadline();
        let now = Instant::now();
        if passes_deadline(now, wait, deadline) {
            let rejection = Rejection::new(Reason::WaitPastDeadline, wait);
            return ResponseFuture::rejected(reject(self.limiter.hooks(), rejection));
        }
        let clone = self.inner.clone();
        let ready = std::mem::replace(&mut self.inner, clone);
        ResponseFuture::waiting(ready, req, self.limiter.clone(), now + wait, deadline)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn deadline_arithmetic() {
        let now = Instant::now();
        let ms = Duration::from_millis;
        assert!(!passes_deadline(now, ms(10), None));
        assert!(!passes_deadline(now, ms(10), Some(now + ms(10))));
        assert!(passes_deadline(now, ms(11), Some(now + ms(10))));
        assert!(passes_deadline(now, ms(1), Some(now)));
        assert!(!passes_deadline(now, Duration::ZERO, Some(now)));
        // a wait too long for the platform's clock passes any deadline
        assert!(passes_deadline(now, Duration::MAX, Some(now + ms(1))));
    }
}
