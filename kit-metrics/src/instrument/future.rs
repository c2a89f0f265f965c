//! The response future of [`Metrics`](super::Metrics).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use kit_endpoint::{Code, Error};
use pin_project_lite::pin_project;
use quanta::Instant;

use super::Series;

pin_project! {
    /// The response future of [`Metrics`](super::Metrics): records the call
    /// when it completes, or as `cancelled` when dropped before that.
    #[derive(Debug)]
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        series: Arc<Series>,
        start: Instant,
        // Set once the call is recorded, so drop does not record it again.
        done: bool,
    }

    impl<F> PinnedDrop for ResponseFuture<F> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if !*this.done {
                this.series.finish(*this.start, Some(Code::Cancelled));
            }
        }
    }
}

impl<F> ResponseFuture<F> {
    pub(super) fn new(inner: F, series: Arc<Series>, start: Instant) -> ResponseFuture<F> {
        ResponseFuture {
            inner,
            series,
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
        let outcome = res.as_ref().err().map(Error::code);
        this.series.finish(*this.start, outcome);
        Poll::Ready(res)
    }
}
