//! The servers the transport load benchmark compares, one per process:
//! the same work (add two numbers) behind a raw axum handler, the kit HTTP
//! server, a raw tonic service and the kit gRPC server.
//!
//! Run with `cargo run --release -p kit-transport --all-features --example bench_server -- <mode> <addr>`,
//! where mode is `raw-axum`, `kit-http`, `raw-tonic` or `kit-grpc`. Four more
//! split each difference between its two halves, the adapter and the
//! connection runner: `raw-axum-kitserve` (axum's handler in kit's runner),
//! `kit-http-axumserve` (kit's `HttpServer` in `axum::serve`),
//! `raw-tonic-kitserve` (a plain tonic service in kit's runner) and
//! `kit-grpc-tonicserve` (kit's `GrpcServer` in tonic's own server).

#![allow(clippy::print_stderr, clippy::unwrap_used, clippy::expect_used)]

/// The same allocator as kit's example binaries, so a raw server and a kit
/// service compare on equal terms.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use axum::Json;
use axum::routing::post;
use kit_endpoint::{Error, Request, endpoint_fn};
use kit_testkit::echo::echo_server::{Echo, EchoServer};
use kit_testkit::echo::{EchoReply, EchoRequest};
use kit_transport::grpc::{GrpcServer, ResponseStream};
use kit_transport::http::{HttpServer, json};
use kit_transport::serve::Server;
use serde::{Deserialize, Serialize};
use tonic::{Response, Status};

/// What a select of one key with a few members looks like, in size.
const FIXED_JSON: &str = r#"{"duration":"12.5µs","records":{"foo":[{"key":"Zm9v","score":1.99,"member":"YmF6"},{"key":"Zm9v","score":1.05,"member":"YmFy"}]}}"#;

#[derive(Deserialize)]
struct Sum {
    a: i64,
    b: i64,
}

#[derive(Serialize)]
struct V {
    v: i64,
}

/// gRPC: the reply's message is the request's message, and `index` is the
/// payload length, so there is a little work on both paths.
struct RawEcho;

#[tonic::async_trait]
impl Echo for RawEcho {
    async fn unary(&self, req: tonic::Request<EchoRequest>) -> Result<Response<EchoReply>, Status> {
        let r = req.into_inner();
        Ok(Response::new(EchoReply {
            message: r.message,
            index: r.payload.len() as u32,
            ..Default::default()
        }))
    }
    type ServerStreamStream = ResponseStream<EchoReply>;
    async fn server_stream(
        &self,
        _: tonic::Request<EchoRequest>,
    ) -> Result<Response<Self::ServerStreamStream>, Status> {
        Err(Status::unimplemented(""))
    }
}

type Handler = GrpcServer<
    kit_endpoint::Endpoint<Request<EchoRequest>, EchoReply>,
    fn(EchoRequest) -> Result<EchoRequest, Error>,
    fn(EchoReply) -> Result<EchoReply, Error>,
>;

struct KitEcho(Handler);

#[tonic::async_trait]
impl Echo for KitEcho {
    async fn unary(&self, req: tonic::Request<EchoRequest>) -> Result<Response<EchoReply>, Status> {
        self.0.unary(req).await
    }
    type ServerStreamStream = ResponseStream<EchoReply>;
    async fn server_stream(
        &self,
        _: tonic::Request<EchoRequest>,
    ) -> Result<Response<Self::ServerStreamStream>, Status> {
        Err(Status::unimplemented(""))
    }
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(mode), Some(addr)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: bench_server <raw-axum|kit-http|raw-tonic|kit-grpc> <addr>");
        std::process::exit(2);
    };
    let listener = tokio::net::TcpListener::bind(addr.as_str())
        .await
        .expect("bind");
    match mode.as_str() {
        // axum's own server, as a user of raw axum would run it.
        "raw-axum" => {
            // `/json`: a fixed JSON body, the stream benchmark's baseline.
            let fixed = || async {
                (
                    [(http::header::CONTENT_TYPE, "application/json")],
                    FIXED_JSON,
                )
            };
            let app = axum::Router::new()
                .route(
                    "/sum",
                    post(|Json(s): Json<Sum>| async move { Json(V { v: s.a + s.b }) }),
                )
                .route("/json", axum::routing::any(fixed));
            axum::serve(listener, app).await.expect("serve");
        }
        "raw-axum-kitserve" => {
            let app = axum::Router::new().route(
                "/sum",
                post(|Json(s): Json<Sum>| async move { Json(V { v: s.a + s.b }) }),
            );
            Server::new()
                .serve(listener, app, std::future::pending())
                .await
                .expect("serve");
        }
        "kit-http-axumserve" => {
            let sum = endpoint_fn(|req: Request<Sum>| async move {
                Ok::<_, Error>(V {
                    v: req.body.a + req.body.b,
                })
            });
            let app = axum::Router::new().route_service(
                "/sum",
                HttpServer::new(sum, json::decode::<Sum>, json::encode::<V>),
            );
            axum::serve(listener, app).await.expect("serve");
        }
        "kit-http" => {
            let sum = endpoint_fn(|req: Request<Sum>| async move {
                Ok::<_, Error>(V {
                    v: req.body.a + req.body.b,
                })
            });
            let app = axum::Router::new().route_service(
                "/sum",
                HttpServer::new(sum, json::decode::<Sum>, json::encode::<V>),
            );
            Server::new()
                .serve(listener, app, std::future::pending())
                .await
                .expect("serve");
        }
        // tonic's own server, as a user of raw tonic would run it.
        "raw-tonic" => {
            // TCP_NODELAY, as tonic's own `serve(addr)` sets by default (and
            // kit's runner sets): `serve_with_incoming` leaves a listener's
            // sockets as they are, which on Linux means Nagle's algorithm,
            // a different (and on loopback, cheaper) way to send.
            let incoming =
                tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
            tonic::transport::Server::builder()
                .add_service(EchoServer::new(RawEcho))
                .serve_with_incoming(incoming)
                .await
                .expect("serve");
        }
        "raw-tonic-kitserve" => {
            let routes = tonic::service::Routes::new(EchoServer::new(RawEcho)).prepare();
            Server::new()
                .serve(listener, routes, std::future::pending())
                .await
                .expect("serve");
        }
        "kit-grpc-tonicserve" => {
            let ep =
                kit_endpoint::Endpoint::new(endpoint_fn(|req: Request<EchoRequest>| async move {
                    let r = req.body;
                    Ok::<_, Error>(EchoReply {
                        message: r.message,
                        index: r.payload.len() as u32,
                        ..Default::default()
                    })
                }));
            let id: fn(EchoRequest) -> Result<EchoRequest, Error> = Ok;
            let out: fn(EchoReply) -> Result<EchoReply, Error> = Ok;
            let incoming =
                tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
            tonic::transport::Server::builder()
                .add_service(EchoServer::new(KitEcho(GrpcServer::new(ep, id, out))))
                .serve_with_incoming(incoming)
                .await
                .expect("serve");
        }
        "kit-grpc" => {
            let ep =
                kit_endpoint::Endpoint::new(endpoint_fn(|req: Request<EchoRequest>| async move {
                    let r = req.body;
                    Ok::<_, Error>(EchoReply {
                        message: r.message,
                        index: r.payload.len() as u32,
                        ..Default::default()
                    })
                }));
            let id: fn(EchoRequest) -> Result<EchoRequest, Error> = Ok;
            let out: fn(EchoReply) -> Result<EchoReply, Error> = Ok;
            let routes =
                tonic::service::Routes::new(EchoServer::new(KitEcho(GrpcServer::new(ep, id, out))))
                    .prepare();
            Server::new()
                .serve(listener, routes, std::future::pending())
                .await
                .expect("serve");
        }
        other => {
            eprintln!("unknown mode {other}");
            std::process::exit(2);
        }
    }
}
