//! The response future of [`Logging`](super::Logging).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use kit_endpoint::Error;
use pin_project_lite::pin_project;
use quanta::Instant;

use super::Shared;

pin_project! {
    /// The response future of [`Logging`](super::Logging): logs the call
    /// when it completes, or as `cancelled` when dropped before that.
    #[derive(Debug)]
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        shared: Arc<Shared>,
        start: Instant,
        // Set once the call is logged, so drop does not log it again.
        done: bool,
    }

    impl<F> PinnedDrop for ResponseFuture<F> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if !*this.done {
                this.shared.cancelled(*this.start);
            }
        }
    }
}

impl<F> ResponseFuture<F> {
    pub(super) fn new(inner: F, shared: Arc<Shared>, start: Instant) -> ResponseFuture<F> {
        ResponseFuture {
            inner,
            shared,
            start,
            done: false,
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
        let this = self.project();
        let res = ready!(this.inner.poll(cx)).map_err(Into::into);
        *this.done = true;
        match &res {
            Ok(_) => this.shared.success(*this.start),
            Err(err) => this.shared.failure(*this.start, err),
        }
        Poll::Ready(res)
    }
}
