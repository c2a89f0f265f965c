//! The response future of [`CircuitBreaker`](crate::CircuitBreaker).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use kit_endpoint::Error;
use pin_project_lite::pin_project;

use crate::{Classify, Permit};

pin_project! {
    /// The response future of [`CircuitBreaker`](crate::CircuitBreaker):
    /// the inner call, whose outcome it records when it finishes, or a
    /// refusal. Dropping it before it finishes counts nothing (and frees a
    /// half-open probe slot).
    #[derive(Debug)]
    pub struct ResponseFuture<F, C> {
        #[pin]
        kind: Kind<F, C>,
    }
}

pin_project! {
    #[project = KindProj]
    #[derive(Debug)]
    enum Kind<F, C> {
        Called {
            #[pin]
            inner: F,
            permit: Option<Permit>,
            classify: C,
        },
        Rejected {
            error: Option<Error>,
        },
    }
}

impl<F, C> ResponseFuture<F, C> {
    pub(crate) fn called(inner: F, permit: Permit, classify: C) -> Self {
        ResponseFuture {
            kind: Kind::Called {
                inner,
                permit: Some(permit),
                classify,
            },
        }
    }

    pub(crate) fn rejected(error: Error) -> Self {
        ResponseFuture {
            kind: Kind::Rejected { error: Some(error) },
        }
    }
}

impl<F, C, T, E> Future for ResponseFuture<F, C>
where
    F: Future<Output = Result<T, E>>,
    E: Into<Error>,
    C: Classify<T>,
{
    type Output = Result<T, Error>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Called {
                inner,
                permit,
                classify,
            } => {
                let res = ready!(inner.poll(cx)).map_err(Into::into);
                if let Some(permit) = permit.take() {
                    permit.finish(classify.classify(res.as_ref()));
                }
                Poll::Ready(res)
            }
            KindProj::Rejected { error } => Poll::Ready(Err(error.take().unwrap_or_else(|| {
                Error::internal("circuit breaker future polled after completion")
            }))),
        }
    }
}
