//! OpenTelemetry traces for kit: a span per endpoint call, W3C trace
//! context across HTTP and gRPC hops, and OTLP export in one call.
//!
//! Go kit traced through OpenTracing, Zipkin and OpenCensus, with
//! OpenTelemetry only as an outside package; kit makes OpenTelemetry the
//! default. The pieces:
//!
//! - [`TraceLayer`]: a tower layer that gives each call of an endpoint a
//!   server or client span, with the semantic conventions' attributes and a
//!   status taken from kit's error code ([`semconv`]).
//! - [`TracePropagator`]: W3C `traceparent`/`tracestate` and baggage in and
//!   out of headers; with the `transport` feature it is a kit-transport
//!   `Propagator`, for HTTP and gRPC servers and clients alike.
//! - [`Setup`]: OTLP export (gRPC; HTTP/protobuf with `otlp-http`), batch
//!   processing, a parent-based ratio sampler, the service's resource, and
//!   the bridge into `tracing`; [`Telemetry`] is the guard.
//!
//! The trace context travels inside the request's [`kit_endpoint::Context`]
//! as an [`opentelemetry::Context`] extension ([`context`] explains the
//! flow), so a server span is the child of the remote parent the transport
//! extracted, and a client span is the child of whatever span the caller's
//! context holds.
//!
//! # Tour
//!
//! Two services in one process: a front endpoint calls a back endpoint.
//! In production the hop between them is an HTTP or gRPC transport with a
//! `TracePropagator` on both sides; here the propagator is applied by hand
//! to show what crosses the wire.
//!
//! ```
//! use http::HeaderMap;
//! use kit_endpoint::{Context, Error, HasContext, Request, endpoint_fn};
//! use kit_tracing::{ContextExt, TraceLayer, TracePropagator};
//! use opentelemetry::trace::{SpanKind, TracerProvider as _};
//! use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
//! use tower::{Layer, ServiceExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let exporter = InMemorySpanExporter::default();
//! let provider = SdkTracerProvider::builder().with_simple_exporter(exporter.clone()).build();
//! let tracer = provider.tracer("tour");
//! let propagator = TracePropagator::new();
//!
//! // The back service: a server span around its endpoint.
//! let back = TraceLayer::server(tracer.clone(), "Back/Get")
//!     .layer(endpoint_fn(|req: Request<u32>| async move { Ok::<_, Error>(req.body * 2) }));
//!
//! // The "wire": the client side injects, the server side extracts.
//! let wire = endpoint_fn(move |req: Request<u32>| {
//!     let (back, propagator) = (back.clone(), propagator.clone());
//!     async move {
//!         let mut headers = HeaderMap::new();
//!         propagator.inject(req.context(), &mut headers);
//!         let mut server_ctx = Context::new();
//!         propagator.extract(&headers, &mut server_ctx);
//!         back.oneshot(Request::with_context(server_ctx, req.body)).await
//!     }
//! });
//!
//! // The front service: a client span around its outbound call.
//! let client = TraceLayer::client(tracer.clone(), "Back/Get").layer(wire);
//! let front = TraceLayer::server(tracer, "Front/Get").layer(endpoint_fn(move |req: Request<u32>| {
//!     let client = client.clone();
//!     // The request's context holds the front span: pass it on.
//!     async move { client.oneshot(req).await }
//! }));
//!
//! assert_eq!(front.oneshot(Request::new(21)).await.unwrap(), 42);
//!
//! let spans = exporter.get_finished_spans().unwrap();
//! assert_eq!(spans.len(), 3);
//! let trace = spans[0].span_context.trace_id();
//! assert!(spans.iter().all(|s| s.span_context.trace_id() == trace));
//! let by_kind = |k: SpanKind, name: &str| {
//!     spans.iter().find(|s| s.span_kind == k && s.name == name).unwrap()
//! };
//! let (front, client, back) = (
//!     by_kind(SpanKind::Server, "Front/Get"),
//!     by_kind(SpanKind::Client, "Back/Get"),
//!     by_kind(SpanKind::Server, "Back/Get"),
//! );
//! assert_eq!(client.parent_span_id, front.span_context.span_id());
//! assert_eq!(back.parent_span_id, client.span_context.span_id());
//! # }
//! ```
//!
//! # Features
//! - `otlp` (default): `Setup::build` and `Setup::install` with OTLP/gRPC.
//! - `otlp-http`: OTLP/HTTP protobuf as well, on hyper (no reqwest).
//! - `transport`: [`TracePropagator`] implements kit-transport's
//!   `Propagator`, and HTTP spans record `http.response.status_code`. It
//!   pulls only kit-transport's feature-less core; off by default so that a
//!   middleware crate does not depend on a transport.
//!
//! # Layout
//! - [`trace`]: the layer, [`Trace`] and [`TraceLayer`].
//! - [`context`]: the trace context inside a kit request context.
//! - [`propagation`]: the W3C [`TracePropagator`].
//! - [`semconv`]: attribute names and the error-status rules.
//! - [`setup`]: OTLP export, [`Setup`], [`Telemetry`], [`SetupError`].

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod context;
pub mod propagation;
pub mod semconv;
pub mod setup;
pub mod trace;

pub use context::{ContextExt, current_span_context};
pub use propagation::TracePropagator;
pub use setup::{Protocol, Setup, SetupError, Telemetry};
pub use trace::{Trace, TraceLayer};
