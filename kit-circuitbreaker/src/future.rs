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
        // `None` for a refusal.
        #[pin]
        inner: Option<F>,
        permit: Option<Permit>,
        classify: C,
        refusal: Option<Error>,
    }
}

impl<F, C> ResponseFuture<F, C> {
    pub(crate) fn called(inner: F, permit: Permit, classify: C) -> Self {
        ResponseFuture {
            inner: Some(inner),
            permit: Some(permit),
            classify,
            refusal: None,
        }
    }

    pub(crate) fn rejected(error: Error, classify: C) -> Self {
        ResponseFuture {
            inner: None,
            permit: None,
            classify,
            refusal: Some(error),
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
        let this = self.project();
        let Some(inner) = this.inner.as_pin_mut() else {
            return Poll::Ready(Err(this.refusal.take().unwrap_or_else(|| {
                Error::internal("circuit breaker future polled after completion")
            })));
        };
        let res = ready!(inner.poll(cx)).map_err(Into::into);
        if let Some(permit) = this.permit.take() {
            permit.finish(this.classify.classify(res.as_ref()));
        }
        Poll::Ready(res)
    }
}
