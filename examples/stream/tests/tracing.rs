//! The `stream` binary's traces, exported over OTLP to a real receiver: a
//! subscription's span covers the subscription, from the call to the
//! subscriber hanging up, not just the moment its stream was returned.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::time::Duration;

use kit_testkit::OtlpReceiver;
use kit_testkit::otlp::proto::trace::v1::status::StatusCode;
use kit_testkit::process::{ChildServer, Spec};
use stream::pb;
use stream::pb::stream_client::StreamClient;

fn free_addr() -> SocketAddr {
    ([127, 0, 0, 1], kit_testkit::free_port().unwrap()).into()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscription_is_one_span_from_the_call_to_the_hang_up() {
    let receiver = OtlpReceiver::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let grpc = free_addr();
    let mut server = ChildServer::spawn(Spec {
        binary: env!("CARGO_BIN_EXE_stream"),
        package: "stream (cargo build -p stream)",
        args: vec![
            "-http.address".into(),
            free_addr().to_string().into(),
            "-grpc.address".into(),
            grpc.to_string().into(),
            "-data.dir".into(),
            dir.path().as_os_str().to_owned(),
            "-otlp.endpoint".into(),
            receiver.grpc_endpoint().into(),
        ],
        ready_line: "stream: grpc listening on",
        ready_timeout: Duration::from_secs(60),
    })
    .unwrap();

    let mut client =
        StreamClient::new(kit_transport::grpc::channel(&format!("http://{grpc}")).unwrap());
    let mut changes = client
        .subscribe(pb::SubscribeRequest {
            keys: vec!["mine".into()],
        })
        .await
        .unwrap()
        .into_inner();
    let event = pb::Event {
        key: "mine".into(),
        score: 1.0,
        member: "m".into(),
    };
    client
        .insert(pb::WriteRequest {
            events: vec![event],
        })
        .await
        .unwrap();
    let change = tokio::time::timeout(Duration::from_secs(10), changes.message())
        .await
        .expect("the change is pushed")
        .unwrap()
        .unwrap();
    assert_eq!(change.kind(), pb::change::Kind::Insert);
    drop(changes); // the subscriber hangs up
    drop(client);

    // A graceful stop flushes the exporter.
    let pid = server.pid().unwrap().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let spans = receiver
        .wait_for_spans(2, Duration::from_secs(30))
        .await
        .unwrap_or_else(|got| panic!("expected Insert and Subscribe spans, got {got:#?}"));
    let find = |name: &str| {
        spans
            .iter()
            .find(|s| s.name() == name)
            .unwrap_or_else(|| panic!("no {name} span in {spans:#?}"))
    };
    let subscribe = find("Subscribe");
    let insert = find("Insert");
    assert_eq!(subscribe.str_attribute("rpc.method"), Some("Subscribe"));
    // Ended by the hang-up: cancelled, which is no error on a server span.
    assert_eq!(subscribe.status_code(), StatusCode::Unset);
    assert!(
        subscribe.span.start_time_unix_nano <= insert.span.start_time_unix_nano
            && subscribe.span.end_time_unix_nano >= insert.span.end_time_unix_nano,
        "the subscription's span covers the insert it pushed:\n{subscribe:#?}\n{insert:#?}"
    );
    server.kill();
}
