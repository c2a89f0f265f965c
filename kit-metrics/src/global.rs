//! A process-wide registry, for programs that want one.
//!
//! kit never records into it unless asked: layers built with
//! [`RequestMetrics::layer`](crate::RequestMetrics::layer) use the registry
//! they were given. This is the convenience for the other case, the way
//! Prometheus' Go client has a default registry: [`registry`] is created on
//! first use, [`request_metrics`] registers the request families in it once,
//! and [`MetricsLayer::global`](crate::MetricsLayer::global) uses them.
//!
//! ```
//! use kit_metrics::{Exposition, MetricsLayer};
//!
//! let layer = MetricsLayer::global("sum");
//! // Other metrics can join it while it is served.
//! let text = kit_metrics::global::registry().encode().unwrap();
//! assert!(text.contains(r#"requests_total{endpoint="sum",code="ok"} 0"#));
//! # drop(layer);
//! ```

use std::sync::{Mutex, OnceLock, PoisonError};

use prometheus_client::registry::Registry;

use crate::RequestMetrics;

static REGISTRY: OnceLock<Mutex<Registry>> = OnceLock::new();
static REQUESTS: OnceLock<RequestMetrics> = OnceLock::new();

/// The global registry; serve it with any [`Exposition`](crate::Exposition)
/// consumer (it is a `&'static Mutex<Registry>`).
pub fn registry() -> &'static Mutex<Registry> {
    REGISTRY.get_or_init(|| Mutex::new(Registry::default()))
}

/// The request metrics of the global registry, registered on first use.
pub fn request_metrics() -> &'static RequestMetrics {
    REQUESTS.get_or_init(|| {
        let mut registry = registry().lock().unwrap_or_else(PoisonError::into_inner);
        RequestMetrics::register(&mut registry)
    })
}
