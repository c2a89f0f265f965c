//! The `stream` binary's `/metrics` as an operator reads it: requests its
//! endpoints served under `requests_total`, requests the transport refused
//! before any endpoint saw them (a body that is not JSON, one over
//! `-max.body`) under `requests_rejected_total`, and open subscriptions as
//! `Subscribe` requests in flight.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::{binary, call};

#[tokio::test]
async fn metrics_count_what_the_endpoints_served_and_what_the_transport_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = binary(dir.path(), &["-max.body".as_ref(), "1024".as_ref()]);
    let (addr, grpc) = (server.http, server.grpc);
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
    assert_eq!(call(addr, "POST", "/", good.as_bytes()).await.0, 200);
    assert_eq!(call(addr, "POST", "/", b"[{").await.0, 400);
    assert_eq!(call(addr, "POST", "/", b"not json at all").await.0, 400);
    assert_eq!(call(addr, "POST", "/", &[b' '; 4096]).await.0, 413);

    let (status, _, text) = call(addr, "GET", "/metrics", b"").await;
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
