//! HTTP: servers and clients around endpoints, on hyper 1 and axum 0.8.
//!
//! - [`HttpServer`]: decode → endpoint → encode, with before/after hooks,
//!   a finalizer and an error encoder. It is a plain tower service and
//!   mounts into an axum `Router` with `route_service`.
//! - [`HttpClient`]: encode → call → decode; itself an endpoint, so
//!   discovery can build one per instance.
//! - [`json`]: decoders, encoders and the default error encoder for JSON.
//! - [`sse`]: Server-Sent Events from an endpoint that returns a stream.
//!
//! ```
//! use axum::Router;
//! use kit_endpoint::{Error, Request, endpoint_fn};
//! use kit_transport::http::{HttpServer, json};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Deserialize)]
//! struct SumRequest { a: i64, b: i64 }
//! #[derive(Serialize)]
//! struct SumResponse { v: i64 }
//!
//! let sum = endpoint_fn(|req: Request<SumRequest>| async move {
//!     Ok::<_, Error>(SumResponse { v: req.body.a + req.body.b })
//! });
//! let app: Router = Router::new().route_service(
//!     "/sum",
//!     HttpServer::new(sum, json::decode::<SumRequest>, json::encode::<SumResponse>),
//! );
//! ```

mod client;
mod hooks;
pub mod json;
mod server;
pub mod sse;

pub use client::{HttpClient, Pool};
pub use hooks::{ClientOptions, Finished, ServerOptions};
pub use server::HttpServer;

/// The response body type of kit's HTTP servers: axum's boxed body.
pub type Body = axum::body::Body;

/// Marks an error as "request body too large", so the error encoder
/// answers 413 rather than the 429 that `ResourceExhausted` maps to.
#[derive(Debug, Clone, Copy)]
pub struct PayloadTooLarge {
    /// The limit, in bytes.
    pub limit: usize,
}

impl std::fmt::Display for PayloadTooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "request body is larger than {} bytes", self.limit)
    }
}

impl std::error::Error for PayloadTooLarge {}

/// The HTTP status an error is sent with: 413 for a body over the limit,
/// otherwise the code's status from [`codes::http_status`](crate::codes::http_status).
pub fn status_for(err: &kit_endpoint::Error) -> http::StatusCode {
    use std::error::Error as _;
    if err.source().is_some_and(|s| s.is::<PayloadTooLarge>()) {
        return http::StatusCode::PAYLOAD_TOO_LARGE;
    }
    crate::codes::http_status(err.code())
}
