//! Spans that last as long as a streamed response.
//!
//! [`Trace`] ends its span when the inner future completes: right for a
//! unary call, too early for an endpoint that answers with a stream, whose
//! work happens while the stream is polled. [`TraceStream`] (built by
//! [`TraceLayer::streaming`]) starts the span the same way and hands it to
//! the stream it returns, a [`TracedStream`], which ends it:
//!
//! - when the stream finishes, as a success;
//! - at the first error item, with that error (kit's servers end a stream
//!   at its first error);
//! - when it is dropped first, as `Cancelled`: a subscriber hanging up,
//!   which on a server span is not an error.
//!
//! A call that fails before it returns a stream ends the span as [`Trace`]
//! does. Every poll of the stream runs with the span's context attached, so
//! log lines and outbound calls made while producing items belong to it.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll, ready};

use futures_core::Stream;
use kit_endpoint::{Error, HasContext};
use opentelemetry::trace::Tracer;
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use super::future::SpanGuard;
use super::{Trace, TraceLayer};

/// Applies [`TraceStream`]: a [`TraceLayer`] whose spans last as long as
/// the streams the endpoint returns. Made by [`TraceLayer::streaming`].
///
/// ```
/// use futures_util::StreamExt;
/// use kit_endpoint::{Error, Request, endpoint_fn};
/// use kit_tracing::TraceLayer;
/// use opentelemetry::trace::TracerProvider as _;
/// use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
/// use tower::{Layer, ServiceExt};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let exporter = InMemorySpanExporter::default();
/// let provider = SdkTracerProvider::builder()
///     .with_simple_exporter(exporter.clone())
///     .build();
/// let count = TraceLayer::server(provider.tracer("demo"), "Count")
///     .streaming()
///     .layer(endpoint_fn(|req: Request<u32>| async move {
///         Ok::<_, Error>(futures_util::stream::iter((0..req.body).map(Ok::<_, Error>)))
///     }));
/// let items = count.oneshot(Request::new(3)).await.unwrap();
/// assert!(exporter.get_finished_spans().unwrap().is_empty(), "open while streaming");
/// assert_eq!(items.map(Result::unwrap).collect::<Vec<_>>().await, [0, 1, 2]);
/// assert_eq!(exporter.get_finished_spans().unwrap().len(), 1);
/// # }
/// ```
pub struct StreamTraceLayer<T> {
    layer: TraceLayer<T>,
}

impl<T> StreamTraceLayer<T> {
    pub(super) fn new(layer: TraceLayer<T>) -> Self {
        StreamTraceLayer { layer }
    }
}

impl<T> Clone for StreamTraceLayer<T> {
    fn clone(&self) -> Self {
        StreamTraceLayer {
            layer: self.layer.clone(),
        }
    }
}

impl<T> fmt::Debug for StreamTraceLayer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("StreamTraceLayer")
            .field(&self.layer)
            .finish()
    }
}

impl<S, T> Layer<S> for StreamTraceLayer<T> {
    type Service = TraceStream<S, T>;

    fn layer(&self, inner: S) -> TraceStream<S, T> {
        TraceStream {
            trace: self.layer.layer(inner),
        }
    }
}

/// Traces calls of an inner service that answers with a stream, one span
/// per call, open until the stream ends: at the stream's end as a success,
/// at its first error item with that error, or as `Cancelled` when it is
/// dropped first (a subscriber hanging up, not an error on a server span).
/// A call that fails before it returns a stream ends the span as
/// [`Trace`] does. Every poll of the stream runs with the span's context
/// attached. See also the [`trace` module docs](super).
pub struct TraceStream<S, T> {
    trace: Trace<S, T>,
}

impl<S: Clone, T> Clone for TraceStream<S, T> {
    fn clone(&self) -> Self {
        TraceStream {
            trace: self.trace.clone(),
        }
    }
}

impl<S: fmt::Debug, T> fmt::Debug for TraceStream<S, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("TraceStream").field(&self.trace).finish()
    }
}

impl<S, T, Req> Service<Req> for TraceStream<S, T>
where
    S: Service<Req>,
    S::Error: Into<Error>,
    Req: HasContext,
    T: Tracer,
    T::Span: Send + Sync + 'static,
{
    type Response = TracedStream<S::Response>;
    type Error = Error;
    type Future = StreamResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Error>> {
        self.trace.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, mut req: Req) -> Self::Future {
        let (cx, outcome) = self.trace.start(&mut req);
        let inner = {
            let _attached = cx.clone().attach();
            self.trace.inner.call(req)
        };
        StreamResponseFuture {
            inner,
            span: Some(SpanGuard::new(cx, outcome)),
        }
    }
}

pin_project! {
    /// The response future of [`TraceStream`]: on success, the stream with
    /// the span still open; on failure, the error, with the span ended.
    pub struct StreamResponseFuture<F> {
        #[pin]
        inner: F,
        span: Option<SpanGuard>,
    }
}

impl<F> fmt::Debug for StreamResponseFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamResponseFuture")
            .finish_non_exhaustive()
    }
}

impl<F, St, E> Future for StreamResponseFuture<F>
where
    F: Future<Output = Result<St, E>>,
    E: Into<Error>,
{
    type Output = Result<TracedStream<St>, Error>;

    fn poll(self: Pin<&mut Self>, task: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = {
            let _attached = this
                .span
                .as_ref()
                .and_then(SpanGuard::context)
                .map(|cx| cx.clone().attach());
            ready!(this.inner.poll(task)).map_err(Into::into)
        };
        let Some(mut span) = this.span.take() else {
            // Polled again after completing: nothing left to trace.
            return Poll::Ready(result.map(|inner| TracedStream { inner, span: None }));
        };
        Poll::Ready(match result {
            Ok(inner) => Ok(TracedStream {
                inner,
                span: Some(span),
            }),
            Err(e) => {
                span.end(Some((e.code(), e.message())));
                Err(e)
            }
        })
    }
}

pin_project! {
    /// A stream whose call's span ends when it does. See [`TraceStream`].
    pub struct TracedStream<St> {
        #[pin]
        inner: St,
        span: Option<SpanGuard>,
    }
}

impl<St> fmt::Debug for TracedStream<St> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TracedStream")
            .field(
                "ended",
                &self.span.as_ref().and_then(SpanGuard::context).is_none(),
            )
            .finish_non_exhaustive()
    }
}

impl<St, I, E> Stream for TracedStream<St>
where
    St: Stream<Item = Result<I, E>>,
    E: Into<Error>,
{
    type Item = Result<I, Error>;

    fn poll_next(self: Pin<&mut Self>, task: &mut TaskContext<'_>) -> Poll<Option<Self::Item>> {
        let this = self.project();
        let item = {
            let _attached = this
                .span
                .as_ref()
                .and_then(SpanGuard::context)
                .map(|cx| cx.clone().attach());
            ready!(this.inner.poll_next(task)).map(|item| item.map_err(Into::into))
        };
        if let Some(span) = this.span {
            match &item {
                None => span.end(None),
                Some(Err(e)) => span.end(Some((e.code(), e.message()))),
                Some(Ok(_)) => {}
            }
        }
        Poll::Ready(item)
    }
}
