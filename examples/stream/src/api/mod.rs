//! The transports: roshi-server's HTTP API, a REST API and a gRPC API over
//! the stream's endpoints, all built from kit-transport.
//!
//! One HTTP listener serves, in order of precedence: `/healthz` and
//! `/readyz`; the REST API under `/v1/streams/`; and Roshi's API on every
//! other path (Roshi routes by method on any path). The gRPC listener
//! serves `kit.stream.v1.Stream`, `grpc.health.v1` and reflection.
//!
//! # Layout
//! - [`roshi`]: the drop-in Roshi API.
//! - [`rest`]: keys in the path, cursors in responses, live updates as SSE.
//! - [`grpc`]: `kit.stream.v1.Stream` with a server-streaming Subscribe.
//! - [`feed`]: the live feed as an endpoint, shared by SSE and Subscribe.

pub mod feed;
pub mod grpc;
pub mod rest;
pub mod roshi;

use axum::Router;
use bytes::Bytes;
use kit_endpoint::{Endpoint, Request};
use kit_transport::grpc::{GrpcServerOptions, MessageLimitLayer};
use kit_transport::health::{self, Readiness};
use kit_transport::http::ServerOptions;

use crate::endpoints::Endpoints;
use crate::wire::Limits;

/// The HTTP app: health, REST, and Roshi's API as the fallback.
pub fn http_app(
    endpoints: &Endpoints,
    feed: Endpoint<Request<Vec<Bytes>>, feed::Changes>,
    limits: Limits,
    options: ServerOptions,
    readiness: Readiness,
) -> Router {
    Router::new()
        .merge(health::http_routes(readiness))
        .merge(rest::router(
            endpoints,
            feed,
            limits.clone(),
            options.clone(),
        ))
        .fallback_service(roshi::RoshiApi::new(endpoints, limits, options))
}

/// The gRPC app: the stream service, health and reflection.
pub fn grpc_app(
    endpoints: &Endpoints,
    feed: Endpoint<Request<Vec<Bytes>>, feed::Changes>,
    options: GrpcServerOptions,
    readiness: Readiness,
) -> Result<Router, kit_endpoint::Error> {
    let routes =
        tonic::service::Routes::new(grpc::StreamGrpc::new(endpoints, feed, options).into_service())
            .add_service(health::grpc_service(readiness, &["kit.stream.v1.Stream"]))
            .add_service(kit_transport::grpc::reflection(
                crate::pb::FILE_DESCRIPTOR_SET,
            )?);
    Ok(routes.into_axum_router().layer(MessageLimitLayer))
}
