//! The instrumentation middleware: RED metrics for every call of an endpoint.
//!
//! [`Metrics`] counts each call in `requests_total{endpoint,code}`, keeps
//! `requests_in_flight{endpoint}` up to date, and observes the call's
//! duration in `request_duration_seconds{endpoint}` (see
//! [`RequestMetrics`](crate::RequestMetrics)). `code` is `ok` for a success and the kit code name
//! for an error, so business errors (`invalid_argument`) and infrastructure
//! failures (`unavailable`) are told apart, unlike addsvc's single
//! `success` label. A call dropped before it completes counts as
//! `cancelled`.
//!
//! Every series handle is resolved when the layer is built (the error codes
//! the first time each is seen), so a call costs a few atomic operations and
//! two clock reads, with no label lookup; see `benches/layer.rs`.
//!
//! The clock is quanta's (a calibrated TSC, falling back to the OS monotonic
//! clock): on the 2-vCPU development VMs a read cost 10–27 ns against
//! 23–62 ns for `std::time::Instant::now()` (the `clock` group of that
//! bench), and the two reads are most of the layer's cost. The first layer
//! built calibrates it once per process (bounded by quanta at 200 ms).
//! Tests pass `quanta::Clock::mock()` to [`MetricsLayer::with_clock`].
//!
//! # Streamed responses
//! For an endpoint that answers with a stream (a subscription), a call
//! lasts as long as its stream: [`MetricsLayer::streaming`] records it when
//! the stream ends, fails or is dropped, so `requests_in_flight` counts the
//! open streams and the duration is each stream's lifetime. See
//! [`StreamMetrics`].
//!
//! # Ordering
//! Put it outermost, as addsvc does, so the latency includes every other
//! middleware and the `code` is the one the caller sees (a breaker's
//! `unavailable`, a limiter's `resource_exhausted`).
//!
//! ```
//! use kit_endpoint::{Error, endpoint_fn};
//! use kit_metrics::RequestMetrics;
//! use prometheus_client::registry::Registry;
//! use tower::{ServiceBuilder, ServiceExt};
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let mut registry = Registry::default();
//! let metrics = RequestMetrics::register(&mut registry);
//! let sum = ServiceBuilder::new()
//!     .layer(metrics.layer("sum"))
//!     .service(endpoint_fn(|(a, b): (i64, i64)| async move {
//!         if a == 0 && b == 0 {
//!             return Err(Error::invalid_argument("can't sum two zeroes"));
//!         }
//!         Ok(a + b)
//!     }));
//! sum.clone().oneshot((1, 2)).await.unwrap();
//! sum.oneshot((0, 0)).await.unwrap_err();
//!
//! let text = kit_metrics::encode(&registry).unwrap();
//! assert!(text.contains(r#"requests_total{endpoint="sum",code="ok"} 1"#));
//! assert!(text.contains(r#"requests_total{endpoint="sum",code="invalid_argument"} 1"#));
//! # }
//! ```

pub mod future;
mod layer;
mod stream;

#[cfg(test)]
mod tests;

pub use self::layer::MetricsLayer;
pub use self::stream::{MeteredStream, StreamMetrics, StreamMetricsLayer, StreamResponseFuture};

use std::borrow::Cow;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

use kit_endpoint::{Code, Error};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use quanta::{Clock, Instant};
use tower_service::Service;

use self::future::ResponseFuture;
use crate::red::RequestLabels;

/// Records RED metrics for every call of the inner service. See the
/// [module docs](self).
#[derive(Clone, Debug)]
pub struct Metrics<S> {
    inner: S,
    series: Arc<Series>,
}

/// The series of one endpoint, resolved once.
#[derive(Debug)]
pub(crate) struct Series {
    endpoint: Cow<'static, str>,
    /// For error codes seen for the first time.
    requests: Family<RequestLabels, Counter>,
    ok: Counter,
    /// Indexed by the code's number (1..=16); each created on first use so
    /// that only codes that happened are exported.
    codes: [OnceLock<Counter>; 17],
    in_flight: Gauge,
    duration: Histogram,
    clock: Clock,
}

impl<S> Metrics<S> {
    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, to change.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }

    /// The endpoint label.
    pub fn endpoint(&self) -> &str {
        &self.series.endpoint
    }
}

impl<S, Req> Service<Req> for Metrics<S>
where
    S: Service<Req>,
    S::Error: Into<Error>,
{
    type Response = S::Response;
    type Error = Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, req: Req) -> Self::Future {
        self.series.in_flight.inc();
        let start = self.series.clock.now();
        ResponseFuture::new(self.inner.call(req), self.series.clone(), start)
    }
}

impl Series {
    pub(crate) fn new(
        endpoint: Cow<'static, str>,
        requests: &Family<RequestLabels, Counter>,
        in_flight: Gauge,
        duration: Histogram,
        clock: Clock,
    ) -> Series {
        let ok = requests.get_or_create_owned(&RequestLabels {
            endpoint: endpoint.clone(),
            code: "ok",
        });
        Series {
            endpoint,
            requests: requests.clone(),
            ok,
            codes: Default::default(),
            in_flight,
            duration,
            clock,
        }
    }

    /// The same series, timed by `clock`.
    pub(crate) fn with_clock(&self, clock: Clock) -> Series {
        Series {
            endpoint: self.endpoint.clone(),
            requests: self.requests.clone(),
            ok: self.ok.clone(),
            codes: Default::default(),
            in_flight: self.in_flight.clone(),
            duration: self.duration.clone(),
            clock,
        }
    }

    /// Records a finished call: `None` is a success.
    fn finish(&self, start: Instant, outcome: Option<Code>) {
        let took = self.clock.now().saturating_duration_since(start);
        self.duration.observe(took.as_secs_f64());
        self.in_flight.dec();
        let Some(code) = outcome else {
            self.ok.inc();
            return;
        };
        let labels = || RequestLabels {
            endpoint: self.endpoint.clone(),
            code: code.as_str(),
        };
        match usize::try_from(code.as_i32())
            .ok()
            .and_then(|i| self.codes.get(i))
        {
            Some(cell) => cell
                .get_or_init(|| self.requests.get_or_create_owned(&labels()))
                .inc(),
            None => self.requests.get_or_create(&labels()).inc(),
        };
    }
}
