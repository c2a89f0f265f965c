//! Rendering a registry as text for Prometheus to scrape.
//!
//! prometheus-client writes the OpenMetrics text format (which Prometheus
//! scrapes natively, and which reads as the classic text format plus a
//! final `# EOF`); kit writes no exposition format by hand.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use prometheus_client::registry::Registry;

/// The `Content-Type` of [`encode`]'s output.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Renders every metric in `registry`.
///
/// ```
/// use prometheus_client::registry::Registry;
///
/// let mut registry = Registry::default();
/// let metrics = kit_metrics::RequestMetrics::register(&mut registry);
/// let layer = metrics.layer("sum"); // creates the endpoint's series
/// let text = kit_metrics::encode(&registry).unwrap();
/// assert!(text.contains("# TYPE request_duration_seconds histogram"));
/// assert!(text.ends_with("# EOF\n"));
/// # drop(layer);
/// ```
pub fn encode(registry: &Registry) -> Result<String, fmt::Error> {
    let mut out = String::with_capacity(4096);
    prometheus_client::encoding::text::encode(&mut out, registry)?;
    Ok(out)
}

/// Something that can be rendered for a scrape: a [`Registry`], a registry
/// behind a [`Mutex`] (for one that still gains metrics while served, such
/// as the [global](crate::global) one), or either behind an [`Arc`] or a
/// `'static` reference.
pub trait Exposition: Send + Sync + 'static {
    /// Renders the metrics.
    fn encode(&self) -> Result<String, fmt::Error>;
}

impl Exposition for Registry {
    fn encode(&self) -> Result<String, fmt::Error> {
        encode(self)
    }
}

impl Exposition for Mutex<Registry> {
    fn encode(&self) -> Result<String, fmt::Error> {
        encode(&self.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl<T: Exposition + ?Sized> Exposition for Arc<T> {
    fn encode(&self) -> Result<String, fmt::Error> {
        (**self).encode()
    }
}

impl<T: Exposition + ?Sized> Exposition for &'static T {
    fn encode(&self) -> Result<String, fmt::Error> {
        (**self).encode()
    }
}
