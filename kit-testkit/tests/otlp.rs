//! The OTLP receiver against real clients: the generated gRPC client and a
//! raw HTTP/1.1 request.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use kit_testkit::OtlpReceiver;
use kit_testkit::otlp::Received;
use kit_testkit::otlp::proto::collector::trace::v1::ExportTraceServiceRequest;
use kit_testkit::otlp::proto::collector::trace::v1::trace_service_client::TraceServiceClient;
use kit_testkit::otlp::proto::common::v1::{AnyValue, KeyValue, any_value::Value};
use kit_testkit::otlp::proto::resource::v1::Resource;
use kit_testkit::otlp::proto::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn request(service: &str, names: &[&str]) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![KeyValue {
                    key: "service.name".into(),
                    value: Some(AnyValue {
                        value: Some(Value::StringValue(service.into())),
                    }),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans: names
                    .iter()
                    .map(|n| Span {
                        name: (*n).into(),
                        trace_id: vec![1; 16],
                        span_id: vec![2; 8],
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// Posts `body` to `/v1/traces` and returns the status line.
async fn post(addr: std::net::SocketAddr, body: &[u8]) -> String {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /v1/traces HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/x-protobuf\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let text = String::from_utf8_lossy(&response);
    text.lines().next().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn records_spans_from_grpc_and_http_and_wakes_waiters() {
    let receiver = OtlpReceiver::start().await.unwrap();
    assert!(receiver.spans().is_empty());

    // a waiter started before anything arrives is woken by the exports
    let waiting = {
        let receiver = &receiver;
        async move { receiver.wait_for_spans(3, Duration::from_secs(10)).await }
    };
    let sending = async {
        let mut client = TraceServiceClient::connect(receiver.grpc_endpoint())
            .await
            .unwrap();
        client.export(request("a", &["one", "two"])).await.unwrap();
        let status = post(receiver.addr(), &request("b", &["three"]).encode_to_vec()).await;
        assert!(status.contains("200"), "{status}");
    };
    let (spans, ()) = tokio::join!(waiting, sending);
    let spans = spans.unwrap();
    let seen: Vec<(&str, Option<&str>, Received)> = spans
        .iter()
        .map(|s| (s.name(), s.service_name(), s.via))
        .collect();
    assert_eq!(
        seen,
        [
            ("one", Some("a"), Received::Grpc),
            ("two", Some("a"), Received::Grpc),
            ("three", Some("b"), Received::Http),
        ]
    );
    assert_eq!(spans[0].trace_id(), "01".repeat(16));
}

#[tokio::test]
async fn garbage_over_http_is_refused_and_recorded_as_nothing() {
    let receiver = OtlpReceiver::start().await.unwrap();
    let status = post(receiver.addr(), b"\xff\xff\xff not protobuf").await;
    assert!(status.contains("400"), "{status}");
    assert!(receiver.spans().is_empty());
}

#[tokio::test(start_paused = true)]
async fn waiting_for_spans_that_never_come_times_out_with_what_came() {
    let receiver = OtlpReceiver::start().await.unwrap();
    let err = receiver
        .wait_for_spans(1, Duration::from_secs(5))
        .await
        .unwrap_err();
    assert_eq!(err.wanted, 1);
    assert!(err.received.is_empty());
    assert!(err.to_string().contains("received 0"), "{err}");
}

#[tokio::test]
async fn dropping_the_receiver_stops_it() {
    let receiver = OtlpReceiver::start().await.unwrap();
    let addr = receiver.addr();
    drop(receiver);
    // the listener closes once the server task sees the drop; wait for that
    // by retrying the connect, bounded, rather than sleeping a fixed time
    let refused = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match tokio::net::TcpStream::connect(addr).await {
                Err(_) => return,
                Ok(_) => tokio::task::yield_now().await,
            }
        }
    })
    .await;
    assert!(refused.is_ok(), "{addr} still accepts connections");
}
