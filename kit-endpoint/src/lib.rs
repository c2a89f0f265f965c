//! The endpoint contract of kit: what every other kit crate builds on.
//!
//! kit follows Go kit's three layers: a **service** holds plain business
//! logic; an **endpoint** adapts one operation of it into a request/response
//! call, where cross-cutting middleware wraps it; a **transport** turns wire
//! requests into endpoint calls. In kit an endpoint is a [`tower::Service`]
//! whose error is [`Error`], and a middleware is a [`tower::Layer`], so every
//! kit piece works inside axum, tonic and any tower stack, and tower's own
//! middleware works inside kit.
//!
//! | Go kit | kit |
//! |---|---|
//! | `endpoint.Endpoint` (`func(ctx, req) (resp, error)`) | `S: Service<Req, Error = Error>`, boxed as [`Endpoint<Req, Resp>`] |
//! | an endpoint func literal | [`endpoint_fn`] |
//! | `endpoint.Middleware` (`func(Endpoint) Endpoint`) | a [`tower::Layer`] |
//! | `endpoint.Chain(outer, others...)` | `ServiceBuilder::new().layer(outer).layer(..)`: the first layer is outermost |
//! | `context.Context` | [`Context`], carried by the request ([`Request`], [`HasContext`]) |
//! | `context.WithTimeout` | [`Context::with_timeout`], and the [`DeadlineLayer`] that enforces it |
//! | errors compared by value or type | [`Error::code`], one canonical [`Code`] set for every crate |
//!
//! # Tour
//!
//! A plain service, an endpoint around one of its methods, two middlewares,
//! a call, and an error matched by its code:
//!
//! ```
//! use std::time::Duration;
//! use kit_endpoint::{Code, Context, DeadlineLayer, Endpoint, Error, Request, endpoint_fn};
//! use tower::{ServiceBuilder, ServiceExt, layer::layer_fn, util::MapErr};
//!
//! // 1. The service: business logic that knows nothing of kit.
//! #[derive(Clone)]
//! struct Adder;
//!
//! impl Adder {
//!     fn sum(&self, a: i64, b: i64) -> Result<i64, &'static str> {
//!         if a == 0 && b == 0 {
//!             return Err("can't sum two zeroes");
//!         }
//!         a.checked_add(b).ok_or("integer overflow")
//!     }
//! }
//!
//! // 2. The endpoint: one operation as a request/response call.
//! struct SumRequest { a: i64, b: i64 }
//!
//! fn sum_endpoint(svc: Adder) -> Endpoint<Request<SumRequest>, i64> {
//!     Endpoint::new(endpoint_fn(move |req: Request<SumRequest>| {
//!         let svc = svc.clone();
//!         async move { svc.sum(req.body.a, req.body.b).map_err(Error::invalid_argument) }
//!     }))
//! }
//!
//! // 3. Middleware: any tower Layer. This one prefixes error messages
//! //    with the operation's name; kit's own crates add breakers, limits,
//! //    logs, metrics and traces the same way.
//! fn annotate<S>(inner: S) -> MapErr<S, fn(Error) -> Error> {
//!     MapErr::new(inner, |e: Error| {
//!         let message = format!("sum: {}", e.message());
//!         Error::new(e.code(), message)
//!     })
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! // 4. Chain them: the first layer is the outermost, as in Go kit's Chain.
//! let sum = ServiceBuilder::new()
//!     .layer(layer_fn(annotate))
//!     .layer(DeadlineLayer::with_timeout(Duration::from_secs(1)))
//!     .service(sum_endpoint(Adder));
//!
//! // 5. Call it, with a context that carries a deadline.
//! let ctx = Context::new().with_timeout(Duration::from_millis(500));
//! let v = sum.clone().oneshot(Request::with_context(ctx, SumRequest { a: 1, b: 2 })).await;
//! assert_eq!(v.unwrap(), 3);
//!
//! // 6. Errors are matched by canonical code, never by type.
//! let err = sum.oneshot(Request::new(SumRequest { a: 0, b: 0 })).await.unwrap_err();
//! match err.code() {
//!     Code::InvalidArgument => assert_eq!(err.message(), "sum: can't sum two zeroes"),
//!     other => panic!("unexpected {other}"),
//! }
//! # }
//! ```
//!
//! # Request context: the design
//!
//! A request's [`Context`] (deadline, [`Metadata`], typed extensions) is a
//! plain value **owned by the request**: [`Request<T>`] pairs it with a body,
//! and any request type can expose one through [`HasContext`]. Middleware
//! that needs it is generic over `Req: HasContext`. Outbound calls receive
//! it, or a child with a tighter deadline, explicitly, as Go passes `ctx`.
//!
//! Alternatives considered and rejected:
//! - **A task-local "current context".** Invisible in signatures, lost across
//!   `tokio::spawn`, and wrong for a task that serves many requests.
//! - **`http::Request` extensions only.** Ties the contract to HTTP types and
//!   leaves gRPC and in-process calls without a home for deadlines.
//! - **A `(Context, Req)` tuple as the request type.** Works, but reads badly
//!   in every signature and cannot carry methods.
//! - **A cancellation token in the context.** In Rust, dropping a future
//!   cancels it and everything it awaits, which is what Go's `ctx.Done()` is
//!   for; a token would duplicate that.
//!
//! # Layout
//! - [`code`]: the canonical [`Code`]s.
//! - [`error`]: the shared [`Error`].
//! - [`endpoint`]: [`Endpoint`] and [`endpoint_fn`].
//! - [`context`] and [`metadata`]: [`Context`], [`Request`], [`HasContext`], [`Metadata`].
//! - [`deadline`]: the [`DeadlineLayer`].

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod code;
pub mod context;
pub mod deadline;
pub mod endpoint;
pub mod error;
pub mod metadata;

pub use code::Code;
pub use context::{Context, HasContext, Request};
pub use deadline::{Deadline, DeadlineLayer};
pub use endpoint::{Endpoint, EndpointFn, endpoint_fn};
pub use error::{BoxError, Error};
pub use metadata::Metadata;
