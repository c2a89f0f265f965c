//! The response future of the limiters that decide at once.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use kit_endpoint::Error;
use pin_project_lite::pin_project;

pin_project! {
    /// The response future of [`RateLimit`](crate::RateLimit) and
    /// [`KeyedRateLimit`](crate::KeyedRateLimit): the inner service's future
    /// when the request was admitted, a ready error when it was rejected.
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
        Admitted { #[pin] inner: F },
        Rejected { error: Option<Error> },
    }
}

impl<F> ResponseFuture<F> {
    pub(crate) fn admitted(inner: F) -> Self {
        ResponseFuture {
            kind: Kind::Admitted { inner },
        }
    }

    pub(crate) fn rejected(error: Error) -> Self {
        ResponseFuture {
            kind: Kind::Rejected { error: Some(error) },
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
            KindProj::Admitted { inner } => inner.poll(cx).map_err(Into::into),
            KindProj::Rejected { error } => Poll::Ready(Err(error
                .take()
                .unwrap_or_else(|| Error::internal("rate limit future polled after completion")))),
        }
    }
}
