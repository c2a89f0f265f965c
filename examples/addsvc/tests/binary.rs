//! The `addsvc` binary as an operator runs it: its debug listener's
//! `/metrics` counts what the endpoints served (`requests_total`) and what
//! the HTTP transport refused before any endpoint saw it
//! (`requests_rejected_total`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use kit_testkit::process::{ChildServer, Spec};

fn free_addr() -> SocketAddr {
    ([127, 0, 0, 1], kit_testkit::free_port().unwrap()).into()
}

async fn send(addr: SocketAddr, method: &str, uri: &str, body: &'static str) -> (u16, String) {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut send, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(conn);
    let req = http::Request::builder()
        .method(method)
        .uri(uri)
        .header("host", addr.to_string())
        .body(Full::new(Bytes::from_static(body.as_bytes())))
        .unwrap();
    let response = send.send_request(req).await.unwrap();
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn metrics_count_served_and_refused_requests() {
    let (debug, http) = (free_addr(), free_addr());
    let _server = ChildServer::spawn(Spec {
        binary: env!("CARGO_BIN_EXE_addsvc"),
        package: "addsvc (cargo build -p addsvc)",
        args: vec![
            "-debug.addr".into(),
            debug.to_string().into(),
            "-http-addr".into(),
            http.to_string().into(),
            "-grpc-addr".into(),
            "".into(),
            "-jsonrpc-addr".into(),
            "".into(),
        ],
        ready_line: "transport=http",
        ready_timeout: Duration::from_secs(60),
    })
    .unwrap();

    let (status, body) = send(http, "POST", "/sum", r#"{"a":1,"b":2}"#).await;
    assert_eq!((status, body.trim()), (200, r#"{"v":3}"#));
    assert_eq!(send(http, "POST", "/sum", "{not json").await.0, 400);

    let (status, text) = send(debug, "GET", "/metrics", "").await;
    assert_eq!(status, 200);
    for line in [
        r#"requests_total{endpoint="Sum",code="ok"} 1"#,
        r#"requests_rejected_total{transport="http",code="invalid_argument"} 1"#,
    ] {
        assert!(text.contains(line), "missing {line} in\n{text}");
    }
}
