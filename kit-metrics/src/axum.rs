//! A `/metrics` handler for axum (feature `axum`).

use ::axum::http::{StatusCode, header};
use ::axum::response::{IntoResponse, Response};
use ::axum::routing::{MethodRouter, get};

use crate::Exposition;

/// A `GET` route rendering `source`; mount it where Prometheus scrapes.
///
/// ```
/// use std::sync::Arc;
/// use axum::Router;
/// use prometheus_client::registry::Registry;
///
/// let mut registry = Registry::default();
/// let metrics = kit_metrics::RequestMetrics::register(&mut registry);
/// let debug: Router = Router::new().route("/metrics", kit_metrics::axum::handler(Arc::new(registry)));
/// # let _ = (metrics, debug);
/// ```
pub fn handler<E, S>(source: E) -> MethodRouter<S>
where
    E: Exposition + Clone,
    S: Clone + Send + Sync + 'static,
{
    get(move || {
        let source = source.clone();
        async move { render(&source) }
    })
}

/// The response for one scrape: the text with its content type, or a 500
/// when a metric fails to encode.
pub fn render(source: &impl Exposition) -> Response {
    match source.encode() {
        Ok(text) => ([(header::CONTENT_TYPE, crate::CONTENT_TYPE)], text).into_response(),
        Err(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "failed to encode metrics\n",
        )
            .into_response(),
    }
}
