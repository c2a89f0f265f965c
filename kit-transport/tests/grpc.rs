//! The gRPC transport end to end over loopback, with a tonic-generated
//! service (kit-testkit's `kit.test.echo.Echo`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::{Buf, BufMut, Bytes};
use futures_util::StreamExt;
use kit_endpoint::{Code, Context, Endpoint, Error, Request, endpoint_fn};
use kit_testkit::echo::echo_server::{Echo, EchoServer};
use kit_testkit::echo::{EchoReply, EchoRequest, FILE_DESCRIPTOR_SET};
use kit_transport::grpc::{
    self, GrpcClient, GrpcServer, GrpcStreamClient, MessageLimitLayer, ResponseStream,
};
use kit_transport::health::{self, Readiness};
use kit_transport::serve::Server;
use tonic::codec::{DecodeBuf, EncodeBuf};
use tonic::service::Routes;
use tonic::{Response, Status};
use tower::{Layer, ServiceExt};

type Ep = Endpoint<Request<EchoRequest>, EchoReply>;
type Handler = GrpcServer<
    Ep,
    fn(EchoRequest) -> Result<EchoRequest, Error>,
    fn(EchoReply) -> Result<EchoReply, Error>,
>;
type Items = Endpoint<Request<EchoRequest>, kit_transport::grpc::ItemStream<EchoReply>>;
type StreamHandler = GrpcServer<
    Items,
    fn(EchoRequest) -> Result<EchoRequest, Error>,
    fn(EchoReply) -> Result<EchoReply, Error>,
>;

/// The generated trait, each method one line over a kit handler.
struct EchoService {
    unary: Handler,
    stream: StreamHandler,
}

#[tonic::async_trait]
impl Echo for EchoService {
    async fn unary(&self, req: tonic::Request<EchoRequest>) -> Result<Response<EchoReply>, Status> {
        self.unary.unary(req).await
    }

    type ServerStreamStream = ResponseStream<EchoReply>;

    async fn server_stream(
        &self,
        req: tonic::Request<EchoRequest>,
    ) -> Result<Response<ResponseStream<EchoReply>>, Status> {
        self.stream.server_streaming(req).await
    }
}

fn fail(code: i32) -> Result<(), Error> {
    if code == 0 {
        return Ok(());
    }
    let code = Code::from_i32(code);
    Err(Error::new(code, format!("failed as asked: {code}"))
        .with_retry_after(Duration::from_millis(1500)))
}

fn unary_endpoint(calls: Arc<AtomicUsize>, forward: Option<Ep>) -> Ep {
    Endpoint::new(endpoint_fn(move |req: Request<EchoRequest>| {
        calls.fetch_add(1, Ordering::SeqCst);
        let forward = forward.clone();
        async move {
            if let Some(next) = forward {
                return next.oneshot(req).await;
            }
            let (ctx, body) = req.into_parts();
            if body.sleep_ms > 0 {
                tokio::time::sleep(Duration::from_millis(body.sleep_ms.into())).await;
            }
            fail(body.fail_code)?;
            Ok(EchoReply {
                message: body.message,
                deadline_ms: ctx.time_left().map_or(-1, |d| d.as_millis() as i64),
                index: 0,
                payload: body.payload,
            })
        }
    }))
}

fn stream_endpoint() -> Items {
    Endpoint::new(endpoint_fn(|req: Request<EchoRequest>| async move {
        let body = req.body;
        let items = (0..body.repeat).map(move |i| {
            Ok(EchoReply {
                message: body.message.clone(),
                deadline_ms: -1,
                index: i,
                payload: Default::default(),
            })
        });
        let end = fail(body.fail_code).err().map(Err);
        let stream = tokio_stream::iter(items.chain(end));
        Ok::<_, Error>(Box::pin(stream) as kit_transport::grpc::ItemStream<EchoReply>)
    }))
}

fn service(calls: Arc<AtomicUsize>, forward: Option<Ep>) -> EchoServer<EchoService> {
    let id: fn(EchoRequest) -> Result<EchoRequest, Error> = Ok;
    let out: fn(EchoReply) -> Result<EchoReply, Error> = Ok;
    EchoServer::new(EchoService {
        unary: GrpcServer::new(unary_endpoint(calls, forward), id, out),
        stream: GrpcServer::new(stream_endpoint(), id, out),
    })
}

async fn spawn(routes: Routes) -> (String, kit_transport::serve::RunningServer) {
    let (addr, server) = support::spawn(Server::new(), routes.prepare()).await;
    (format!("http://{addr}"), server)
}

fn client(uri: &str) -> Ep {
    let id: fn(EchoRequest) -> Result<EchoRequest, Error> = Ok;
    let out: fn(EchoReply) -> Result<EchoReply, Error> = Ok;
    Endpoint::new(GrpcClient::new(
        grpc::channel(uri).unwrap(),
        "/kit.test.echo.Echo/Unary",
        id,
        out,
    ))
}

#[tokio::test]
async fn round_trip_through_kit_and_generated_clients() {
    let calls = Arc::new(AtomicUsize::new(0));
    let (uri, _server) = spawn(Routes::new(service(calls.clone(), None))).await;
    let reply = client(&uri)
        .oneshot(Request::new(EchoRequest {
            message: "hi".into(),
            ..Default::default()
        }))
        .await
        .unwrap();
    assert_eq!(reply.message, "hi");
    assert_eq!(reply.deadline_ms, -1);

    let mut generated =
        kit_testkit::echo::echo_client::EchoClient::new(grpc::channel(&uri).unwrap());
    let reply = generated
        .unary(EchoRequest {
            message: "there".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(reply.message, "there");
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn every_code_crosses_the_wire_both_ways() {
    let (uri, _server) = spawn(Routes::new(service(Arc::default(), None))).await;
    let kit = client(&uri);
    let mut generated =
        kit_testkit::echo::echo_client::EchoClient::new(grpc::channel(&uri).unwrap());
    for code in Code::ALL {
        let req = EchoRequest {
            fail_code: code.as_i32(),
            ..Default::default()
        };
        let status = generated.unary(req.clone()).await.unwrap_err();
        assert_eq!(status.code() as i32, code.as_i32());
        assert_eq!(
            status.metadata().get("grpc-retry-pushback-ms").unwrap(),
            "1500"
        );
        let err = kit.clone().oneshot(Request::new(req)).await.unwrap_err();
        assert_eq!(err.code(), code);
        assert_eq!(err.message(), format!("failed as asked: {code}"));
        assert_eq!(err.retry_after(), Some(Duration::from_millis(1500)));
    }
}

#[tokio::test]
async fn a_deadline_set_by_a_client_expires_downstream_after_one_hop() {
    let b_calls = Arc::new(AtomicUsize::new(0));
    let (b_uri, _b) = spawn(Routes::new(service(b_calls.clone(), None))).await;
    let (a_uri, _a) = spawn(Routes::new(service(Arc::default(), Some(client(&b_uri))))).await;

    // a generous deadline reaches B, shortened by the hop
    let ctx = Context::new().with_timeout(Duration::from_secs(30));
    let reply = client(&a_uri)
        .oneshot(Request::with_context(ctx, EchoRequest::default()))
        .await
        .unwrap();
    assert!(
        reply.deadline_ms > 0 && reply.deadline_ms <= 30_000,
        "{}",
        reply.deadline_ms
    );

    // a short one expires at B, long before its 10 s sleep ends
    let ctx = Context::new().with_timeout(Duration::from_millis(300));
    let started = tokio::time::Instant::now();
    let err = client(&a_uri)
        .oneshot(Request::with_context(
            ctx,
            EchoRequest {
                sleep_ms: 10_000,
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::DeadlineExceeded, "{err}");
    assert_eq!(b_calls.load(Ordering::SeqCst), 2);
    assert!(
        started.elapsed() < Duration::from_secs(9),
        "the deadline did not bound the call"
    );
}

/// Sends raw bytes as the request message, to test what the server does
/// with malformed protobuf.
#[derive(Default, Clone)]
struct Raw;

struct RawEncoder;
struct RawDecoder;

impl tonic::codec::Codec for Raw {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = RawEncoder;
    type Decoder = RawDecoder;
    fn encoder(&mut self) -> RawEncoder {
        RawEncoder
    }
    fn decoder(&mut self) -> RawDecoder {
        RawDecoder
    }
}

impl tonic::codec::Encoder for RawEncoder {
    type Item = Bytes;
    type Error = Status;
    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put(item);
        Ok(())
    }
}

impl tonic::codec::Decoder for RawDecoder {
    type Item = Bytes;
    type Error = Status;
    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}

async fn send_raw(uri: &str, bytes: Bytes) -> Status {
    let mut grpc = tonic::client::Grpc::new(grpc::channel(uri).unwrap());
    grpc.ready().await.unwrap();
    grpc.unary(
        tonic::Request::new(bytes),
        http::uri::PathAndQuery::from_static("/kit.test.echo.Echo/Unary"),
        Raw,
    )
    .await
    .unwrap_err()
}

#[tokio::test]
async fn malformed_and_truncated_protobuf_is_invalid_argument() {
    let calls = Arc::new(AtomicUsize::new(0));
    let (uri, _server) = spawn(Routes::new(service(calls.clone(), None))).await;
    let cases: &[&[u8]] = &[
        &[0x0a, 0x64, b'a', b'b'],       // string field claims 100 bytes, has 2
        &[0xff, 0xff, 0xff, 0xff, 0xff], // a varint key that never ends
        &[0x0a, 0x02, 0xff, 0xfe],       // a string that is not UTF-8
        &[0x07],                         // field 0, an invalid tag
    ];
    for bytes in cases {
        let status = send_raw(&uri, Bytes::from_static(bytes)).await;
        assert_eq!(
            status.code(),
            tonic::Code::InvalidArgument,
            "{bytes:?}: {status:?}"
        );
        assert!(
            status.message().starts_with("malformed protobuf message"),
            "{status:?}"
        );
    }
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn oversized_messages_are_resource_exhausted() {
    let calls = Arc::new(AtomicUsize::new(0));
    let svc = service(calls.clone(), None).max_decoding_message_size(1024);
    let app = MessageLimitLayer.layer(Routes::new(svc).prepare());
    let (addr, _server) = support::spawn(Server::new(), app).await;
    let err = client(&format!("http://{addr}"))
        .oneshot(Request::new(EchoRequest {
            payload: vec![7; 4096],
            ..Default::default()
        }))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::ResourceExhausted, "{err}");
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    // a message under the limit still works
    let reply = client(&format!("http://{addr}"))
        .oneshot(Request::new(EchoRequest {
            payload: vec![7; 100],
            ..Default::default()
        }))
        .await
        .unwrap();
    assert_eq!(reply.payload.len(), 100);
}

#[tokio::test]
async fn server_streaming_sends_items_then_the_error() {
    let (uri, _server) = spawn(Routes::new(service(Arc::default(), None))).await;
    let id: fn(EchoRequest) -> Result<EchoRequest, Error> = Ok;
    let out: fn(EchoReply) -> Result<EchoReply, Error> = Ok;
    let streaming = GrpcStreamClient::new(
        grpc::channel(&uri).unwrap(),
        "/kit.test.echo.Echo/ServerStream",
        id,
        out,
    );
    let req = EchoRequest {
        message: "tick".into(),
        repeat: 3,
        fail_code: Code::Aborted.as_i32(),
        ..Default::default()
    };
    let items: Vec<Result<EchoReply, Error>> = streaming
        .oneshot(Request::new(req))
        .await
        .unwrap()
        .collect()
        .await;
    assert_eq!(items.len(), 4);
    for (i, item) in items[..3].iter().enumerate() {
        assert_eq!(item.as_ref().unwrap().index, i as u32);
    }
    assert_eq!(items[3].as_ref().unwrap_err().code(), Code::Aborted);
}

#[tokio::test]
async fn health_follows_readiness() {
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

    let readiness = Readiness::new();
    let routes = Routes::new(service(Arc::default(), None)).add_service(health::grpc_service(
        readiness.clone(),
        &["kit.test.echo.Echo"],
    ));
    let (uri, _server) = spawn(routes).await;
    let mut health = HealthClient::new(grpc::channel(&uri).unwrap());
    let mut watch = health
        .watch(HealthCheckRequest {
            service: "kit.test.echo.Echo".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let first = watch.message().await.unwrap().unwrap();
    assert_eq!(first.status(), ServingStatus::Serving);
    readiness.set_ready(false);
    let next = watch.message().await.unwrap().unwrap();
    assert_eq!(next.status(), ServingStatus::NotServing);
    let overall = health
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .unwrap();
    assert_eq!(overall.into_inner().status(), ServingStatus::NotServing);
}

#[tokio::test]
async fn reflection_lists_the_services() {
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

    let routes = Routes::new(service(Arc::default(), None))
        .add_service(grpc::reflection(FILE_DESCRIPTOR_SET).unwrap());
    let (uri, _server) = spawn(routes).await;
    let mut client = ServerReflectionClient::new(grpc::channel(&uri).unwrap());
    let req = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = client
        .server_reflection_info(tokio_stream::iter([req]))
        .await
        .unwrap()
        .into_inner();
    let response = responses.message().await.unwrap().unwrap();
    let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
        panic!("unexpected reflection answer");
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    assert!(
        names.contains(&"kit.test.echo.Echo".to_string()),
        "{names:?}"
    );
    assert!(grpc::reflection(b"\xff\xff not a descriptor").is_err());
}

#[tokio::test]
async fn an_unreachable_server_is_unavailable() {
    let port = kit_testkit::free_port().unwrap();
    let err = client(&format!("http://127.0.0.1:{port}"))
        .oneshot(Request::new(EchoRequest::default()))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err}");
}

#[tokio::test]
async fn the_finalizer_tells_calls_refused_before_the_endpoint() {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let options = grpc::GrpcServerOptions::new().finalizer(move |f| {
        let _ = tx.send((f.code, f.endpoint_called));
    });
    let calls = Arc::new(AtomicUsize::new(0));
    let decode: fn(EchoRequest) -> Result<EchoRequest, Error> = |req| {
        if req.message == "bad" {
            return Err(Error::invalid_argument("bad message"));
        }
        Ok(req)
    };
    let out: fn(EchoReply) -> Result<EchoReply, Error> = Ok;
    let handler =
        GrpcServer::with_options(unary_endpoint(calls.clone(), None), decode, out, options);
    let request = |message: &str, fail_code: i32| {
        tonic::Request::new(EchoRequest {
            message: message.into(),
            fail_code,
            ..EchoRequest::default()
        })
    };

    handler.unary(request("ok", 0)).await.unwrap();
    handler
        .unary(request("fails", Code::NotFound as i32))
        .await
        .unwrap_err();
    handler.unary(request("bad", 0)).await.unwrap_err();
    let mut bad_timeout = request("ok", 0);
    bad_timeout
        .metadata_mut()
        .insert("grpc-timeout", "soon".parse().unwrap());
    handler.unary(bad_timeout).await.unwrap_err();

    let mut seen = Vec::new();
    while let Ok(f) = rx.try_recv() {
        seen.push(f);
    }
    assert_eq!(
        seen,
        [
            (None, true),
            (Some(Code::NotFound), true),
            (Some(Code::InvalidArgument), false),
            (Some(Code::InvalidArgument), false),
        ]
    );
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_streaming_call_is_finalized_when_its_stream_ends_fails_or_is_dropped() {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let options = grpc::GrpcServerOptions::new().finalizer(move |f| {
        let _ = tx.send((f.code, f.cancelled, f.endpoint_called));
    });
    let id: fn(EchoRequest) -> Result<EchoRequest, Error> = Ok;
    let out: fn(EchoReply) -> Result<EchoReply, Error> = Ok;
    let handler = GrpcServer::with_options(stream_endpoint(), id, out, options);
    let request = |repeat: u32, fail_code: i32| {
        tonic::Request::new(EchoRequest {
            message: "m".into(),
            repeat,
            fail_code,
            ..EchoRequest::default()
        })
    };

    // Not finalized when the stream is returned, only when it ends.
    let mut replies = handler
        .server_streaming(request(2, 0))
        .await
        .unwrap()
        .into_inner();
    replies.next().await.unwrap().unwrap();
    assert!(rx.try_recv().is_err(), "finalized while still streaming");
    assert!(replies.next().await.unwrap().is_ok());
    assert!(replies.next().await.is_none());
    assert_eq!(rx.try_recv().unwrap(), (None, false, true));

    // An error item ends the stream and is the call's outcome.
    let replies = handler
        .server_streaming(request(1, Code::Internal.as_i32()))
        .await
        .unwrap()
        .into_inner();
    let all: Vec<_> = replies.collect().await;
    assert_eq!(all.len(), 2);
    assert_eq!(all[1].as_ref().unwrap_err().code(), tonic::Code::Internal);
    assert_eq!(rx.try_recv().unwrap(), (Some(Code::Internal), false, true));

    // The client goes away mid-stream.
    let mut replies = handler
        .server_streaming(request(5, 0))
        .await
        .unwrap()
        .into_inner();
    replies.next().await.unwrap().unwrap();
    drop(replies);
    assert_eq!(rx.try_recv().unwrap(), (Some(Code::Cancelled), true, true));
    assert!(rx.try_recv().is_err(), "once per call");
}
