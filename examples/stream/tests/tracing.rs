//! The `stream` binary's traces, exported over OTLP to a real receiver: a
//! subscription's span covers the subscription, from the call to the
//! subscriber hanging up, not just the moment its stream was returned.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use kit_testkit::OtlpReceiver;
use kit_testkit::otlp::proto::trace::v1::status::StatusCode;
use stream::pb;
use stream::pb::stream_client::StreamClient;
use support::binary;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscription_is_one_span_from_the_call_to_the_hang_up() {
    let receiver = OtlpReceiver::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let endpoint = receiver.grpc_endpoint();
    let mut server = binary(dir.path(), &["-otlp.endpoint".as_ref(), endpoint.as_ref()]);
    let grpc = server.grpc;

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
    let pid = server.child.pid().unwrap().to_string();
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
    server.child.kill();
}
