//! The response future of [`Balancer`](super::Balancer).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use kit_endpoint::Error;
use pin_project_lite::pin_project;

pin_project! {
    /// The response future of [`Balancer`](super::Balancer): the chosen
    /// endpoint's future, or an error when `call` came without readiness.
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
        Called { #[pin] inner: F },
        Failed { error: Option<Error> },
    }
}

impl<F> ResponseFuture<F> {
    pub(super) fn called(inner: F) -> Self {
        ResponseFuture {
            kind: Kind::Called { inner },
        }
    }

    pub(super) fn failed(error: Error) -> Self {
        ResponseFuture {
            kind: Kind::Failed { error: Some(error) },
        }
    }
}

impl<F, T> Future for ResponseFuture<F>
where
    F: Future<Output = Result<T, Error>>,
{
    type Output = Result<T, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Called { inner } => inner.poll(cx),
            KindProj::Failed { error } => Poll::Ready(Err(error
                .take()
                .unwrap_or_else(|| Error::failed_precondition("polled after completion")))),
        }
    }
}
