//! Transports for kit endpoints: HTTP (hyper 1 / axum 0.8) and gRPC (tonic),
//! servers and clients.
//!
//! A server transport is decode → endpoint → encode, with before/after hooks,
//! a finalizer and one error encoder; a client transport is the mirror and is
//! itself an endpoint. Both map kit's canonical codes to the wire with one
//! table each ([`codes`]), carry deadlines across hops ([`timeout`]), move
//! context through [`propagation`] hooks, and serve through one connection
//! runner ([`serve`]) with TLS, a header-read timeout, health and a bounded
//! graceful drain.
//!
//! Enable what you use: feature `http`, feature `grpc`, feature `tls`.
//!
//! ```
//! # #[cfg(feature = "http")]
//! # mod example {
//! use kit_endpoint::{Error, Request, endpoint_fn};
//! use kit_transport::http::{HttpServer, json};
//!
//! pub fn app() -> axum::Router {
//!     let hello = endpoint_fn(|req: Request<String>| async move {
//!         Ok::<_, Error>(format!("hello, {}", req.body))
//!     });
//!     axum::Router::new().route_service(
//!         "/hello",
//!         HttpServer::new(hello, json::decode::<String>, json::encode::<String>),
//!     )
//! }
//! # }
//! ```
//!
//! # Layout
//! - [`codes`]: kit code ↔ HTTP status, kit code ↔ gRPC code.
//! - [`timeout`]: `grpc-timeout` and `kit-timeout-ms`.
//! - [`propagation`]: the [`Propagator`](propagation::Propagator) hook kit-tracing fills.
//! - `http` (feature `http`): `HttpServer`, `HttpClient`, JSON, SSE.
//! - `grpc` (feature `grpc`): `GrpcServer`, `GrpcClient`, status mapping, codec, health, reflection.
//! - `serve`, `health` (either transport): the runner, readiness, health routes.
//! - `tls` (feature `tls`): rustls configurations.

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod codes;
pub mod propagation;
pub mod timeout;

#[cfg(feature = "grpc")]
pub mod grpc;
#[cfg(any(feature = "http", feature = "grpc"))]
pub mod health;
#[cfg(feature = "http")]
pub mod http;
#[cfg(any(feature = "http", feature = "grpc"))]
pub mod serve;
#[cfg(feature = "tls")]
pub mod tls;
