//! Retry: max attempts, per-attempt timeout, the request's deadline,
//! exponential backoff with jitter, retriable codes only, and a retry budget.
//!
//! Go kit's `lb.Retry(max, timeout, balancer)` is the floor: `max` counts
//! every attempt, a failure to pick an endpoint counts as an attempt, and
//! the final error lists every attempt's error. kit adds what Finagle and
//! linkerd showed production needs:
//!
//! - **the deadline of the request's [`Context`](kit_endpoint::Context)**
//!   bounds all attempts together, and each attempt gets the smaller of it
//!   and the per-attempt timeout (the inner service sees the tightened
//!   deadline, so a transport sends it on);
//! - **only retriable codes** are retried (by default `Unavailable`,
//!   `DeadlineExceeded`, `ResourceExhausted`); an `InvalidArgument` comes
//!   back at once, unchanged;
//! - **backoff** between attempts, exponential with jitter (backon), and at
//!   least the failed callee's `retry_after` hint;
//! - **a [`RetryBudget`]**: every call deposits a fraction of a retry and
//!   every retry withdraws one, so retries stay a bounded fraction of the
//!   traffic and cannot multiply the load on a failing service.
//!
//! Retry is always ready: each attempt takes a fresh clone of the inner
//! service (a [`Balancer`](crate::balance::Balancer), usually) and waits for
//! its readiness inside the attempt's time bound, so a balancer whose every
//! endpoint is open-circuited fails the attempt at its timeout. Without a
//! timeout or a deadline such a wait has no bound: set one.
//!
//! # Ordering
//! Put `Retry` outside the balancer, so each attempt picks again, and the
//! per-instance middleware (breaker, limiter, [`PeakEwma`](crate::balance::PeakEwma))
//! inside the Endpointer's factory, so it sees each instance's calls:
//! `Retry → Balancer → Endpointer → [breaker → client]`.

pub mod error;
mod future;
mod layer;

mod budget;
#[cfg(test)]
mod tests;

pub use self::budget::RetryBudget;
pub use self::future::ResponseFuture;
pub use self::layer::RetryLayer;

use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use backon::BackoffBuilder;
use kit_endpoint::{Error, HasContext};
use tokio::time::{Instant, sleep, timeout_at};
use tower_service::Service;

use self::error::Attempts;
use self::layer::Settings;

/// Retries a service; see the [module docs](self) and [`RetryLayer`] for
/// the settings.
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicU32, Ordering};
/// use kit_endpoint::{Error, Request, endpoint_fn};
/// use kit_sd::retry::RetryLayer;
/// use tower::{Layer, ServiceExt};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
/// let calls = Arc::new(AtomicU32::new(0));
/// let flaky = {
///     let calls = calls.clone();
///     endpoint_fn(move |_: Request<()>| {
///         let n = calls.fetch_add(1, Ordering::SeqCst);
///         async move { if n < 2 { Err(Error::unavailable("down")) } else { Ok("up") } }
///     })
/// };
/// let svc = RetryLayer::new().max_attempts(3).layer(flaky);
/// assert_eq!(svc.oneshot(Request::new(())).await.unwrap(), "up");
/// assert_eq!(calls.load(Ordering::SeqCst), 3);
/// # }
/// ```
#[derive(Clone)]
pub struct Retry<S> {
    inner: S,
    settings: Arc<Settings>,
}

impl Retry<()> {
    /// The layer, to change the settings. (On `Retry<()>` only so that
    /// `Retry::layer()` needs no type annotation.)
    pub fn layer() -> RetryLayer {
        RetryLayer::new()
    }
}

impl<S> Retry<S> {
    /// Retries `inner` with [`RetryLayer::new`]'s defaults.
    pub fn new(inner: S) -> Retry<S> {
        tower_layer::Layer::layer(&RetryLayer::new(), inner)
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

impl<S: std::fmt::Debug> std::fmt::Debug for Retry<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Retry")
            .field("inner", &self.inner)
            .field("max_attempts", &self.settings.max_attempts)
            .finish_non_exhaustive()
    }
}

impl<S, Req> Service<Req> for Retry<S>
where
    S: Service<Req, Error = Error> + Clone + Send + 'static,
    S::Future: Send,
    S::Response: Send + 'static,
    Req: HasContext + Clone + Send + 'static,
{
    type Response = S::Response;
    type Error = Error;
    type Future = ResponseFuture<S::Response>;

    fn poll_ready(&mut self, _cx: &mut TaskContext<'_>) -> Poll<Result<(), Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Req) -> Self::Future {
        let inner = self.inner.clone();
        let settings = self.settings.clone();
        ResponseFuture {
            inner: Box::pin(run(inner, settings, req)),
        }
    }
}

/// The attempt loop.
async fn run<S, Req>(inner: S, settings: Arc<Settings>, req: Req) -> Result<S::Response, Error>
where
    S: Service<Req, Error = Error> + Clone,
    Req: HasContext + Clone,
{
    if let Some(budget) = &settings.budget {
        budget.deposit();
    }
    let deadline = req.context().deadline();
    let mut backoff = settings.backoff.build();
    let mut errors: Vec<Error> = Vec::new();
    for attempt in 1..=settings.max_attempts {
        if deadline.is_some_and(|at| at <= Instant::now()) {
            return Err(Attempts::deadline(errors));
        }
        let own_at = settings.attempt_timeout.map(|t| Instant::now() + t);
        let at = match (deadline, own_at) {
            (Some(d), Some(o)) => Some(d.min(o)),
            (d, o) => d.or(o),
        };
        let mut attempt_req = req.clone();
        if let Some(at) = at {
            attempt_req.context_mut().tighten_deadline(at);
        }
        let mut svc = inner.clone();
        let once = async {
            std::future::poll_fn(|cx| svc.poll_ready(cx)).await?;
            svc.call(attempt_req).await
        };
        let result = match at {
            Some(at) => timeout_at(at, once).await.unwrap_or_else(|_| {
                Err(match settings.attempt_timeout {
                    Some(t) if own_at == Some(at) => {
                        Error::deadline_exceeded(format!("attempt timed out after {t:?}"))
                    }
                    _ => Error::deadline_exceeded("deadline exceeded"),
                })
            }),
            None => once.await,
        };
        let error = match result {
            Ok(resp) => return Ok(resp),
            Err(e) => e,
        };
        if !(settings.retry_on)(&error) {
            if errors.is_empty() {
                return Err(error);
            }
            errors.push(error);
            return Err(Attempts::into_error(errors, "not retriable"));
        }
        let hint = error.retry_after();
        errors.push(error);
        if attempt == settings.max_attempts {
            break;
        }
        if settings.budget.as_ref().is_some_and(|b| !b.withdraw()) {
            return Err(Attempts::into_error(errors, "retry budget exhausted"));
        }
        let delay = backoff
            .next()
            .unwrap_or(Duration::ZERO)
            .max(hint.unwrap_or(Duration::ZERO));
        if deadline.is_some_and(|at| Instant::now() + delay >= at) {
            return Err(Attempts::deadline(errors));
        }
        sleep(delay).await;
    }
    Err(Attempts::into_error(errors, "attempts exhausted"))
}
