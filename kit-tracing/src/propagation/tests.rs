use http::HeaderMap;
use kit_endpoint::Context;
use opentelemetry::KeyValue;
use opentelemetry::baggage::BaggageExt as _;
use opentelemetry::trace::{
    SpanContext, SpanId, TraceContextExt as _, TraceFlags, TraceId, TraceState,
};
use proptest::prelude::*;

use super::TracePropagator;
use crate::ContextExt;

fn span_context(trace: u128, span: u64, sampled: bool, state: &str) -> SpanContext {
    SpanContext::new(
        TraceId::from(trace),
        SpanId::from(span),
        if sampled {
            TraceFlags::SAMPLED
        } else {
            TraceFlags::default()
        },
        false,
        state.parse::<TraceState>().unwrap_or_default(),
    )
}

fn with_span_context(sc: SpanContext) -> Context {
    let mut ctx = Context::new();
    ctx.set_otel_context(opentelemetry::Context::new().with_remote_span_context(sc));
    ctx
}

#[test]
fn trace_state_and_baggage_cross_a_hop() {
    let sc = span_context(0xabc, 0xdef, true, "vendor=value,other=1");
    let cx = opentelemetry::Context::new()
        .with_remote_span_context(sc.clone())
        .with_baggage(vec![KeyValue::new("tenant", "acme")]);
    let mut client_ctx = Context::new();
    client_ctx.set_otel_context(cx);

    let p = TracePropagator::new();
    let mut headers = HeaderMap::new();
    p.inject(&client_ctx, &mut headers);
    assert_eq!(
        headers["traceparent"],
        "00-00000000000000000000000000000abc-0000000000000def-01"
    );
    assert_eq!(headers["tracestate"], "vendor=value,other=1");
    assert_eq!(headers["baggage"], "tenant=acme");

    let mut server_ctx = Context::new();
    p.extract(&headers, &mut server_ctx);
    let got = server_ctx.span_context().unwrap();
    assert_eq!(got.trace_id(), sc.trace_id());
    assert_eq!(got.span_id(), sc.span_id());
    assert!(got.is_remote());
    assert_eq!(got.trace_state().header(), "vendor=value,other=1");
    let baggage = server_ctx.otel_context().unwrap().baggage();
    assert_eq!(baggage.get("tenant").map(|v| v.as_str()), Some("acme"));
}

#[test]
fn trace_context_only_leaves_baggage_behind() {
    let cx = opentelemetry::Context::new()
        .with_remote_span_context(span_context(1, 2, true, ""))
        .with_baggage(vec![KeyValue::new("k", "v")]);
    let mut ctx = Context::new();
    ctx.set_otel_context(cx);
    let mut headers = HeaderMap::new();
    TracePropagator::trace_context_only().inject(&ctx, &mut headers);
    assert!(headers.contains_key("traceparent"));
    assert!(!headers.contains_key("baggage"));
}

#[test]
fn nothing_to_inject_writes_no_headers() {
    let mut headers = HeaderMap::new();
    TracePropagator::new().inject(&Context::new(), &mut headers);
    assert!(headers.is_empty(), "{headers:?}");
}

#[test]
fn the_stored_context_is_injected_rather_than_the_current_one() {
    let _current = opentelemetry::Context::new()
        .with_remote_span_context(span_context(5, 5, true, ""))
        .attach();
    let p = TracePropagator::new();

    let mut headers = HeaderMap::new();
    p.inject(&Context::new(), &mut headers);
    assert!(headers["traceparent"].to_str().unwrap().contains("0005-"));

    let mut headers = HeaderMap::new();
    p.inject(
        &with_span_context(span_context(9, 9, true, "")),
        &mut headers,
    );
    assert!(headers["traceparent"].to_str().unwrap().contains("0009-"));
}

#[test]
fn a_request_without_headers_gets_an_empty_parent_not_the_current_one() {
    let _current = opentelemetry::Context::new()
        .with_remote_span_context(span_context(5, 5, true, ""))
        .attach();
    let mut ctx = Context::new();
    TracePropagator::new().extract(&HeaderMap::new(), &mut ctx);
    assert!(ctx.otel_context().is_some());
    assert!(ctx.span_context().is_none());
}

#[test]
fn malformed_trace_parents_are_ignored() {
    let bad = [
        "",
        "garbage",
        "00-00000000000000000000000000000000-0000000000000001-01", // zero trace id
        "00-0000000000000000000000000000000a-0000000000000000-01", // zero span id
        "ff-0000000000000000000000000000000a-0000000000000001-01", // forbidden version
        "00-0000000000000000000000000000000A-0000000000000001-01", // upper case
        "00-000000000000000000000000000000a-0000000000000001-01",  // short
        "00-0000000000000000000000000000000a-0000000000000001",    // no flags
    ];
    for value in bad {
        let mut headers = HeaderMap::new();
        headers.insert("traceparent", value.parse().unwrap());
        headers.insert("tracestate", "a=b".parse().unwrap());
        let mut ctx = Context::new();
        TracePropagator::new().extract(&headers, &mut ctx);
        assert!(ctx.span_context().is_none(), "accepted {value:?}");
    }
}

#[test]
fn debug_names_the_fields() {
    let s = format!("{:?}", TracePropagator::new());
    assert!(s.contains("traceparent") && s.contains("baggage"), "{s}");
}

proptest! {
    #[test]
    fn any_valid_span_context_round_trips(
        trace in 1u128..,
        span in 1u64..,
        sampled in any::<bool>(),
    ) {
        let sc = span_context(trace, span, sampled, "");
        let p = TracePropagator::new();
        let mut headers = HeaderMap::new();
        p.inject(&with_span_context(sc.clone()), &mut headers);
        let mut ctx = Context::new();
        p.extract(&headers, &mut ctx);
        let got = ctx.span_context().unwrap();
        prop_assert_eq!(got.trace_id(), sc.trace_id());
        prop_assert_eq!(got.span_id(), sc.span_id());
        prop_assert_eq!(got.is_sampled(), sampled);
    }

    #[test]
    fn garbage_headers_never_panic(
        parent in proptest::collection::vec(any::<u8>(), 0..80),
        state in proptest::collection::vec(any::<u8>(), 0..300),
        baggage in proptest::collection::vec(any::<u8>(), 0..300),
    ) {
        let mut headers = HeaderMap::new();
        for (name, value) in [("traceparent", parent), ("tracestate", state), ("baggage", baggage)] {
            if let Ok(v) = http::HeaderValue::from_bytes(&value) {
                headers.append(name, v);
            }
        }
        let p = TracePropagator::new();
        let mut ctx = Context::new();
        p.extract(&headers, &mut ctx);
        // whatever was read is written back out without panicking either
        let mut out = HeaderMap::new();
        p.inject(&ctx, &mut out);
        if let Some(sc) = ctx.span_context() {
            prop_assert!(sc.is_valid());
            prop_assert!(out.contains_key("traceparent"));
        }
    }
}

#[test]
fn the_traceparent_shape_is_checked_field_by_field() {
    use super::is_valid_traceparent as ok;
    let good = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    assert!(ok(good));
    assert!(ok(
        "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-more"
    ));
    assert!(ok(
        "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-09"
    ));
    for bad in [
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-more", // v00 takes no extra
        "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",     // not a field
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",      // forbidden version
        "00-+bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",      // sign
        "00-4bf92f3577b34da6a3ce929d0e0e473-600f067aa0ba902b7-01",      // misplaced dash
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",       // short flags
        "00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01",      // separators
        "",
    ] {
        assert!(!ok(bad), "{bad:?}");
    }
}

proptest! {
    /// Whatever the propagator accepts has the exact W3C shape.
    #[test]
    fn only_well_formed_parents_are_accepted(value in "[0-9a-fA-F+ -]{0,64}") {
        let mut headers = HeaderMap::new();
        if let Ok(v) = http::HeaderValue::from_str(&value) {
            headers.insert("traceparent", v);
        }
        let mut ctx = Context::new();
        TracePropagator::new().extract(&headers, &mut ctx);
        if ctx.span_context().is_some() {
            prop_assert!(super::is_valid_traceparent(&value), "{value:?}");
        }
    }
}
