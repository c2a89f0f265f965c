use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use governor::clock::Clock;
use kit_endpoint::Error;
use pin_project_lite::pin_project;
use tokio::time::{Instant, Sleep, sleep_until};
use tower_service::Service;

use super::passes_deadline;
use crate::RateLimiter;
use crate::hooks::{Reason, Rejection, reject};

pin_project! {
    /// The response future of [`DelayLimit`](super::DelayLimit): the inner
    /// call, a wait for a token followed by the inner call, or a rejection.
    pub struct ResponseFuture<S, Req, C>
    where
        S: Service<Req>,
        C: Clock,
    {
        #[pin]
        state: State<S, Req, C>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<S, Req, C>
    where
        S: Service<Req>,
        C: Clock,
    {
        Called { #[pin] fut: S::Future },
        Waiting {
            // Boxed so that the common, unlimited path keeps a small future.
            sleep: Pin<Box<Sleep>>,
            // The ready service and the request, until a token is free.
            pending: Option<(S, Req)>,
            limiter: RateLimiter<C>,
            deadline: Option<Instant>,
        },
        Rejected { error: Option<Error> },
    }
}

impl<S, Req, C> ResponseFuture<S, Req, C>
where
    S: Service<Req>,
    C: Clock,
{
    pub(super) fn called(fut: S::Future) -> Self {
        ResponseFuture {
            state: State::Called { fut },
        }
    }

    pub(super) fn waiting(
        svc: S,
        req: Req,
        limiter: RateLimiter<C>,
        until: Instant,
        deadline: Option<Instant>,
    ) -> Self {
        ResponseFuture {
            state: State::Waiting {
                sleep: Box::pin(sleep_until(until)),
                pending: Some((svc, req)),
                limiter,
                deadline,
            },
        }
    }

    pub(super) fn rejected(error: Error) -> Self {
        ResponseFuture {
            state: State::Rejected { error: Some(error) },
        }
    }
}

impl<S, Req, C> Future for ResponseFuture<S, Req, C>
where
    S: Service<Req>,
    S::Error: Into<Error>,
    C: Clock,
{
    type Output = Result<S::Response, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            let fut = match this.state.as_mut().project() {
                StateProj::Called { fut } => return fut.poll(cx).map_err(Into::into),
                StateProj::Rejected { error } => {
                    return Poll::Ready(Err(error.take().unwrap_or_else(|| {
                        Error::internal("delay limit future polled after completion")
                    })));
                }
                StateProj::Waiting {
                    sleep,
                    pending,
                    limiter,
                    deadline,
                } => {
                    ready!(sleep.as_mut().poll(cx));
                    // Woken late (a busy runtime) past the deadline: the
                    // work is no longer wanted, so take no token for it.
                    let now = Instant::now();
                    if deadline.is_some_and(|d| now > d) {
                        let hint = limiter.quota().replenish_interval();
                        let rejection = Rejection::new(Reason::WaitPastDeadline, hint);
                        *pending = None;
                        return Poll::Ready(Err(reject(limiter.hooks(), rejection)));
                    }
                    match limiter.check() {
                        Ok(()) => match pending.take() {
                            Some((mut svc, req)) => svc.call(req),
                            None => {
                                return Poll::Ready(Err(Error::internal(
                                    "delay limit future polled after completion",
                                )));
                            }
                        },
                        Err(wait) => {
                            // Another waiter took the token: wait again, or
                            // give up now if that would pass the deadline.
                            if passes_deadline(now, wait, *deadline) {
                                let rejection = Rejection::new(Reason::WaitPastDeadline, wait);
                                let error = reject(limiter.hooks(), rejection);
                                *pending = None;
                                return Poll::Ready(Err(error));
                            }
                            sleep.as_mut().reset(now + wait);
                            continue;
                        }
                    }
                }
            };
            this.state.set(State::Called { fut });
        }
    }
}

impl<S, Req, C> fmt::Debug for ResponseFuture<S, Req, C>
where
    S: Service<Req>,
    C: Clock,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            State::Called { .. } => "called",
            State::Waiting { .. } => "waiting",
            State::Rejected { .. } => "rejected",
        };
        f.debug_struct("ResponseFuture")
            .field("state", &state)
            .finish()
    }
}
