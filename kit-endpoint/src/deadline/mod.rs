//! Deadlines: fail with `DeadlineExceeded` at the request's deadline or at a
//! fixed timeout, whichever comes first.
//!
//! Unlike `tower::timeout`, this middleware reads the deadline the request
//! carries in its [`Context`](crate::Context) (set by a transport from an
//! inbound `grpc-timeout`, or by a caller), tightens that deadline by its own
//! timeout so that calls made further down see the earlier bound, and never
//! calls the inner service once the deadline has passed.

mod future;
mod layer;

pub use self::future::ResponseFuture;
pub use self::layer::DeadlineLayer;

use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use tokio::time::Instant;
use tower_service::Service;

use crate::{Error, HasContext};

/// Enforces the request's deadline and an optional timeout on an inner
/// service. See the [module docs](self).
#[derive(Clone, Debug)]
pub struct Deadline<S> {
    inner: S,
    timeout: Option<Duration>,
}

impl<S> Deadline<S> {
    /// Enforces only the deadline each request carries.
    pub fn new(inner: S) -> Deadline<S> {
        Deadline {
            inner,
            timeout: None,
        }
    }

    /// Enforces the request's deadline and, in addition, `timeout` from the
    /// moment of the call.
    pub fn with_timeout(inner: S, timeout: Duration) -> Deadline<S> {
        Deadline {
            inner,
            timeout: Some(timeout),
        }
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

impl<S, Req> Service<Req> for Deadline<S>
where
    S: Service<Req>,
    S::Error: Into<Error>,
    Req: HasContext,
{
    type Response = S::Response;
    type Error = Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, mut req: Req) -> Self::Future {
        let ctx = req.context_mut();
        let (at, own) = match (ctx.deadline(), self.timeout) {
            (None, None) => return ResponseFuture::unbounded(self.inner.call(req)),
            (Some(at), None) => (at, false),
            (ctx_at, Some(timeout)) => {
                let own_at = Instant::now() + timeout;
                match ctx_at {
                    Some(at) if at <= own_at => (at, false),
                    _ => (own_at, true),
                }
            }
        };
        if at <= Instant::now() {
            return ResponseFuture::expired();
        }
        ctx.tighten_deadline(at);
        let reason = own.then_some(self.timeout).flatten();
        ResponseFuture::bounded(self.inner.call(req), at, reason)
    }
}

#[cfg(test)]
mod tests;
