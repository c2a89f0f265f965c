//! A concurrency limit with a bounded wait queue and a queue timeout.
//!
//! tower's `ConcurrencyLimit` waits for a slot in `poll_ready`, for as long
//! as it takes, with no bound on how many wait. kit's [`ConcurrencyLimit`]
//! runs at most `max_concurrent` requests at once, lets at most
//! `max_queue` more wait (first come, first served: tokio's semaphore is
//! fair), each for at most `queue_timeout`, and rejects the rest at once:
//! `ResourceExhausted` with reason [`QueueFull`](crate::hooks::Reason::QueueFull)
//! or [`QueueTimeout`](crate::hooks::Reason::QueueTimeout) and the
//! limiter's retry-after hint.
//!
//! A slot is held until the inner response future completes or is dropped.
//! Dropping a waiting request's future (an outer deadline firing, a client
//! going away) leaves the queue at once. Waiting moves the ready inner
//! service into the response future, so the service must be `Clone`.

mod future;
mod layer;
mod limiter;

pub use self::future::ResponseFuture;
pub use self::layer::ConcurrencyLimitLayer;
pub use self::limiter::{ConcurrencyBuilder, ConcurrencyLimiter};

use std::task::{Context, Poll};

use kit_endpoint::Error;
use tokio::sync::TryAcquireError;
use tower_service::Service;

use crate::hooks::{Reason, Rejection, reject};

/// Limits how many requests run at once, queueing a bounded number more.
/// See the [module docs](self).
#[derive(Clone, Debug)]
pub struct ConcurrencyLimit<S> {
    inner: S,
    limiter: ConcurrencyLimiter,
}

impl<S> ConcurrencyLimit<S> {
    /// Limits `inner` with `limiter`, sharing its slots with every other
    /// holder of `limiter`.
    pub fn new(inner: S, limiter: ConcurrencyLimiter) -> Self {
        ConcurrencyLimit { inner, limiter }
    }

    /// The limiter.
    pub fn limiter(&self) -> &ConcurrencyLimiter {
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

impl<S, Req> Service<Req> for ConcurrencyLimit<S>
where
    S: Service<Req> + Clone,
    S::Error: Into<Error>,
{
    type Response = S::Response;
    type Error = Error;
    type Future = ResponseFuture<S, Req>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, req: Req) -> Self::Future {
        let shared = &self.limiter.inner;
        match shared.semaphore.clone().try_acquire_owned() {
            Ok(permit) => ResponseFuture::admitted(self.inner.call(req), permit),
            Err(TryAcquireError::NoPermits) => match shared.enter_queue() {
                Some(slot) => {
                    let clone = self.inner.clone();
                    let ready = std::mem::replace(&mut self.inner, clone);
                    ResponseFuture::queued(ready, req, slot, shared)
                }
                None => {
                    let rejection = Rejection::new(Reason::QueueFull, shared.retry_after);
                    ResponseFuture::rejected(reject(&*shared.hooks, rejection))
                }
            },
            // The semaphore is never closed.
            Err(TryAcquireError::Closed) => {
                ResponseFuture::rejected(Error::internal("concurrency limiter closed"))
            }
        }
    }
}
