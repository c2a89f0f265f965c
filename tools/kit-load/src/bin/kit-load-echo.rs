//! `kit-load-echo`: a raw axum server and a raw tonic server, the baselines
//! kit's servers are measured against, and the target of kit-load's own
//! tests and self-test.
//!
//! Run with `cargo run --release -p kit-load --bin kit-load-echo -- --http 127.0.0.1:8080 --grpc 127.0.0.1:8082`.
//!
//! HTTP routes (any method unless said):
//! - `/`: `Hello, World!` as text.
//! - `/json`: a fixed JSON object (the "raw handler returning fixed JSON").
//! - `POST /sum`: `{"a":1,"b":2}` → `{"v":3}`, addsvc's wire format without
//!   its business rules; bad JSON or an overflow is a 400.
//! - `/echo`: the request body back.
//! - `/status/{code}`: an empty response with that status.
//!
//! gRPC service `kitload.Echo`, messages as raw bytes (no `.proto`):
//! - `/kitload.Echo/Echo`: the request message back.
//! - `/kitload.Echo/Fail`: status `INTERNAL`.
//! - any other method: `UNIMPLEMENTED`.

#![forbid(unsafe_code)]
#![allow(clippy::print_stderr)]

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, post};
use bytes::Bytes;
use clap::Parser;
use kit_load::BytesCodec;
use tonic::Status;
use tonic::server::{Grpc, NamedService, UnaryService};

/// A raw axum (HTTP/1.1 and h2c) and raw tonic server for load tests.
#[derive(Debug, Parser)]
#[command(name = "kit-load-echo", version, about)]
struct Args {
    /// Serve HTTP (raw axum) on this address, e.g. 127.0.0.1:8080.
    #[arg(long)]
    http: Option<SocketAddr>,
    /// Serve gRPC (raw tonic, service kitload.Echo) on this address.
    #[arg(long)]
    grpc: Option<SocketAddr>,
    /// Runtime worker threads (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    if args.http.is_none() && args.grpc.is_none() {
        eprintln!("kit-load-echo: give --http ADDR, --grpc ADDR, or both");
        return std::process::ExitCode::FAILURE;
    }
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = args.threads {
        builder.worker_threads(n.max(1));
    }
    let result = builder
        .enable_all()
        .build()
        .map_err(|e| e.to_string())
        .and_then(|rt| rt.block_on(serve(args)));
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kit-load-echo: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn serve(args: Args) -> Result<(), String> {
    let http = async {
        let Some(addr) = args.http else { return Ok(()) };
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| format!("binding {addr}: {e}"))?;
        axum::serve(listener, router())
            .await
            .map_err(|e| format!("serving HTTP: {e}"))
    };
    let grpc = async {
        let Some(addr) = args.grpc else { return Ok(()) };
        tonic::transport::Server::builder()
            .add_service(EchoService)
            .serve(addr)
            .await
            .map_err(|e| format!("serving gRPC on {addr}: {e}"))
    };
    tokio::try_join!(http, grpc).map(|_| ())
}

fn router() -> Router {
    Router::new()
        .route("/", any(|| async { "Hello, World!" }))
        .route(
            "/json",
            any(|| async { ([(CONTENT_TYPE, "application/json")], JSON) }),
        )
        .route("/sum", post(sum))
        .route("/echo", any(|body: Bytes| async move { body }))
        .route("/status/{code}", any(status))
}

const JSON: &str = r#"{"message":"Hello, World!"}"#;

#[derive(serde::Deserialize)]
struct SumRequest {
    a: i64,
    b: i64,
}

async fn sum(body: Bytes) -> Response {
    let json =
        |status, text: String| (status, [(CONTENT_TYPE, "application/json")], text).into_response();
    match serde_json::from_slice::<SumRequest>(&body) {
        Ok(req) => match req.a.checked_add(req.b) {
            Some(v) => json(StatusCode::OK, format!(r#"{{"v":{v}}}"#)),
            None => json(
                StatusCode::BAD_REQUEST,
                r#"{"error":"integer overflow"}"#.into(),
            ),
        },
        Err(e) => json(
            StatusCode::BAD_REQUEST,
            serde_json::json!({ "error": e.to_string() }).to_string(),
        ),
    }
}

async fn status(Path(code): Path<u16>) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST)
}

/// The gRPC service, routed by hand the way tonic's generated code does.
#[derive(Clone, Copy, Debug)]
struct EchoService;

impl NamedService for EchoService {
    const NAME: &'static str = "kitload.Echo";
}

type BoxFuture =
    Pin<Box<dyn Future<Output = Result<http::Response<tonic::body::Body>, Infallible>> + Send>>;

impl tower_service::Service<http::Request<tonic::body::Body>> for EchoService {
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<tonic::body::Body>) -> BoxFuture {
        match req.uri().path() {
            "/kitload.Echo/Echo" => {
                Box::pin(async move { Ok(Grpc::new(BytesCodec).unary(Echo, req).await) })
            }
            "/kitload.Echo/Fail" => {
                Box::pin(async move { Ok(Grpc::new(BytesCodec).unary(Fail, req).await) })
            }
            _ => Box::pin(async {
                Ok(Status::unimplemented("no such method in kitload.Echo").into_http())
            }),
        }
    }
}

/// Answers with the request message.
struct Echo;

impl UnaryService<Bytes> for Echo {
    type Response = Bytes;
    type Future = std::future::Ready<Result<tonic::Response<Bytes>, Status>>;

    fn call(&mut self, request: tonic::Request<Bytes>) -> Self::Future {
        std::future::ready(Ok(tonic::Response::new(request.into_inner())))
    }
}

/// Always fails with INTERNAL.
struct Fail;

impl UnaryService<Bytes> for Fail {
    type Response = Bytes;
    type Future = std::future::Ready<Result<tonic::Response<Bytes>, Status>>;

    fn call(&mut self, _request: tonic::Request<Bytes>) -> Self::Future {
        std::future::ready(Err(Status::internal("kitload.Echo/Fail always fails")))
    }
}
