//! The response future of [`Retry`](super::Retry).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use kit_endpoint::Error;

/// The response future of [`Retry`](super::Retry): every attempt, the
/// backoff between them, and the final error.
///
/// It is boxed: the attempt loop holds a service clone, the request, the
/// backoff and the errors so far across awaits, and retries happen on the
/// network path, where one allocation per call is lost in the noise.
pub struct ResponseFuture<T> {
    pub(super) inner: Pin<Box<dyn Future<Output = Result<T, Error>> + Send>>,
}

impl<T> Future for ResponseFuture<T> {
    type Output = Result<T, Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.inner.as_mut().poll(cx)
    }
}

impl<T> fmt::Debug for ResponseFuture<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}
