//! `Setup::install`: the globals, the `tracing` bridge, and the guard's
//! flush on drop. One test: globals can be installed once per process.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use http::HeaderMap;
use kit_testkit::OtlpReceiver;
use kit_tracing::{Setup, SetupError};
use opentelemetry::trace::{TraceContextExt as _, Tracer as _};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn install_sets_the_globals_and_drop_flushes() {
    let receiver = OtlpReceiver::start().await.unwrap();
    let telemetry = Setup::new("installed")
        .endpoint(receiver.grpc_endpoint())
        .install()
        .unwrap();

    // a plain `tracing` span is exported through the bridge
    tracing::info_span!("bridged").in_scope(|| {});

    // the global tracer and propagator are kit's
    let tracer = opentelemetry::global::tracer("global");
    let traceparent = tracer.in_span("global-span", |cx| {
        let mut headers = HeaderMap::new();
        opentelemetry::global::get_text_map_propagator(|p| {
            kit_tracing::TracePropagator::new().inject_context(&cx, &mut headers);
            let mut via_global = HeaderMap::new();
            p.inject_context(&cx, &mut KitInjector(&mut via_global));
            assert_eq!(via_global.get("traceparent"), headers.get("traceparent"));
        });
        assert!(cx.span().span_context().is_sampled());
        headers["traceparent"].to_str().unwrap().to_owned()
    });
    assert!(traceparent.starts_with("00-"), "{traceparent}");

    // a second install fails, and says why
    let again = Setup::new("again")
        .endpoint(receiver.grpc_endpoint())
        .install()
        .unwrap_err();
    assert!(matches!(again, SetupError::GlobalSubscriber(_)), "{again}");

    // dropping the guard flushes; nothing else did
    tokio::task::spawn_blocking(move || drop(telemetry))
        .await
        .unwrap();
    let spans = receiver
        .wait_for_spans(2, Duration::from_secs(10))
        .await
        .unwrap();
    let mut names: Vec<&str> = spans.iter().map(|s| s.name()).collect();
    names.sort();
    assert_eq!(names, ["bridged", "global-span"]);
    assert!(spans.iter().all(|s| s.service_name() == Some("installed")));
}

struct KitInjector<'a>(&'a mut HeaderMap);

impl opentelemetry::propagation::Injector for KitInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        self.0.insert(
            http::HeaderName::from_bytes(key.as_bytes()).unwrap(),
            value.parse().unwrap(),
        );
    }
}
