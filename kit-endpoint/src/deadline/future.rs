use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use pin_project_lite::pin_project;
use tokio::time::{Instant, Sleep, sleep_until};

use crate::Error;

pin_project! {
    /// The response future of [`Deadline`](super::Deadline).
    #[derive(Debug)]
    pub struct ResponseFuture<F> {
        #[pin]
        kind: Kind<F>,
    }
}

pin_project! {
    #[project = KindProj]
    #[derive(Debug)]
    enum Kind<F> {
        Unbounded { #[pin] inner: F },
        Bounded {
            #[pin] inner: F,
            #[pin] sleep: Sleep,
            // `Some` when the layer's own timeout, not the request's deadline, bounds the call.
            timeout: Option<Duration>,
        },
        Expired,
    }
}

impl<F> ResponseFuture<F> {
    pub(super) fn unbounded(inner: F) -> Self {
        ResponseFuture {
            kind: Kind::Unbounded { inner },
        }
    }

    pub(super) fn bounded(inner: F, at: Instant, timeout: Option<Duration>) -> Self {
        ResponseFuture {
            kind: Kind::Bounded {
                inner,
                sleep: sleep_until(at),
                timeout,
            },
        }
    }

    pub(super) fn expired() -> Self {
        ResponseFuture {
            kind: Kind::Expired,
        }
    }
}

impl<F, T, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<T, E>>,
    E: Into<Error>,
{
    type Output = Result<T, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Unbounded { inner } => inner.poll(cx).map_err(Into::into),
            KindProj::Bounded {
                inner,
                sleep,
                timeout,
            } => {
                if let Poll::Ready(res) = inner.poll(cx) {
                    return Poll::Ready(res.map_err(Into::into));
                }
                ready!(sleep.poll(cx));
                Poll::Ready(Err(match timeout {
                    Some(t) => Error::deadline_exceeded(format!("timed out after {t:?}")),
                    None => Error::deadline_exceeded("deadline exceeded"),
                }))
            }
            KindProj::Expired => Poll::Ready(Err(Error::deadline_exceeded(
                "deadline passed before the call",
            ))),
        }
    }
}
