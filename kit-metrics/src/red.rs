//! The RED families (rate, errors, duration), registered once per registry.

use std::borrow::Cow;
use std::sync::Arc;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::{Family, MetricConstructor};
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

use crate::buckets::{BucketsError, DEFAULT_BUCKETS, validate};
use crate::instrument::MetricsLayer;

/// Labels of `requests_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct RequestLabels {
    pub(crate) endpoint: Cow<'static, str>,
    pub(crate) code: &'static str,
}

/// Labels of the per-endpoint series.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct EndpointLabels {
    pub(crate) endpoint: Cow<'static, str>,
}

/// Builds histograms with the configured buckets.
#[derive(Clone, Debug)]
pub(crate) struct Buckets(Arc<[f64]>);

impl MetricConstructor<Histogram> for Buckets {
    fn new_metric(&self) -> Histogram {
        Histogram::new(self.0.iter().copied())
    }
}

/// The request metrics of a service, registered once in a [`Registry`] and
/// shared by the [`MetricsLayer`] of every endpoint:
///
/// | series | type | labels |
/// |---|---|---|
/// | `requests_total` | counter | `endpoint`, `code` (`ok` or a kit code name such as `invalid_argument`; `cancelled` for calls dropped before completing) |
/// | `requests_in_flight` | gauge | `endpoint` |
/// | `request_duration_seconds` | histogram | `endpoint` |
///
/// Names follow Prometheus conventions (base units, `_total` on counters);
/// put a namespace in front with `Registry::with_prefix("addsvc")` or a
/// sub-registry.
///
/// ```
/// use kit_metrics::RequestMetrics;
/// use prometheus_client::registry::Registry;
///
/// let mut registry = Registry::with_prefix("addsvc");
/// let metrics = RequestMetrics::register(&mut registry);
/// let sum_layer = metrics.layer("sum");
/// let concat_layer = metrics.layer("concat");
/// # let _ = (sum_layer, concat_layer);
/// ```
#[derive(Clone, Debug)]
pub struct RequestMetrics {
    pub(crate) requests: Family<RequestLabels, Counter>,
    pub(crate) in_flight: Family<EndpointLabels, Gauge>,
    pub(crate) duration: Family<EndpointLabels, Histogram, Buckets>,
}

impl RequestMetrics {
    /// Registers the families in `registry` with [`DEFAULT_BUCKETS`].
    pub fn register(registry: &mut Registry) -> RequestMetrics {
        RequestMetrics::new(Buckets(DEFAULT_BUCKETS.into()), registry)
    }

    /// Registers the families in `registry` with other latency buckets
    /// (upper bounds in seconds; `+Inf` is implied).
    pub fn register_with_buckets(
        registry: &mut Registry,
        buckets: &[f64],
    ) -> Result<RequestMetrics, BucketsError> {
        validate(buckets)?;
        Ok(RequestMetrics::new(Buckets(buckets.into()), registry))
    }

    fn new(buckets: Buckets, registry: &mut Registry) -> RequestMetrics {
        let metrics = RequestMetrics {
            requests: Family::default(),
            in_flight: Family::default(),
            duration: Family::new_with_constructor(buckets),
        };
        registry.register(
            "requests",
            "Requests handled, by endpoint and outcome code",
            metrics.requests.clone(),
        );
        registry.register(
            "requests_in_flight",
            "Requests being handled now, by endpoint",
            metrics.in_flight.clone(),
        );
        registry.register_with_unit(
            "request_duration",
            "Time to handle a request, by endpoint",
            Unit::Seconds,
            metrics.duration.clone(),
        );
        metrics
    }

    /// The instrumentation layer for one endpoint.
    pub fn layer(&self, endpoint: impl Into<Cow<'static, str>>) -> MetricsLayer {
        MetricsLayer::new(self, endpoint)
    }
}
