//! Balancers: round robin, random, and power of two choices over
//! peak-EWMA latency; every one skips endpoints that are not ready.
//!
//! A [`Balancer`] is a [`tower::Service`] over an [`Endpointer`]: its
//! `poll_ready` asks a [`Policy`] for an endpoint whose own `poll_ready` is
//! ready, keeps it, and `call` sends the request there. Readiness is how a
//! circuit breaker says "open": kit's breaker in its readiness mode returns
//! `Pending` while open and wakes the task at probe time, so the balancer
//! passes over it; when **every** endpoint is pending the balancer is
//! pending too, and wakes when any of them does or when the set changes. An
//! endpoint whose `poll_ready` fails is skipped as well; when all fail, the
//! balancer fails with `Unavailable`. With no endpoints at all it fails at
//! once with `Unavailable` (naming the registry's error, if any), which
//! [`Retry`](crate::Retry) counts as a failed attempt, as Go kit does.
//!
//! | policy | picks | cost |
//! |---|---|---|
//! | [`RoundRobin`] | the next endpoint, by a counter shared by every clone | one atomic add |
//! | [`Random`] | a uniformly random endpoint (seedable) | one RNG draw |
//! | [`P2c`] | the less loaded of two random endpoints, by [`Load`](tower::load::Load) | two draws, two loads |
//!
//! The endpoints are clones of the Endpointer's: services whose readiness
//! lives in shared state (kit's breaker, a pooled HTTP client) behave the
//! same through every clone.
//!
//! Why not `tower::balance::p2c`: it owns its services (one balancer per
//! discovery stream, behind a `Buffer` to share it), while kit's Endpointer
//! shares one cached endpoint per instance with every clone of every
//! balancer; and tower's `PeakEwma` counts requests in flight with
//! `Arc::strong_count`, which clones would inflate. [`PeakEwma`] here
//! counts them explicitly and treats failures as slow.

mod future;
mod p2c;
mod peak_ewma;
mod random;
mod round_robin;
#[cfg(test)]
mod tests;

pub use self::future::ResponseFuture;
pub use self::p2c::P2c;
pub use self::peak_ewma::{Cost, PeakEwma, PeakEwmaLayer, Tracked};
pub use self::random::Random;
pub use self::round_robin::RoundRobin;

use std::fmt;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use futures_core::Stream;
use kit_endpoint::Error;
use tokio_stream::wrappers::WatchStream;
use tower_service::Service;

use crate::{Endpointer, Endpoints};

/// How a [`Balancer`] chooses among endpoints.
///
/// `pick` returns a clone of an endpoint whose `poll_ready` returned ready,
/// `Pending` when none is ready but some may become so (their wakers are
/// registered with `cx`), or an error when none can serve. `endpoints` is
/// never empty.
pub trait Policy<S, Req>: Clone {
    /// Picks a ready endpoint.
    fn pick(
        &mut self,
        endpoints: &Endpoints<S>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Result<S, Error>>;
}

/// A load balancer over the endpoints of an [`Endpointer`]. See the
/// [module docs](self).
///
/// ```
/// use kit_endpoint::{Endpoint, Error, endpoint_fn};
/// use kit_sd::balance::{Balancer, RoundRobin};
/// use kit_sd::{Endpointer, Instance, instancer};
/// use tower::ServiceExt;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Error> {
/// let (publisher, instancer) = instancer::channel();
/// publisher.update(["a", "b"].map(Instance::from));
/// let endpointer = Endpointer::new(instancer, |i: &Instance| {
///     let name = i.to_string();
///     Ok::<_, Error>(Endpoint::new(endpoint_fn(move |_: ()| {
///         let name = name.clone();
///         async move { Ok::<_, Error>(name) }
///     })))
/// });
/// let lb = Balancer::new(endpointer, RoundRobin::new());
/// assert_eq!(lb.clone().oneshot(()).await?, "a");
/// assert_eq!(lb.clone().oneshot(()).await?, "b");
/// assert_eq!(lb.oneshot(()).await?, "a");
/// # Ok(()) }
/// ```
pub struct Balancer<S, P> {
    endpointer: Endpointer<S>,
    changes: WatchStream<Arc<Endpoints<S>>>,
    policy: P,
    ready: Option<S>,
}

impl<S: Send + Sync + 'static, P> Balancer<S, P> {
    /// A balancer choosing with `policy`.
    pub fn new(endpointer: Endpointer<S>, policy: P) -> Balancer<S, P> {
        let changes = WatchStream::from_changes(endpointer.subscribe());
        Balancer {
            endpointer,
            changes,
            policy,
            ready: None,
        }
    }
}

impl<S, P> Balancer<S, P> {
    /// The policy.
    pub fn get_ref(&self) -> &P {
        &self.policy
    }

    /// The policy, to change.
    pub fn get_mut(&mut self) -> &mut P {
        &mut self.policy
    }

    /// The policy.
    pub fn into_inner(self) -> P {
        self.policy
    }

    /// The endpointer balanced over.
    pub fn endpointer(&self) -> &Endpointer<S> {
        &self.endpointer
    }
}

impl<S: Send + Sync + 'static, P: Clone> Clone for Balancer<S, P> {
    /// A balancer over the same endpoints, with no endpoint reserved yet.
    fn clone(&self) -> Self {
        Balancer::new(self.endpointer.clone(), self.policy.clone())
    }
}

impl<S, P: fmt::Debug> fmt::Debug for Balancer<S, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Balancer")
            .field("endpointer", &self.endpointer)
            .field("policy", &self.policy)
            .field("ready", &self.ready.is_some())
            .finish()
    }
}

impl<S, P, Req> Service<Req> for Balancer<S, P>
where
    S: Service<Req, Error = Error> + Clone + Send + Sync + 'static,
    P: Policy<S, Req>,
{
    type Response = S::Response;
    type Error = Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Error>> {
        if self.ready.is_some() {
            return Poll::Ready(Ok(()));
        }
        loop {
            let endpoints = self.endpointer.endpoints();
            if endpoints.is_empty() {
                return Poll::Ready(Err(endpoints.no_endpoint_error()));
            }
            match self.policy.pick(&endpoints, cx) {
                Poll::Ready(Ok(svc)) => {
                    self.ready = Some(svc);
                    return Poll::Ready(Ok(()));
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => {}
            }
            // Nothing is ready: wake on a new set as well as on an endpoint.
            // A change seen here may predate the snapshot; one extra pick is
            // harmless.
            match Pin::new(&mut self.changes).poll_next(cx) {
                Poll::Ready(Some(_)) => continue,
                Poll::Ready(None) | Poll::Pending => return Poll::Pending,
            }
        }
    }

    fn call(&mut self, req: Req) -> Self::Future {
        match self.ready.take() {
            Some(mut svc) => ResponseFuture::called(svc.call(req)),
            None => ResponseFuture::failed(Error::failed_precondition(
                "Balancer::call without a successful poll_ready",
            )),
        }
    }
}

use std::pin::Pin;

/// Polls the endpoints at `order` and returns the first that is ready;
/// `Pending` if none is but some may become ready; `Unavailable` if every
/// one failed.
pub(crate) fn first_ready<S, Req>(
    endpoints: &Endpoints<S>,
    order: impl IntoIterator<Item = usize>,
    cx: &mut TaskContext<'_>,
) -> Poll<Result<S, Error>>
where
    S: Service<Req, Error = Error> + Clone,
{
    let mut pending = false;
    let mut last_error = None;
    for index in order {
        let Some(svc) = endpoints.get(index) else {
            continue;
        };
        let mut svc = svc.clone();
        match svc.poll_ready(cx) {
            Poll::Ready(Ok(())) => return Poll::Ready(Ok(svc)),
            Poll::Ready(Err(e)) => last_error = Some(e),
            Poll::Pending => pending = true,
        }
    }
    if pending {
        return Poll::Pending;
    }
    Poll::Ready(Err(match last_error {
        Some(e) => Error::unavailable(format!("no endpoint is ready; the last said: {e}")),
        None => Error::unavailable("no endpoints available"),
    }))
}

/// Indices `start, start+1, …, n-1, 0, …, start-1`.
pub(crate) fn cycle_from(start: usize, n: usize) -> impl Iterator<Item = usize> {
    (start..n).chain(0..start.min(n))
}
