//! Graceful shutdown: in-flight calls finish, new connections are refused,
//! health turns not-ready, and the drain is bounded.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use bytes::Bytes;
use http::Method;
use http_body_util::{BodyExt, Full};
use kit_endpoint::{Endpoint, Error, Request, endpoint_fn};
use kit_testkit::echo::echo_server::{Echo, EchoServer};
use kit_testkit::echo::{EchoReply, EchoRequest};
use kit_transport::grpc::{self, GrpcClient, GrpcServer, ResponseStream};
use kit_transport::health::{self, Readiness};
use kit_transport::http::{HttpClient, HttpServer, json};
use kit_transport::serve::Server;
use tokio::sync::{Notify, Semaphore};
use tonic::{Response, Status};
use tower::ServiceExt;

type Id = fn(EchoRequest) -> Result<EchoRequest, Error>;
type Out = fn(EchoReply) -> Result<EchoReply, Error>;
type Ep = Endpoint<Request<EchoRequest>, EchoReply>;

/// Calls wait at a gate the test opens; `arrived` counts calls that reached it.
#[derive(Clone)]
struct Gate {
    open: Arc<Semaphore>,
    arrived: Arc<AtomicUsize>,
    notify: Arc<Notify>,
}

impl Gate {
    fn new() -> Gate {
        Gate {
            open: Arc::new(Semaphore::new(0)),
            arrived: Arc::default(),
            notify: Arc::default(),
        }
    }

    async fn pass(&self) {
        self.arrived.fetch_add(1, Ordering::SeqCst);
        self.notify.notify_waiters();
        let _permit = self.open.acquire().await.unwrap();
    }

    async fn wait_for(&self, n: usize) {
        loop {
            let notified = self.notify.notified();
            if self.arrived.load(Ordering::SeqCst) >= n {
                return;
            }
            notified.await;
        }
    }

    fn release_all(&self) {
        self.open.add_permits(1000);
    }
}

fn gated(gate: Gate) -> Ep {
    Endpoint::new(endpoint_fn(move |req: Request<EchoRequest>| {
        let gate = gate.clone();
        async move {
            gate.pass().await;
            Ok::<_, Error>(EchoReply {
                message: req.body.message,
                ..Default::default()
            })
        }
    }))
}

struct Svc(GrpcServer<Ep, Id, Out>);

#[tonic::async_trait]
impl Echo for Svc {
    async fn unary(&self, req: tonic::Request<EchoRequest>) -> Result<Response<EchoReply>, Status> {
        self.0.unary(req).await
    }
    type ServerStreamStream = ResponseStream<EchoReply>;
    async fn server_stream(
        &self,
        _req: tonic::Request<EchoRequest>,
    ) -> Result<Response<ResponseStream<EchoReply>>, Status> {
        Err(Status::unimplemented("not here"))
    }
}

/// HTTP `/echo`, health routes and gRPC (Echo + health) on one port.
fn app(gate: Gate, readiness: Readiness) -> Router {
    let id: Id = Ok;
    let out: Out = Ok;
    let grpc = tonic::service::Routes::new(EchoServer::new(Svc(GrpcServer::new(
        gated(gate.clone()),
        id,
        out,
    ))))
    .add_service(health::grpc_service(readiness.clone(), &[]))
    .into_axum_router();
    Router::new()
        .route_service(
            "/echo",
            HttpServer::new(
                gated(gate),
                |p: &http::request::Parts, b| {
                    json::decode::<EchoRequestJson>(p, b).map(EchoRequest::from)
                },
                |r: EchoReply| json::encode(EchoRequestJson { message: r.message }),
            ),
        )
        .merge(health::http_routes(readiness))
        .merge(grpc)
}

// JSON stand-in for the HTTP side.
#[derive(serde::Serialize, serde::Deserialize, Clone, Debug, PartialEq)]
struct EchoRequestJson {
    message: String,
}

impl From<EchoRequestJson> for EchoRequest {
    fn from(j: EchoRequestJson) -> Self {
        EchoRequest {
            message: j.message,
            ..Default::default()
        }
    }
}

fn http_echo(addr: std::net::SocketAddr) -> Endpoint<Request<EchoRequestJson>, EchoRequestJson> {
    Endpoint::new(HttpClient::new(
        Method::POST,
        format!("http://{addr}/echo").parse().unwrap(),
        json::encode_request::<EchoRequestJson>,
        json::decode_response::<EchoRequestJson>,
    ))
}

fn grpc_echo(addr: std::net::SocketAddr) -> Ep {
    let id: Id = Ok;
    let out: Out = Ok;
    Endpoint::new(GrpcClient::new(
        grpc::channel(&format!("http://{addr}")).unwrap(),
        "/kit.test.echo.Echo/Unary",
        id,
        out,
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_flight_calls_finish_and_new_connections_are_refused() {
    let gate = Gate::new();
    let readiness = Readiness::new();
    let (addr, mut server) = support::spawn(
        Server::new().readiness(readiness.clone()),
        app(gate.clone(), readiness.clone()),
    )
    .await;

    // a gRPC health watch opened before shutdown, on its own connection
    let mut watch = tonic_health::pb::health_client::HealthClient::new(
        grpc::channel(&format!("http://{addr}")).unwrap(),
    )
    .watch(tonic_health::pb::HealthCheckRequest {
        service: String::new(),
    })
    .await
    .unwrap()
    .into_inner();
    assert_eq!(watch.message().await.unwrap().unwrap().status, 1, "SERVING");

    // 4 HTTP calls (each on its own connection) and 4 gRPC calls in flight
    let mut calls = Vec::new();
    for i in 0..4 {
        let http = http_echo(addr);
        calls.push(tokio::spawn(async move {
            let r = http
                .oneshot(Request::new(EchoRequestJson {
                    message: format!("h{i}"),
                }))
                .await;
            r.map(|r| r.message)
        }));
        let grpc = grpc_echo(addr);
        calls.push(tokio::spawn(async move {
            let r = grpc
                .oneshot(Request::new(EchoRequest {
                    message: format!("g{i}"),
                    ..Default::default()
                }))
                .await;
            r.map(|r| r.message)
        }));
    }
    gate.wait_for(8).await;

    server.begin_shutdown();
    let mut rx = readiness.subscribe();
    rx.wait_for(|ready| !ready).await.unwrap();
    assert!(readiness.is_draining());
    // health flipped on the open watch stream
    assert_eq!(
        watch.message().await.unwrap().unwrap().status,
        2,
        "NOT_SERVING"
    );
    // A watch is a call that never ends by itself: it would hold the drain
    // to its bound, so the client ends it.
    drop(watch);
    // new connections are refused
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "the listener is closed"
    );

    gate.release_all();
    let mut results = Vec::new();
    for call in calls {
        results.push(call.await.unwrap().expect("every accepted call completes"));
    }
    results.sort();
    assert_eq!(results, ["g0", "g1", "g2", "g3", "h0", "h1", "h2", "h3"]);
    tokio::time::timeout(Duration::from_secs(10), server.wait())
        .await
        .expect("the server stopped after the drain")
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_turns_503_during_the_shutdown_delay() {
    let gate = Gate::new();
    let readiness = Readiness::new();
    let server = Server::new()
        .readiness(readiness.clone())
        .shutdown_delay(Duration::from_secs(3));
    let (addr, mut server) = support::spawn(server, app(gate, readiness.clone())).await;

    let get = |path: &'static str| async move {
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (mut send, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .unwrap();
        tokio::spawn(conn);
        let req = http::Request::get(path)
            .header("host", "x")
            .body(Full::new(Bytes::new()))
            .unwrap();
        let response = send.send_request(req).await.unwrap();
        let status = response.status();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status.as_u16(), String::from_utf8_lossy(&body).into_owned())
    };
    assert_eq!(get("/readyz").await.0, 200);
    server.begin_shutdown();
    readiness
        .subscribe()
        .wait_for(|ready| !ready)
        .await
        .unwrap();
    // still accepting during the delay, but not ready
    let (status, body) = get("/readyz").await;
    assert_eq!(status, 503);
    assert!(body.contains("draining"), "{body}");
    assert_eq!(get("/healthz").await.0, 200);
    tokio::time::timeout(Duration::from_secs(20), server.wait())
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_drain_is_bounded() {
    let gate = Gate::new(); // never opened
    let readiness = Readiness::new();
    let server = Server::new()
        .readiness(readiness.clone())
        .drain_timeout(Duration::from_millis(200));
    let (addr, mut server) = support::spawn(server, app(gate.clone(), readiness)).await;
    let http = http_echo(addr);
    let stuck = tokio::spawn(async move {
        http.oneshot(Request::new(EchoRequestJson {
            message: "stuck".into(),
        }))
        .await
    });
    gate.wait_for(1).await;
    server.begin_shutdown();
    tokio::time::timeout(Duration::from_secs(10), server.wait())
        .await
        .expect("shutdown finished at the drain bound")
        .unwrap();
    let err = stuck.await.unwrap().unwrap_err();
    assert_eq!(err.code(), kit_endpoint::Code::Unavailable, "{err}");
}
