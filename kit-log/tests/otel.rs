//! Trace correlation: lines inside a span that carries an OpenTelemetry
//! context end with its `trace_id` and `span_id`; lines outside have none.
//!
//! The `otel` feature is on for every test build of kit-log (the crate
//! dev-depends on itself with it), so these tests always run.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use kit_log::logfmt::parse;
use kit_log::{Builder, Capture, Format};
use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::Registry;
use tracing_subscriber::layer::SubscriberExt;

/// Ids of a span, as hex, from the OpenTelemetry side.
fn ids(span: &tracing::Span) -> (String, String) {
    let cx = span.context();
    let otel = cx.span();
    let sc = otel.span_context();
    (sc.trace_id().to_string(), sc.span_id().to_string())
}

/// Runs `f` with an SDK tracer provider (no exporter) and kit-log's layer
/// in `format`; returns the lines and what `f` returned.
fn run<T>(format: Format, f: impl FnOnce() -> T) -> (Vec<String>, T) {
    let provider = SdkTracerProvider::builder().build();
    let out = Capture::new();
    let (log, _guard) = Builder::new()
        .format(format)
        .make_writer(out.clone())
        .layer::<Registry>()
        .unwrap();
    let subscriber = Registry::default()
        .with(log)
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("kit-log-test")));
    let value = tracing::subscriber::with_default(subscriber, f);
    (out.lines(), value)
}

#[test]
fn logfmt_lines_carry_trace_and_span_ids() {
    let (lines, (outer, inner)) = run(Format::Logfmt, || {
        tracing::info!("before any span");
        let outer = tracing::info_span!("rpc", method = "Sum");
        let _o = outer.enter();
        tracing::info!("in rpc");
        let inner = tracing::info_span!("db");
        let _i = inner.enter();
        tracing::info!("in db");
        (ids(&outer), ids(&inner))
    });
    assert_eq!(lines.len(), 3, "{lines:?}");
    let parsed: Vec<_> = lines.iter().map(|l| parse(l).unwrap()).collect();
    assert_eq!(parsed[0].get("trace_id"), None);
    assert_eq!(parsed[0].get("span_id"), None);
    assert_eq!(parsed[1].get("trace_id"), Some(outer.0.as_str()));
    assert_eq!(parsed[1].get("span_id"), Some(outer.1.as_str()));
    assert_eq!(
        parsed[2].get("trace_id"),
        Some(outer.0.as_str()),
        "one trace"
    );
    assert_eq!(parsed[2].get("span_id"), Some(inner.1.as_str()));
    assert_ne!(inner.1, outer.1);
    assert_eq!(outer.0.len(), 32);
    assert_eq!(outer.1.len(), 16);
    assert!(outer.0.chars().all(|c| c.is_ascii_hexdigit()) && outer.0 != "0".repeat(32));
}

#[test]
fn json_lines_carry_trace_and_span_ids() {
    let (lines, expected) = run(Format::Json, || {
        tracing::info!(a = 1, "outside");
        let span = tracing::info_span!("rpc");
        let _g = span.enter();
        tracing::info!(a = 2, "inside");
        ids(&span)
    });
    let json: Vec<serde_json::Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(json[0].get("trace_id").is_none(), "{lines:?}");
    assert_eq!(json[0]["a"], 1);
    assert_eq!(json[1]["trace_id"], expected.0.as_str(), "{lines:?}");
    assert_eq!(json[1]["span_id"], expected.1.as_str());
    assert_eq!(json[1]["a"], 2);
    assert_eq!(json[1]["message"], "inside");
}

#[test]
fn without_an_otel_layer_lines_are_unchanged() {
    let out = Capture::new();
    let (subscriber, _guard) = Builder::new()
        .make_writer(out.clone())
        .subscriber()
        .unwrap();
    tracing::subscriber::with_default(subscriber, || {
        let span = tracing::info_span!("rpc");
        let _g = span.enter();
        tracing::info!("inside");
    });
    let line = parse(&out.lines()[0]).unwrap();
    assert_eq!(line.get("trace_id"), None);
    assert_eq!(line.get("msg"), Some("inside"));
}
