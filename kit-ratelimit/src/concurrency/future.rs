use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use kit_endpoint::Error;
use pin_project_lite::pin_project;
use tokio::sync::{AcquireError, OwnedSemaphorePermit};
use tokio::time::{Sleep, sleep};
use tower_service::Service;

use super::limiter::{QueueSlot, Shared};
use crate::hooks::{Reason, Rejection, reject};

type Acquire = Pin<Box<dyn Future<Output = Result<OwnedSemaphorePermit, AcquireError>> + Send>>;

pin_project! {
    /// The response future of [`ConcurrencyLimit`](super::ConcurrencyLimit):
    /// the inner call holding a slot, a wait in the queue followed by the
    /// inner call, or a rejection.
    pub struct ResponseFuture<S, Req>
    where
        S: Service<Req>,
    {
        #[pin]
        state: State<S, Req>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<S, Req>
    where
        S: Service<Req>,
    {
        Admitted {
            #[pin]
            fut: S::Future,
            // Released when the call completes, or when the future drops.
            permit: Option<OwnedSemaphorePermit>,
        },
        Queued {
            acquire: Acquire,
            timeout: Pin<Box<Sleep>>,
            // Our place in the queue, given back on leaving it.
            slot: Option<QueueSlot>,
            pending: Option<(S, Req)>,
            shared: Arc<Shared>,
        },
        Rejected { error: Option<Error> },
    }
}

impl<S: Service<Req>, Req> ResponseFuture<S, Req> {
    pub(super) fn admitted(fut: S::Future, permit: OwnedSemaphorePermit) -> Self {
        ResponseFuture {
            state: State::Admitted {
                fut,
                permit: Some(permit),
            },
        }
    }

    pub(super) fn queued(svc: S, req: Req, slot: QueueSlot, shared: &Arc<Shared>) -> Self {
        ResponseFuture {
            state: State::Queued {
                acquire: Box::pin(shared.semaphore.clone().acquire_owned()),
                timeout: Box::pin(sleep(shared.queue_timeout)),
                slot: Some(slot),
                pending: Some((svc, req)),
                shared: shared.clone(),
            },
        }
    }

    pub(super) fn rejected(error: Error) -> Self {
        ResponseFuture {
            state: State::Rejected { error: Some(error) },
        }
    }
}

fn after_completion() -> Error {
    Error::internal("concurrency limit future polled after completion")
}

impl<S, Req> Future for ResponseFuture<S, Req>
where
    S: Service<Req>,
    S::Error: Into<Error>,
{
    type Output = Result<S::Response, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            let (fut, permit) = match this.state.as_mut().project() {
                StateProj::Admitted { fut, permit } => {
                    let out = ready!(fut.poll(cx));
                    permit.take();
                    return Poll::Ready(out.map_err(Into::into));
                }
                StateProj::Rejected { error } => {
                    return Poll::Ready(Err(error.take().unwrap_or_else(after_completion)));
                }
                StateProj::Queued {
                    acquire,
                    timeout,
                    slot,
                    pending,
                    shared,
                } => match acquire.as_mut().poll(cx) {
                    Poll::Ready(Ok(permit)) => {
                        slot.take();
                        match pending.take() {
                            Some((mut svc, req)) => (svc.call(req), permit),
                            None => return Poll::Ready(Err(after_completion())),
                        }
                    }
                    Poll::Ready(Err(_closed)) => {
                        return Poll::Ready(Err(Error::internal("concurrency limiter closed")));
                    }
                    Poll::Pending => {
                        ready!(timeout.as_mut().poll(cx));
                        slot.take();
                        pending.take();
                        let rejection = Rejection::new(Reason::QueueTimeout, shared.retry_after);
                        return Poll::Ready(Err(reject(&*shared.hooks, rejection)));
                    }
                },
            };
            this.state.set(State::Admitted {
                fut,
                permit: Some(permit),
            });
        }
    }
}

impl<S: Service<Req>, Req> fmt::Debug for ResponseFuture<S, Req> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            State::Admitted { .. } => "admitted",
            State::Queued { .. } => "queued",
            State::Rejected { .. } => "rejected",
        };
        f.debug_struct("ResponseFuture")
            .field("state", &state)
            .finish()
    }
}
