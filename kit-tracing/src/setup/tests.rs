use std::sync::{Arc, Mutex};

use opentelemetry::KeyValue;
use opentelemetry::trace::{
    SpanContext, SpanId, TraceContextExt as _, TraceFlags, TraceId, TraceState, Tracer as _,
};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use tracing_subscriber::layer::SubscriberExt as _;

use super::{Protocol, Setup, SetupError, random_uuid};
use crate::semconv;

/// An exporter that keeps what it gets, even after shutdown.
#[derive(Clone, Debug, Default)]
struct Recorder(Arc<Mutex<Vec<SpanData>>>);

impl Recorder {
    fn names(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .map(|s| s.name.to_string())
            .collect()
    }
}

impl SpanExporter for Recorder {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        self.0.lock().unwrap().extend(batch);
        Ok(())
    }
}

#[test]
fn ratios_outside_zero_to_one_are_refused() {
    for bad in [f64::NAN, -0.1, 1.01, f64::INFINITY] {
        let err = Setup::new("s").sample_ratio(bad).sampler().unwrap_err();
        assert!(matches!(err, SetupError::InvalidRatio(_)), "{bad}");
        assert!(err.to_string().contains("0.0..=1.0"));
        assert!(
            Setup::new("s")
                .sample_ratio(bad)
                .build_with_exporter(Recorder::default())
                .is_err()
        );
    }
    for good in [0.0, 0.5, 1.0] {
        assert!(Setup::new("s").sample_ratio(good).sampler().is_ok());
    }
}

#[test]
fn the_resource_names_the_service_and_this_instance() {
    let setup = Setup::new("addsvc")
        .version("1.2.3")
        .resource_attribute(KeyValue::new("deployment.environment.name", "test"));
    let resource = setup.resource();
    let get = |k: &'static str| resource.get(&opentelemetry::Key::from_static_str(k));
    assert_eq!(get(semconv::SERVICE_NAME), Some("addsvc".into()));
    assert_eq!(get(semconv::SERVICE_VERSION), Some("1.2.3".into()));
    assert_eq!(get("deployment.environment.name"), Some("test".into()));
    let id = get(semconv::SERVICE_INSTANCE_ID).unwrap().to_string();
    assert_eq!(id.len(), 36, "{id}");
    // each build of the resource is a new instance unless one is given
    assert_ne!(
        setup.resource().get(&opentelemetry::Key::from_static_str(
            semconv::SERVICE_INSTANCE_ID
        )),
        Some(id.clone().into())
    );
    let fixed = Setup::new("addsvc").instance_id("pod-7").resource();
    assert_eq!(
        fixed.get(&opentelemetry::Key::from_static_str(
            semconv::SERVICE_INSTANCE_ID
        )),
        Some("pod-7".into())
    );
}

#[test]
fn instance_ids_are_version_4_uuids() {
    for _ in 0..100 {
        let id = random_uuid();
        let parts: Vec<&str> = id.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(parts[2].starts_with('4'), "{id}");
        assert!(matches!(&parts[3][..1], "8" | "9" | "a" | "b"), "{id}");
    }
}

#[test]
fn dropping_the_guard_flushes() {
    let recorder = Recorder::default();
    let telemetry = Setup::new("s")
        .build_with_exporter(recorder.clone())
        .unwrap();
    telemetry.tracer().in_span("work", |_| {});
    assert!(recorder.names().is_empty(), "batched, not yet exported");
    drop(telemetry);
    assert_eq!(recorder.names(), ["work"]);
}

#[test]
fn flush_exports_without_shutting_down() {
    let recorder = Recorder::default();
    let telemetry = Setup::new("s")
        .build_with_exporter(recorder.clone())
        .unwrap();
    telemetry.tracer().in_span("one", |_| {});
    telemetry.flush().unwrap();
    assert_eq!(recorder.names(), ["one"]);
    telemetry.tracer().in_span("two", |_| {});
    telemetry.shutdown().unwrap();
    assert_eq!(recorder.names(), ["one", "two"]);
}

#[test]
fn a_zero_ratio_drops_roots_but_follows_sampled_parents() {
    let recorder = Recorder::default();
    let telemetry = Setup::new("s")
        .sample_ratio(0.0)
        .build_with_exporter(recorder.clone())
        .unwrap();
    let tracer = telemetry.tracer();
    tracer.in_span("root", |_| {});
    let parent = opentelemetry::Context::new().with_remote_span_context(SpanContext::new(
        TraceId::from(1),
        SpanId::from(1),
        TraceFlags::SAMPLED,
        true,
        TraceState::default(),
    ));
    tracer.in_span_with_builder_and_context(tracer.span_builder("child"), &parent, |_| {});
    telemetry.shutdown().unwrap();
    assert_eq!(recorder.names(), ["child"]);
}

#[test]
fn tracing_spans_are_bridged_and_nest_under_kit_spans() {
    let recorder = Recorder::default();
    let telemetry = Setup::new("s")
        .build_with_exporter(recorder.clone())
        .unwrap();
    let subscriber = tracing_subscriber::registry().with(telemetry.layer());
    let kit_span = tracing::subscriber::with_default(subscriber, || {
        // what a traced call does: its context is current while it runs
        let span = telemetry.tracer().start("kit.call");
        let cx = opentelemetry::Context::new().with_span(span);
        let _attached = cx.clone().attach();
        tracing::info_span!("db.query").in_scope(|| {});
        cx.span().end();
        cx.span().span_context().clone()
    });
    telemetry.shutdown().unwrap();
    let spans = recorder.0.lock().unwrap();
    let query = spans.iter().find(|s| s.name == "db.query").unwrap();
    assert_eq!(query.parent_span_id, kit_span.span_id());
    assert_eq!(query.span_context.trace_id(), kit_span.trace_id());
}

#[cfg(feature = "otlp")]
#[test]
fn otlp_export_needs_a_runtime() {
    let err = Setup::new("s").build().unwrap_err();
    assert!(matches!(err, SetupError::NoRuntime), "{err}");
}

#[cfg(feature = "otlp")]
#[tokio::test]
async fn a_bad_endpoint_is_an_exporter_error() {
    let err = Setup::new("s").endpoint("not a url\n").build().unwrap_err();
    assert!(matches!(err, SetupError::Exporter(_)), "{err}");
}

#[cfg(all(feature = "otlp", not(feature = "otlp-http")))]
#[tokio::test]
async fn http_export_without_its_feature_says_which_feature() {
    let err = Setup::new("s")
        .protocol(Protocol::HttpProtobuf)
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("otlp-http"), "{err}");
}

#[test]
fn the_default_protocol_is_grpc() {
    assert_eq!(Protocol::default(), Protocol::Grpc);
}
