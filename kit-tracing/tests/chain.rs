//! A two-hop chain exported over real OTLP: an HTTP client (service
//! `caller`) → a kit HTTP server (`front`) whose endpoint calls a gRPC
//! client → a kit gRPC server (`back`). Each service has its own tracer
//! provider and exports over OTLP/gRPC to kit-testkit's receiver.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use http::Method;
use kit_endpoint::{Code, Endpoint, Error, Request, endpoint_fn};
use kit_testkit::OtlpReceiver;
use kit_testkit::echo::echo_server::{Echo, EchoServer};
use kit_testkit::echo::{EchoReply, EchoRequest};
use kit_testkit::otlp::proto::trace::v1::span::SpanKind;
use kit_testkit::otlp::proto::trace::v1::status::StatusCode;
use kit_testkit::otlp::{Received, ReceivedSpan};
use kit_tracing::{Setup, Telemetry, TraceLayer, TracePropagator, semconv};
use kit_transport::grpc::{self, GrpcClient, GrpcServer, GrpcServerOptions, ResponseStream};
use kit_transport::http::{ClientOptions, HttpClient, HttpServer, Pool, ServerOptions, json};
use kit_transport::serve::{RunningServer, Server};
use serde::{Deserialize, Serialize};
use tonic::service::Routes;
use tower::{Layer, ServiceExt};

const ECHO: &str = "kit.test.echo.Echo";
const UNARY: &str = "kit.test.echo.Echo/Unary";

#[derive(Serialize, Deserialize, Debug, Clone)]
struct Ask {
    message: String,
    fail_code: i32,
}

#[derive(Serialize, Deserialize, Debug)]
struct Answer {
    message: String,
}

type Unary = GrpcServer<
    Endpoint<Request<EchoRequest>, EchoReply>,
    fn(EchoRequest) -> Result<EchoRequest, Error>,
    fn(EchoReply) -> Result<EchoReply, Error>,
>;

struct Back(Unary);

#[tonic::async_trait]
impl Echo for Back {
    async fn unary(
        &self,
        req: tonic::Request<EchoRequest>,
    ) -> Result<tonic::Response<EchoReply>, tonic::Status> {
        self.0.unary(req).await
    }

    type ServerStreamStream = ResponseStream<EchoReply>;

    async fn server_stream(
        &self,
        _: tonic::Request<EchoRequest>,
    ) -> Result<tonic::Response<ResponseStream<EchoReply>>, tonic::Status> {
        Err(tonic::Status::unimplemented("not in this test"))
    }
}

async fn listen() -> (tokio::net::TcpListener, std::net::SocketAddr) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    (listener, addr)
}

/// The far end: a gRPC server whose endpoint fails as asked.
async fn back(telemetry: &Telemetry) -> (std::net::SocketAddr, RunningServer) {
    let endpoint = TraceLayer::server(telemetry.tracer(), UNARY)
        .grpc(ECHO, "Unary")
        .layer(endpoint_fn(|req: Request<EchoRequest>| async move {
            tracing::info!("back answering");
            let body = req.body;
            if body.fail_code != 0 {
                return Err(Error::new(
                    Code::from_i32(body.fail_code),
                    "failed as asked",
                ));
            }
            Ok(EchoReply {
                message: body.message,
                ..Default::default()
            })
        }));
    let id: fn(EchoRequest) -> Result<EchoRequest, Error> = Ok;
    let out: fn(EchoReply) -> Result<EchoReply, Error> = Ok;
    let handler = GrpcServer::with_options(
        Endpoint::new(endpoint),
        id,
        out,
        GrpcServerOptions::new().propagator(TracePropagator::new()),
    );
    let routes = Routes::new(EchoServer::new(Back(handler))).prepare();
    let (listener, addr) = listen().await;
    (addr, Server::new().spawn(listener, routes))
}

/// The middle: an HTTP server whose endpoint calls the back over gRPC.
async fn front(
    telemetry: &Telemetry,
    back: std::net::SocketAddr,
) -> (std::net::SocketAddr, RunningServer) {
    let id: fn(EchoRequest) -> Result<EchoRequest, Error> = Ok;
    let out: fn(EchoReply) -> Result<EchoReply, Error> = Ok;
    let grpc_client = TraceLayer::client(telemetry.tracer(), UNARY)
        .grpc(ECHO, "Unary")
        .server_address(back.ip().to_string(), back.port())
        .layer(
            GrpcClient::new(
                grpc::channel(&format!("http://{back}")).unwrap(),
                "/kit.test.echo.Echo/Unary",
                id,
                out,
            )
            .propagator(TracePropagator::new()),
        );
    let endpoint = TraceLayer::server(telemetry.tracer(), "POST /echo")
        .http(&Method::POST)
        .http_route("/echo")
        .layer(endpoint_fn(move |req: Request<Ask>| {
            let client = grpc_client.clone();
            async move {
                tracing::info!(message = %req.body.message, "front calling back");
                // The request's context carries the front span on.
                let req = req.map(|ask| EchoRequest {
                    message: ask.message,
                    fail_code: ask.fail_code,
                    ..Default::default()
                });
                let reply = client.oneshot(req).await?;
                Ok::<_, Error>(Answer {
                    message: reply.message,
                })
            }
        }));
    let app = Router::new().route_service(
        "/echo",
        HttpServer::with_options(
            endpoint,
            json::decode::<Ask>,
            json::encode::<Answer>,
            ServerOptions::new().propagator(TracePropagator::new()),
        ),
    );
    let (listener, addr) = listen().await;
    (addr, Server::new().spawn(listener, app))
}

type Caller = Endpoint<Request<Ask>, Answer>;

/// The first hop: a kit HTTP client with a client span.
fn caller(telemetry: &Telemetry, front: std::net::SocketAddr) -> Caller {
    let url = format!("http://{front}/echo");
    let client = HttpClient::with_options(
        Pool::new(),
        Method::POST,
        url.parse().unwrap(),
        json::encode_request::<Ask>,
        json::decode_response::<Answer>,
        ClientOptions::new().propagator(TracePropagator::new()),
    );
    Endpoint::new(
        TraceLayer::client(telemetry.tracer(), "POST")
            .http(&Method::POST)
            .url(url)
            .server_address(front.ip().to_string(), front.port())
            .layer(client),
    )
}

/// The whole chain, exporting to one receiver.
struct Chain {
    receiver: OtlpReceiver,
    telemetry: Arc<Vec<Telemetry>>,
    caller: Caller,
    _servers: (RunningServer, RunningServer),
}

impl Chain {
    async fn start() -> Chain {
        let receiver = OtlpReceiver::start().await.unwrap();
        let setup = |name: &str| {
            Setup::new(name)
                .version("0.0.1")
                .endpoint(receiver.grpc_endpoint())
                .build()
                .unwrap()
        };
        let telemetry = vec![setup("caller"), setup("front"), setup("back")];
        let (back_addr, back) = back(&telemetry[2]).await;
        let (front_addr, front) = front(&telemetry[1], back_addr).await;
        let caller = caller(&telemetry[0], front_addr);
        Chain {
            receiver,
            telemetry: Arc::new(telemetry),
            caller,
            _servers: (front, back),
        }
    }

    /// Makes one call, exports, and returns its four spans ordered caller
    /// client, front server, front client, back server.
    async fn call(&self, fail_code: i32) -> (Result<Answer, Error>, [ReceivedSpan; 4]) {
        let before = self.receiver.spans().len();
        let ask = Ask {
            message: "hello".into(),
            fail_code,
        };
        let result = self.caller.clone().oneshot(Request::new(ask)).await;
        let telemetry = self.telemetry.clone();
        // A flush blocks until the exporter, which runs on this runtime, is done.
        tokio::task::spawn_blocking(move || {
            for t in telemetry.iter() {
                t.flush().unwrap();
            }
        })
        .await
        .unwrap();
        let spans = self
            .receiver
            .wait_for_spans(before + 4, Duration::from_secs(10))
            .await
            .unwrap();
        let mine = &spans[before..];
        assert_eq!(mine.len(), 4, "{mine:#?}");
        let find = |service: &str, kind: SpanKind| {
            mine.iter()
                .find(|s| s.service_name() == Some(service) && s.kind() == kind)
                .unwrap_or_else(|| panic!("no {kind:?} span from {service}"))
                .clone()
        };
        let spans = [
            find("caller", SpanKind::Client),
            find("front", SpanKind::Server),
            find("front", SpanKind::Client),
            find("back", SpanKind::Server),
        ];
        (result, spans)
    }
}

fn assert_one_trace_linked_in_order(spans: &[ReceivedSpan; 4]) {
    let trace = spans[0].trace_id();
    for s in spans {
        assert_eq!(s.trace_id(), trace, "{s}");
        assert_eq!(s.via, Received::Grpc);
    }
    assert_eq!(spans[0].parent_span_id(), None, "{}", spans[0]);
    for pair in spans.windows(2) {
        assert_eq!(
            pair[1].parent_span_id().as_deref(),
            Some(pair[0].span_id().as_str()),
            "{} should be the child of {}",
            pair[1],
            pair[0]
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_trace_across_two_hops_with_statuses_and_logs() {
    let logs = support::capture_logs();
    let chain = Chain::start().await;

    // success: one trace, linked hop by hop, nothing marked as an error
    let (result, spans) = chain.call(0).await;
    assert_eq!(result.unwrap().message, "hello");
    assert_one_trace_linked_in_order(&spans);
    let [caller, front_server, front_client, back_server] = &spans;
    assert_eq!(caller.name(), "POST");
    assert_eq!(front_server.name(), "POST /echo");
    assert_eq!(front_client.name(), UNARY);
    assert_eq!(back_server.name(), UNARY);
    for s in &spans {
        assert_eq!(s.status_code(), StatusCode::Unset, "{s}");
        assert_eq!(s.resource_str("service.version"), Some("0.0.1"));
        assert!(s.resource_str("service.instance.id").is_some());
    }
    assert_eq!(
        caller.str_attribute(semconv::HTTP_REQUEST_METHOD),
        Some("POST")
    );
    assert_eq!(
        caller.int_attribute(semconv::HTTP_RESPONSE_STATUS_CODE),
        Some(200)
    );
    assert_eq!(
        front_server.str_attribute(semconv::HTTP_ROUTE),
        Some("/echo")
    );
    assert_eq!(
        front_server.int_attribute(semconv::HTTP_RESPONSE_STATUS_CODE),
        Some(200)
    );
    for s in [front_client, back_server] {
        assert_eq!(s.str_attribute(semconv::RPC_SYSTEM), Some("grpc"));
        assert_eq!(s.str_attribute(semconv::RPC_SERVICE), Some(ECHO));
        assert_eq!(s.str_attribute(semconv::RPC_METHOD), Some("Unary"));
        assert_eq!(s.int_attribute(semconv::RPC_GRPC_STATUS_CODE), Some(0));
    }
    assert_eq!(
        front_client.str_attribute(semconv::SERVER_ADDRESS),
        Some("127.0.0.1")
    );

    // log lines written inside the endpoints carry their span's ids
    let lines = logs.lines();
    let line = |text: &str| {
        lines
            .iter()
            .find(|l| l.contains(text))
            .unwrap_or_else(|| panic!("no log line {text:?} in {lines:#?}"))
            .clone()
    };
    let front_line = line("front calling back");
    assert!(
        front_line.contains(&format!("trace_id={}", caller.trace_id())),
        "{front_line}"
    );
    assert!(
        front_line.contains(&format!("span_id={}", front_server.span_id())),
        "{front_line}"
    );
    let back_line = line("back answering");
    assert!(
        back_line.contains(&format!("trace_id={}", caller.trace_id())),
        "{back_line}"
    );
    assert!(
        back_line.contains(&format!("span_id={}", back_server.span_id())),
        "{back_line}"
    );

    // a server fault at the far end: every span on the way back is an error
    let (result, spans) = chain.call(Code::Internal.as_i32()).await;
    assert_eq!(result.unwrap_err().code(), Code::Internal);
    assert_one_trace_linked_in_order(&spans);
    assert_ne!(
        spans[0].trace_id(),
        caller.trace_id(),
        "a new call is a new trace"
    );
    for s in &spans {
        assert_eq!(s.status_code(), StatusCode::Error, "{s}");
        assert_eq!(s.status_message(), "failed as asked", "{s}");
        assert_eq!(
            s.str_attribute(semconv::ERROR_TYPE),
            Some("internal"),
            "{s}"
        );
    }
    assert_eq!(
        spans[0].int_attribute(semconv::HTTP_RESPONSE_STATUS_CODE),
        Some(500)
    );
    assert_eq!(
        spans[1].int_attribute(semconv::HTTP_RESPONSE_STATUS_CODE),
        Some(500)
    );
    assert_eq!(
        spans[2].int_attribute(semconv::RPC_GRPC_STATUS_CODE),
        Some(13)
    );
    assert_eq!(
        spans[3].int_attribute(semconv::RPC_GRPC_STATUS_CODE),
        Some(13)
    );

    // a caller's mistake: clients fail, servers did their job
    let (result, spans) = chain.call(Code::InvalidArgument.as_i32()).await;
    assert_eq!(result.unwrap_err().code(), Code::InvalidArgument);
    assert_one_trace_linked_in_order(&spans);
    let statuses: Vec<StatusCode> = spans.iter().map(ReceivedSpan::status_code).collect();
    assert_eq!(
        statuses,
        [
            StatusCode::Error,
            StatusCode::Unset,
            StatusCode::Error,
            StatusCode::Unset
        ]
    );
    assert_eq!(
        spans[1].int_attribute(semconv::HTTP_RESPONSE_STATUS_CODE),
        Some(400)
    );
    assert_eq!(
        spans[3].int_attribute(semconv::RPC_GRPC_STATUS_CODE),
        Some(3)
    );
    assert_eq!(spans[3].str_attribute(semconv::ERROR_TYPE), None);
}
