//! The `stream` binary's `/metrics` as an operator reads it: requests its
//! endpoints served under `requests_total`, requests the transport refused
//! before any endpoint saw them (a body that is not JSON, one over
//! `-max.body`) under `requests_rejected_total`, and open subscriptions as
//! `Subscribe` requests in flight.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use kit_testkit::process::{ChildServer, Spec};

fn free_addr() -> SocketAddr {
    ([127, 0, 0, 1], kit_testkit::free_port().unwrap()).into()
}

/// The binary's HTTP and gRPC addresses.
fn server(dir: &std::path::Path) -> (ChildServer, SocketAddr, SocketAddr) {
    let (addr, grpc) = (free_addr(), free_addr());
    let spec = Spec {
        binary: env!("CARGO_BIN_EXE_stream"),
        package: "stream (cargo build -p stream)",
        args: vec![
            "-http.address".into(),
            addr.to_string().into(),
            "-grpc.address".into(),
            grpc.to_string().into(),
            "-data.dir".into(),
            dir.as_os_str().to_owned(),
            "-max.body".into(),
            "1024".into(),
        ],
        ready_line: "stream: grpc listening on",
        ready_timeout: Duration::from_secs(60),
    };
    (ChildServer::spawn(spec).unwrap(), addr, grpc)
}

async fn send(addr: SocketAddr, method: &str, uri: &str, body: impl Into<Bytes>) -> (u16, String) {
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
        .body(Full::new(body.into()))
        .unwrap();
    let response = send.send_request(req).await.unwrap();
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn metrics_count_what_the_endpoints_served_and_what_the_transport_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, addr, grpc) = server(dir.path());
    let mut client = stream::pb::stream_client::StreamClient::new(
        kit_transport::grpc::channel(&format!("http://{grpc}")).unwrap(),
    );
    let _changes = client
        .subscribe(stream::pb::SubscribeRequest {
            keys: vec!["key".into()],
        })
        .await
        .unwrap()
        .into_inner();

    let good = r#"[{"key":"a2V5","score":1,"member":"bTE="}]"#;
    assert_eq!(send(addr, "POST", "/", good).await.0, 200);
    assert_eq!(send(addr, "POST", "/", "[{").await.0, 400);
    assert_eq!(send(addr, "POST", "/", "not json at all").await.0, 400);
    let (status, _) = send(addr, "POST", "/", vec![b' '; 4096]).await;
    assert_eq!(status, 413);

    let (status, text) = send(addr, "GET", "/metrics", "").await;
    assert_eq!(status, 200);
    for line in [
        r#"requests_total{endpoint="Insert",code="ok"} 1"#,
        r#"requests_rejected_total{transport="http",code="invalid_argument"} 2"#,
        r#"requests_rejected_total{transport="http",code="resource_exhausted"} 1"#,
        r#"requests_in_flight{endpoint="Subscribe"} 1"#,
    ] {
        assert!(text.contains(line), "missing {line} in\n{text}");
    }
    assert!(
        !text.contains(r#"requests_total{endpoint="Insert",code="invalid_argument"}"#),
        "the refused requests never reached the endpoint:\n{text}"
    );
}
