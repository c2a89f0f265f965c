//! The `addsvc` binary as an operator runs it: its debug listener's
//! `/metrics` counts what the endpoints served (`requests_total`) and what
//! the HTTP transport refused before any endpoint saw it
//! (`requests_rejected_total`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use kit_testkit::process::{ChildServer, Spec};
use support::{exchange, post};

fn free_addr() -> SocketAddr {
    ([127, 0, 0, 1], kit_testkit::free_port().unwrap()).into()
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

    let (parts, body) = exchange(http, post(http, "/sum", r#"{"a":1,"b":2}"#)).await;
    assert_eq!((parts.status.as_u16(), body.trim()), (200, r#"{"v":3}"#));
    let (parts, _) = exchange(http, post(http, "/sum", "{not json")).await;
    assert_eq!(parts.status.as_u16(), 400);

    let metrics = ::http::Request::get("/metrics")
        .header("host", debug.to_string())
        .body(Full::new(Bytes::new()))
        .unwrap();
    let (parts, text) = exchange(debug, metrics).await;
    assert_eq!(parts.status.as_u16(), 200);
    for line in [
        r#"requests_total{endpoint="Sum",code="ok"} 1"#,
        r#"requests_rejected_total{transport="http",code="invalid_argument"} 1"#,
    ] {
        assert!(text.contains(line), "missing {line} in\n{text}");
    }
}
