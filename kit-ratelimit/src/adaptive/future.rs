use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use kit_endpoint::Error;
use pin_project_lite::pin_project;

use super::{Outcome, Permit};

pin_project! {
    /// The response future of [`AdaptiveLimit`](super::AdaptiveLimit): the
    /// inner call holding a slot, which it frees and samples on completion,
    /// or a rejection.
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
        Admitted { #[pin] inner: F, permit: Option<Permit> },
        Rejected { error: Option<Error> },
    }
}

impl<F> ResponseFuture<F> {
    pub(super) fn admitted(inner: F, permit: Permit) -> Self {
        ResponseFuture {
            kind: Kind::Admitted {
                inner,
                permit: Some(permit),
            },
        }
    }

    pub(super) fn rejected(error: Error) -> Self {
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
            KindProj::Admitted { inner, permit } => {
                let result = ready!(inner.poll(cx)).map_err(Into::into);
                if let Some(permit) = permit.take() {
                    permit.complete(Outcome::of(&result));
                }
                Poll::Ready(result)
            }
            KindProj::Rejected { error } => Poll::Ready(Err(error.take().unwrap_or_else(|| {
                Error::internal("adaptive limit future polled after completion")
            }))),
        }
    }
}
