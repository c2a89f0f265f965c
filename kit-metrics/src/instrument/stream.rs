//! RED metrics for endpoints that answer with a stream.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use futures_core::Stream;
use kit_endpoint::{Code, Error};
use pin_project_lite::pin_project;
use quanta::Instant;
use tower_layer::Layer;
use tower_service::Service;

use super::{Metrics, MetricsLayer, Series};

/// Applies [`StreamMetrics`]; made by [`MetricsLayer::streaming`].
#[derive(Clone, Debug)]
pub struct StreamMetricsLayer {
    layer: MetricsLayer,
}

impl StreamMetricsLayer {
    pub(super) fn new(layer: MetricsLayer) -> StreamMetricsLayer {
        StreamMetricsLayer { layer }
    }
}

impl<S> Layer<S> for StreamMetricsLayer {
    type Service = StreamMetrics<S>;

    fn layer(&self, inner: S) -> StreamMetrics<S> {
        StreamMetrics {
            metrics: self.layer.layer(inner),
        }
    }
}

/// Records RED metrics for an endpoint whose response is a stream: a call
/// counts from the request until its stream ends (`ok`), yields its first
/// error (that error's code) or is dropped (`cancelled`: a subscriber
/// hanging up). `requests_in_flight` is then the number of open streams and
/// `request_duration_seconds` their lifetimes. A call that fails before it
/// returns a stream is recorded as [`Metrics`] records it.
///
/// ```
/// use futures_util::StreamExt;
/// use kit_endpoint::{Error, endpoint_fn};
/// use kit_metrics::RequestMetrics;
/// use prometheus_client::registry::Registry;
/// use tower::{Layer, ServiceExt};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let mut registry = Registry::default();
/// let metrics = RequestMetrics::register(&mut registry);
/// let count = metrics.layer("count").streaming().layer(endpoint_fn(|n: u32| async move {
///     Ok::<_, Error>(futures_util::stream::iter((0..n).map(Ok::<_, Error>)))
/// }));
/// let items = count.oneshot(3).await.unwrap();
/// let text = kit_metrics::encode(&registry).unwrap();
/// assert!(text.contains(r#"requests_in_flight{endpoint="count"} 1"#));
/// assert_eq!(items.count().await, 3);
/// let text = kit_metrics::encode(&registry).unwrap();
/// assert!(text.contains(r#"requests_in_flight{endpoint="count"} 0"#));
/// assert!(text.contains(r#"requests_total{endpoint="count",code="ok"} 1"#));
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct StreamMetrics<S> {
    metrics: Metrics<S>,
}

impl<S, Req> Service<Req> for StreamMetrics<S>
where
    S: Service<Req>,
    S::Error: Into<Error>,
{
    type Response = MeteredStream<S::Response>;
    type Error = Error;
    type Future = StreamResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.metrics.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, req: Req) -> Self::Future {
        let recorder = Recorder::start(self.metrics.series.clone());
        StreamResponseFuture {
            inner: self.metrics.inner.call(req),
            recorder: Some(recorder),
        }
    }
}

pin_project! {
    /// The response future of [`StreamMetrics`]: on success the stream,
    /// still counted in flight; on failure the error, recorded.
    pub struct StreamResponseFuture<F> {
        #[pin]
        inner: F,
        recorder: Option<Recorder>,
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
    type Output = Result<MeteredStream<St>, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = ready!(this.inner.poll(cx)).map_err(Into::into);
        let mut recorder = this.recorder.take();
        Poll::Ready(match result {
            Ok(inner) => Ok(MeteredStream { inner, recorder }),
            Err(e) => {
                if let Some(r) = &mut recorder {
                    r.finish(Some(e.code()));
                }
                Err(e)
            }
        })
    }
}

pin_project! {
    /// A stream whose call is recorded when it ends. See [`StreamMetrics`].
    pub struct MeteredStream<St> {
        #[pin]
        inner: St,
        recorder: Option<Recorder>,
    }
}

impl<St> fmt::Debug for MeteredStream<St> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MeteredStream").finish_non_exhaustive()
    }
}

impl<St, I, E> Stream for MeteredStream<St>
where
    St: Stream<Item = Result<I, E>>,
    E: Into<Error>,
{
    type Item = Result<I, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.project();
        let item = ready!(this.inner.poll_next(cx)).map(|i| i.map_err(Into::into));
        if let Some(r) = this.recorder {
            match &item {
                None => r.finish(None),
                Some(Err(e)) => r.finish(Some(e.code())),
                Some(Ok(_)) => {}
            }
        }
        Poll::Ready(item)
    }
}

/// Records one streamed call exactly once: with its outcome, or from
/// `drop` as `cancelled`. ([`ResponseFuture`](super::future::ResponseFuture)
/// keeps these fields inline instead: a recorder there measured about 1 ns
/// slower per call in `benches/layer.rs`.)
#[derive(Debug)]
struct Recorder {
    series: Arc<Series>,
    start: Instant,
    // Set once the call is recorded, so drop does not record it again.
    done: bool,
}

impl Recorder {
    fn start(series: Arc<Series>) -> Recorder {
        series.in_flight.inc();
        let start = series.clock.now();
        Recorder {
            series,
            start,
            done: false,
        }
    }

    /// Records the outcome (`None`: a success), once.
    fn finish(&mut self, outcome: Option<Code>) {
        if !self.done {
            self.done = true;
            self.series.finish(self.start, outcome);
        }
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.finish(Some(Code::Cancelled));
    }
}
