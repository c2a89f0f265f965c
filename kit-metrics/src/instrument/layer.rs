use std::borrow::Cow;
use std::sync::Arc;

use quanta::Clock;
use tower_layer::Layer;

use super::{Metrics, Series};
use crate::red::{EndpointLabels, RequestMetrics};

/// Applies [`Metrics`] to services, for one endpoint. Build it with
/// [`RequestMetrics::layer`]; every service it wraps shares the endpoint's
/// series.
#[derive(Clone, Debug)]
pub struct MetricsLayer {
    series: Arc<Series>,
}

impl MetricsLayer {
    /// A layer recording into `metrics` under the label `endpoint`.
    pub fn new(metrics: &RequestMetrics, endpoint: impl Into<Cow<'static, str>>) -> MetricsLayer {
        let endpoint = endpoint.into();
        let labels = EndpointLabels {
            endpoint: endpoint.clone(),
        };
        let in_flight = metrics.in_flight.get_or_create_owned(&labels);
        let duration = metrics.duration.get_or_create_owned(&labels);
        MetricsLayer {
            series: Arc::new(Series::new(
                endpoint,
                &metrics.requests,
                in_flight,
                duration,
                Clock::new(),
            )),
        }
    }

    /// Times calls with `clock` instead of quanta's default clock: in
    /// tests, `quanta::Clock::mock()`, moved by hand.
    pub fn with_clock(self, clock: Clock) -> MetricsLayer {
        MetricsLayer {
            series: Arc::new(self.series.with_clock(clock)),
        }
    }

    /// For an endpoint that answers with a stream: each call is recorded
    /// when its stream ends, fails or is dropped (see
    /// [`StreamMetrics`](super::StreamMetrics)).
    pub fn streaming(self) -> super::StreamMetricsLayer {
        super::StreamMetricsLayer::new(self)
    }

    /// A layer recording into the [global](crate::global) registry's
    /// request metrics.
    pub fn global(endpoint: impl Into<Cow<'static, str>>) -> MetricsLayer {
        MetricsLayer::new(crate::global::request_metrics(), endpoint)
    }
}

impl<S> Layer<S> for MetricsLayer {
    type Service = Metrics<S>;

    fn layer(&self, inner: S) -> Metrics<S> {
        Metrics {
            inner,
            series: self.series.clone(),
        }
    }
}
