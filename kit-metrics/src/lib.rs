//! RED metrics for kit: an instrumentation middleware counting requests by
//! endpoint and outcome, the requests in flight, and their latency, exposed
//! for Prometheus to scrape.
//!
//! Go kit's addsvc wraps each endpoint in an instrumentation middleware
//! (`request_duration_seconds{method,success}`, a summary) and serves
//! `/metrics` on a debug port. kit does the same with a [`tower::Layer`]:
//!
//! | Go kit | kit-metrics |
//! |---|---|
//! | `prometheus.NewSummaryFrom(...)`, registered in the default registry | [`RequestMetrics::register`] in a registry you pass, or [`global`] |
//! | `InstrumentingMiddleware(duration.With("method", "Sum"))` | [`RequestMetrics::layer`]`("sum")` |
//! | `success="true"/"false"` | `code="ok"` or the kit code name |
//! | `http.DefaultServeMux.Handle("/metrics", promhttp.Handler())` | `axum::handler` (feature `axum`), `listener::serve` (feature `listener`) |
//!
//! [`tower::Layer`]: tower_layer::Layer
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use kit_endpoint::{Error, endpoint_fn};
//! use kit_metrics::RequestMetrics;
//! use prometheus_client::registry::Registry;
//! use tower::{ServiceBuilder, ServiceExt};
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! // Passed in explicitly, like every dependency in addsvc's main.
//! let mut registry = Registry::default();
//! let metrics = RequestMetrics::register(&mut registry);
//!
//! let concat = ServiceBuilder::new()
//!     .layer(metrics.layer("concat"))
//!     .service(endpoint_fn(|(a, b): (String, String)| async move {
//!         if a.len() + b.len() > 10 {
//!             return Err(Error::out_of_range("result exceeds maximum size"));
//!         }
//!         Ok(a + &b)
//!     }));
//! concat.clone().oneshot(("a".into(), "b".into())).await.unwrap();
//! concat.oneshot(("hello, ".into(), "world".into())).await.unwrap_err();
//!
//! // What `/metrics` serves (an axum route with the `axum` feature).
//! let registry = Arc::new(registry);
//! let text = kit_metrics::encode(&registry).unwrap();
//! assert!(text.contains(r#"requests_total{endpoint="concat",code="ok"} 1"#));
//! assert!(text.contains(r#"requests_total{endpoint="concat",code="out_of_range"} 1"#));
//! assert!(text.contains(r#"requests_in_flight{endpoint="concat"} 0"#));
//! assert!(text.contains(r#"request_duration_seconds_count{endpoint="concat"} 2"#));
//! # }
//! ```
//!
//! # Choosing the backend: prometheus-client
//!
//! The two maintained choices are the `metrics` facade with
//! metrics-exporter-prometheus, and prometheus-client (the Prometheus
//! project's own Rust client). `benches/backend.rs` times each recording one
//! labelled counter increment plus one labelled histogram observation per
//! call, looking the series up by labels each time (as the `counter!` macros
//! and `Family::get_or_create` do) and through handles resolved beforehand
//! (as kit's layer does). The final run on the 2-vCPU development machine,
//! quiet at the time (`cargo bench -p kit-metrics --bench backend`), mean ns
//! per call:
//!
//! | | metrics + exporter | prometheus-client |
//! |---|---|---|
//! | label lookup per call | 165.0 | 81.5 |
//! | resolved handles | 42.3 | 18.8 |
//! | resolved handles, a second thread recording into the same series | 178.7 | 37.8 |
//!
//! Earlier runs, some on a loaded machine, kept the same order (handles:
//! 39–169 ns against 17–34 ns; contended: 605 against 116 ns on a quiet one).
//!
//! prometheus-client is about twice as fast on one thread and four to five
//! times as fast under contention: the exporter queues every histogram sample in a
//! lock-free bucket and aggregates it later, while prometheus-client updates
//! the buckets in place. That also means fixed memory: the exporter's queue
//! grows until a scrape or a periodic upkeep task drains it, and kit would
//! have to run that task for you. prometheus-client's registry is an
//! explicit value by design, which is what kit wants (no hidden global), and
//! it writes OpenMetrics text. The cost of the choice: no `metrics` facade,
//! so no ready push exporters. **StatsD/DogStatsD push is left out** for
//! that reason: the maintained exporter (metrics-exporter-dogstatsd) is a
//! `metrics` recorder, and bridging two metric models to reach it would cost
//! more than it gives, while the Datadog agent scrapes OpenMetrics
//! endpoints itself.
//!
//! # Features
//! - `axum`: `axum::handler`, a `/metrics` route for an axum router.
//! - `listener`: `listener::serve`, a standalone `/metrics` server.
//! - `transport-http`, `transport-grpc`: finalizers for kit-transport's
//!   servers counting the requests refused before their endpoint ran
//!   ([`transport`]).
//!
//! # Layout
//! - [`red`]: [`RequestMetrics`], the request families.
//! - [`instrument`]: [`MetricsLayer`] and [`Metrics`], the middleware.
//! - [`buckets`]: [`DEFAULT_BUCKETS`] and bucket validation.
//! - [`expose`]: [`encode`], [`Exposition`], [`CONTENT_TYPE`].
//! - [`hooks`]: breaker and limiter metrics, for those crates' hooks.
//! - [`global`]: the opt-in process-wide registry.
//! - [`transport`]: [`RejectedRequests`](transport::RejectedRequests), what
//!   the transport refused before any endpoint saw it.
//! - `axum`, `listener`: serving `/metrics` (features).

#![forbid(unsafe_code)]
#![deny(missing_docs)]

#[cfg(feature = "axum")]
pub mod axum;
pub mod buckets;
pub mod expose;
pub mod global;
pub mod hooks;
pub mod instrument;
#[cfg(feature = "listener")]
pub mod listener;
pub mod red;
pub mod transport;

pub use buckets::{BucketsError, DEFAULT_BUCKETS};
pub use expose::{CONTENT_TYPE, Exposition, encode};
pub use instrument::{Metrics, MetricsLayer};
pub use red::RequestMetrics;
