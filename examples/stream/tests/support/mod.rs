//! Shared helpers for the API tests: the stream's apps on free loopback
//! ports over an in-memory store, the `stream` binary itself, and a raw
//! HTTP/1.1 client.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use kit_testkit::process::{ChildServer, Spec};
use kit_transport::health::Readiness;
use kit_transport::http::ServerOptions;
use kit_transport::serve::{RunningServer, Server};
use stream::api;
use stream::endpoints::Endpoints;
use stream::service::StreamService;
use stream::store::MemoryStore;
use stream::wire::Limits;

pub struct Running {
    pub http: SocketAddr,
    pub grpc: SocketAddr,
    _servers: Vec<RunningServer>,
}

pub async fn start(limits: Limits) -> Running {
    let svc = StreamService::with_limits(MemoryStore::new(), limits.clone());
    let feed = api::feed::endpoint(svc.clone());
    let endpoints = Endpoints::new(svc);
    let readiness = Readiness::new();
    let http = api::http_app(
        &endpoints,
        feed.clone(),
        limits,
        ServerOptions::new(),
        readiness.clone(),
    );
    let grpc = api::grpc_app(&endpoints, feed, Default::default(), readiness).unwrap();
    let (h, hs) = serve(http).await;
    let (g, gs) = serve(grpc).await;
    Running {
        http: h,
        grpc: g,
        _servers: vec![hs, gs],
    }
}

async fn serve(app: axum::Router) -> (SocketAddr, RunningServer) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    (addr, Server::new().spawn(listener, app))
}

/// The `stream` binary, through kit-testkit (killed when dropped, also
/// when the test fails).
pub struct Binary {
    pub child: ChildServer,
    pub http: SocketAddr,
    pub grpc: SocketAddr,
}

/// Starts the `stream` binary on free loopback ports for HTTP and gRPC,
/// with `dir` as its data directory and `extra` flags; returns once both
/// listen.
pub fn binary(dir: &Path, extra: &[&std::ffi::OsStr]) -> Binary {
    let free = || -> SocketAddr { ([127, 0, 0, 1], kit_testkit::free_port().unwrap()).into() };
    let (http, grpc) = (free(), free());
    let mut args = vec![
        "-http.address".into(),
        http.to_string().into(),
        "-grpc.address".into(),
        grpc.to_string().into(),
        "-data.dir".into(),
        dir.as_os_str().to_owned(),
    ];
    args.extend(extra.iter().map(|a| a.to_os_string()));
    let child = ChildServer::spawn(Spec {
        binary: env!("CARGO_BIN_EXE_stream"),
        package: "stream (cargo build -p stream)",
        args,
        ready_line: "stream: grpc listening on",
        ready_timeout: Duration::from_secs(60),
    })
    .unwrap();
    Binary { child, http, grpc }
}

/// One raw HTTP/1.1 exchange: status, content type, body.
pub async fn call(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: &[u8],
) -> (u16, String, String) {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut send, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(conn);
    let req = http::Request::builder()
        .method(method)
        .uri(path)
        .header("host", addr.to_string())
        .body(Full::new(Bytes::copy_from_slice(body)))
        .unwrap();
    let (parts, body) = send.send_request(req).await.unwrap().into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    let ct = parts
        .headers
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (
        parts.status.as_u16(),
        ct,
        String::from_utf8_lossy(&body).into_owned(),
    )
}

/// The response with the `duration` value replaced by `D`, since it varies.
pub fn without_duration(body: &str) -> String {
    let Some(start) = body.find("\"duration\":\"") else {
        return body.to_owned();
    };
    let value_start = start + "\"duration\":\"".len();
    let end = value_start + body[value_start..].find('"').unwrap();
    format!("{}D{}", &body[..value_start], &body[end..])
}
