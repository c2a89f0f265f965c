//! `Setup` against a real OTLP receiver, over both transports.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use kit_testkit::OtlpReceiver;
use kit_testkit::otlp::Received;
use kit_tracing::{Protocol, Setup, Telemetry};
use opentelemetry::trace::Tracer as _;

/// Flushes from a blocking thread: the exporter runs on this runtime.
async fn flush(telemetry: &Arc<Telemetry>) {
    let t = telemetry.clone();
    tokio::task::spawn_blocking(move || t.flush().unwrap())
        .await
        .unwrap();
}

async fn export_one(setup: Setup, receiver: &OtlpReceiver, name: &'static str) -> Received {
    let telemetry = Arc::new(setup.build().unwrap());
    telemetry.tracer().in_span(name, |_| {});
    flush(&telemetry).await;
    let spans = receiver
        .wait_for_spans(1, Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(spans.len(), 1, "{spans:#?}");
    let s = &spans[0];
    assert_eq!(s.name(), name);
    assert_eq!(s.service_name(), Some("exporter-test"));
    assert_eq!(s.resource_str("service.version"), Some("9.9.9"));
    assert_eq!(s.resource_str("service.instance.id"), Some("instance-1"));
    assert_eq!(s.scope, "kit-tracing");
    s.via
}

fn setup() -> Setup {
    Setup::new("exporter-test")
        .version("9.9.9")
        .instance_id("instance-1")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exports_over_otlp_grpc() {
    let receiver = OtlpReceiver::start().await.unwrap();
    let via = export_one(
        setup().endpoint(receiver.grpc_endpoint()),
        &receiver,
        "over-grpc",
    )
    .await;
    assert_eq!(via, Received::Grpc);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exports_over_otlp_http_protobuf() {
    let receiver = OtlpReceiver::start().await.unwrap();
    // the base URL: /v1/traces is appended
    let via = export_one(
        setup()
            .protocol(Protocol::HttpProtobuf)
            .endpoint(format!("http://{}", receiver.addr())),
        &receiver,
        "over-http",
    )
    .await;
    assert_eq!(via, Received::Http);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_collector_that_is_gone_fails_the_flush_without_hanging() {
    let receiver = OtlpReceiver::start().await.unwrap();
    let endpoint = receiver.grpc_endpoint();
    drop(receiver);
    let telemetry = Arc::new(
        setup()
            .endpoint(endpoint)
            .export_timeout(Duration::from_secs(2))
            .build()
            .unwrap(),
    );
    telemetry.tracer().in_span("lost", |_| {});
    let t = telemetry.clone();
    let flushed = tokio::task::spawn_blocking(move || t.flush())
        .await
        .unwrap();
    assert!(flushed.is_err(), "{flushed:?}");
}
