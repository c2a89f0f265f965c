//! addsvc end to end over loopback: kit's clients against kit's servers on
//! every transport, the exact bytes Go kit's clients send, business errors
//! everywhere, and bad input.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::net::SocketAddr;

use addsvc::endpoints::Set;
use addsvc::service::{BasicService, Service, ServiceError};
use addsvc::transport::{grpc, http, jsonrpc};
use bytes::Bytes;
use http_body_util::{Full, StreamBody};
use kit_endpoint::Code;
use kit_transport::http::ServerOptions;
use kit_transport::serve::{RunningServer, Server};
use support::{exchange, post};

struct Servers {
    http: SocketAddr,
    grpc: SocketAddr,
    jsonrpc: SocketAddr,
    _running: Vec<RunningServer>,
}

async fn serve(app: axum::Router) -> (SocketAddr, RunningServer) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    (addr, Server::new().spawn(listener, app))
}

async fn servers() -> Servers {
    let set = Set::new(BasicService);
    let (http, a) = serve(http::router(&set, ServerOptions::new())).await;
    let grpc_app =
        tonic::service::Routes::new(grpc::AddServer::new(&set, Default::default()).into_service())
            .into_axum_router();
    let (grpc, b) = serve(grpc_app).await;
    let (jsonrpc, c) = serve(jsonrpc::router(&set, ServerOptions::new())).await;
    Servers {
        http,
        grpc,
        jsonrpc,
        _running: vec![a, b, c],
    }
}

fn clients(s: &Servers) -> Vec<(&'static str, Set)> {
    vec![
        (
            "http",
            http::client(&format!("http://{}", s.http), Default::default()).unwrap(),
        ),
        ("grpc", grpc::client(&format!("http://{}", s.grpc)).unwrap()),
        (
            "jsonrpc",
            jsonrpc::client(&format!("http://{}/", s.jsonrpc), Default::default()).unwrap(),
        ),
    ]
}

#[tokio::test]
async fn kit_clients_and_servers_agree_on_every_transport() {
    let s = servers().await;
    for (name, client) in clients(&s) {
        assert_eq!(client.sum(1, 2).await, Ok(3), "{name}");
        assert_eq!(client.sum(-5, 2).await, Ok(-3), "{name}");
        assert_eq!(
            client.concat("ab", "cd").await.as_deref(),
            Ok("abcd"),
            "{name}"
        );
        assert_eq!(
            client.concat("<&>", "\"\n").await.as_deref(),
            Ok("<&>\"\n"),
            "{name}"
        );
        assert_eq!(client.concat("", "").await.as_deref(), Ok(""), "{name}");
    }
}

#[tokio::test]
async fn business_errors_come_back_on_every_transport() {
    let s = servers().await;
    for (name, client) in clients(&s) {
        assert_eq!(
            client.sum(0, 0).await,
            Err(ServiceError::TwoZeroes),
            "{name}"
        );
        assert_eq!(
            client.sum(i64::from(i32::MAX), 1).await,
            Err(ServiceError::IntOverflow),
            "{name}"
        );
        assert_eq!(
            client.concat("123456", "789012").await,
            Err(ServiceError::MaxSizeExceeded),
            "{name}"
        );
    }
}

#[tokio::test]
async fn an_unreachable_server_is_a_transport_error() {
    let port = kit_testkit::free_port().unwrap();
    let addr = format!("127.0.0.1:{port}");
    let sets = [
        http::client(&format!("http://{addr}"), Default::default()).unwrap(),
        grpc::client(&format!("http://{addr}")).unwrap(),
        jsonrpc::client(&format!("http://{addr}/"), Default::default()).unwrap(),
    ];
    for set in sets {
        match set.sum(1, 2).await {
            Err(ServiceError::Transport(e)) => assert_eq!(e.code(), Code::Unavailable, "{e}"),
            other => panic!("expected a transport error, got {other:?}"),
        }
    }
}

/// One raw HTTP/1.1 exchange.
#[tokio::test]
async fn the_bytes_go_kits_http_client_sends_are_accepted() {
    let s = servers().await;
    // Go kit's client: Go's json.Encoder output of SumRequest{A: 1, B: 2}
    // (no JSON tags), chunked, with no Content-Type.
    let chunks = tokio_stream::iter([Ok::<_, std::convert::Infallible>(hyper::body::Frame::data(
        Bytes::from_static(b"{\"A\":1,\"B\":2}\n"),
    ))]);
    let req = ::http::Request::post("/sum")
        .header("host", s.http.to_string())
        .header("transfer-encoding", "chunked")
        .header("user-agent", "Go-http-client/1.1")
        .body(StreamBody::new(chunks))
        .unwrap();
    let (parts, body) = exchange(s.http, req).await;
    assert_eq!(parts.status, 200);
    assert_eq!(
        parts.headers["content-type"],
        "application/json; charset=utf-8"
    );
    assert_eq!(body, "{\"v\":3}\n");

    let (parts, body) = exchange(
        s.http,
        post(s.http, "/concat", &b"{\"A\":\"x\",\"B\":\"y\"}\n"[..]),
    )
    .await;
    assert_eq!(
        (parts.status.as_u16(), body.as_str()),
        (200, "{\"v\":\"xy\"}\n")
    );
    let (parts, body) = exchange(s.http, post(s.http, "/sum", b"{\"a\":0,\"b\":0}")).await;
    assert_eq!(
        (parts.status.as_u16(), body.as_str()),
        (400, "{\"error\":\"can't sum two zeroes\"}\n")
    );
    // Go kit routes ignore the method
    let req = ::http::Request::put("/sum")
        .header("host", s.http.to_string())
        .body(Full::new(Bytes::from_static(b"{\"a\":2,\"b\":2}")))
        .unwrap();
    assert_eq!(exchange(s.http, req).await.1, "{\"v\":4}\n");
}

#[tokio::test]
async fn the_bytes_go_kits_jsonrpc_client_sends_are_accepted() {
    let s = servers().await;
    // Go kit's JSON-RPC client sends an empty version and ids from 0.
    let (parts, body) = exchange(
        s.jsonrpc,
        post(
            s.jsonrpc,
            "/",
            br#"{"jsonrpc":"","method":"sum","params":{"a":1,"b":2},"id":0}"#,
        ),
    )
    .await;
    assert_eq!(parts.status, 200);
    assert_eq!(
        body,
        "{\"jsonrpc\":\"2.0\",\"result\":{\"v\":3},\"id\":0}\n"
    );
    // and business errors are not lost, as they are in Go kit
    let (_, body) = exchange(
        s.jsonrpc,
        post(
            s.jsonrpc,
            "/any/path",
            br#"{"jsonrpc":"2.0","method":"sum","params":{"a":0,"b":0},"id":"x"}"#,
        ),
    )
    .await;
    assert_eq!(
        body,
        "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32000,\"message\":\"can't sum two zeroes\"},\"id\":\"x\"}\n"
    );
}

#[tokio::test]
async fn bad_input_gets_a_clear_error_on_every_transport() {
    let s = servers().await;
    for body in [
        &b""[..],
        b"{",
        b"[1]",
        b"{\"a\":\"1\",\"b\":2}",
        b"{\"a\":1.5}",
        b"\xff",
    ] {
        let (parts, text) = exchange(s.http, post(s.http, "/sum", body)).await;
        assert_eq!(parts.status, 400, "{body:?}");
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["code"], "invalid_argument", "{text}");
    }
    let cases: [(&[u8], i64); 5] = [
        (b"not json", -32700),
        (b"[]", -32600),
        (br#"{"method":"sum","params":{"a":"x"},"id":1}"#, -32602),
        (br#"{"method":"mul","id":1}"#, -32601),
        (br#"{"params":{},"id":1}"#, -32600),
    ];
    for (body, code) in cases {
        let (parts, text) = exchange(s.jsonrpc, post(s.jsonrpc, "/", body)).await;
        assert_eq!(parts.status, 200);
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["error"]["code"], code, "{text}");
    }
    let get = ::http::Request::get("/")
        .header("host", "x")
        .body(Full::new(Bytes::new()))
        .unwrap();
    assert_eq!(exchange(s.jsonrpc, get).await.0.status, 405);

    // gRPC: a malformed message is INVALID_ARGUMENT
    let grpc_url = format!("http://{}", s.grpc);
    let mut raw = tonic::client::Grpc::new(kit_transport::grpc::channel(&grpc_url).unwrap());
    raw.ready().await.unwrap();
    let status = raw
        .unary(
            tonic::Request::new(addsvc::pb::ConcatRequest {
                a: "x".into(),
                b: String::new(),
            }),
            ::http::uri::PathAndQuery::from_static("/pb.Add/Sum"),
            kit_transport::grpc::Codec::<addsvc::pb::ConcatRequest, addsvc::pb::SumReply>::default(
            ),
        )
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
}
