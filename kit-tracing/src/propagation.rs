//! W3C trace context and baggage across a hop, through headers.
//!
//! [`TracePropagator`] writes the trace context of a request's
//! [`kit_endpoint::Context`] into outgoing headers (`traceparent`,
//! `tracestate`, `baggage`) and reads incoming ones back into it, using
//! opentelemetry_sdk's [`TraceContextPropagator`] and [`BaggagePropagator`].
//! The carrier is an [`http::HeaderMap`], which is how kit-transport presents
//! both HTTP headers and gRPC metadata, so one propagator serves both
//! transports; with the `transport` feature it implements kit-transport's
//! `Propagator` and plugs into `ServerOptions`, `ClientOptions`,
//! `GrpcServerOptions` and `GrpcClient::propagator`.
//!
//! The two header adapters are written here (a dozen lines) rather than
//! taken from `opentelemetry-http`, so the propagator needs no HTTP client
//! crate.
//!
//! Malformed headers are ignored, as the W3C specification asks: an invalid
//! `traceparent` yields no parent (the server span starts a new trace) and
//! never an error.

use std::fmt;
use std::sync::Arc;

use http::{HeaderMap, HeaderName, HeaderValue};
use opentelemetry::propagation::text_map_propagator::FieldIter;
use opentelemetry::propagation::{
    Extractor, Injector, TextMapCompositePropagator, TextMapPropagator,
};
use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};

use crate::ContextExt;

/// Injects and extracts trace context (and baggage) through headers. See
/// the [module docs](self).
///
/// ```
/// use http::HeaderMap;
/// use kit_endpoint::Context;
/// use kit_tracing::{ContextExt, TracePropagator};
///
/// let propagator = TracePropagator::new();
/// let mut inbound = HeaderMap::new();
/// inbound.insert(
///     "traceparent",
///     "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".parse().unwrap(),
/// );
/// let mut ctx = Context::new();
/// propagator.extract(&inbound, &mut ctx);
/// let parent = ctx.span_context().unwrap();
/// assert_eq!(parent.trace_id().to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
/// assert!(parent.is_remote());
///
/// let mut outbound = HeaderMap::new();
/// propagator.inject(&ctx, &mut outbound);
/// assert_eq!(outbound["traceparent"], inbound["traceparent"]);
/// ```
#[derive(Clone)]
pub struct TracePropagator {
    inner: Arc<dyn TextMapPropagator + Send + Sync>,
}

impl TracePropagator {
    /// W3C trace context (`traceparent`, `tracestate`) and W3C baggage.
    pub fn new() -> TracePropagator {
        TracePropagator::custom(TextMapCompositePropagator::new(vec![
            Box::new(TraceContextPropagator::new()),
            Box::new(BaggagePropagator::new()),
        ]))
    }

    /// W3C trace context only, without baggage.
    pub fn trace_context_only() -> TracePropagator {
        TracePropagator::custom(TraceContextPropagator::new())
    }

    /// Any OpenTelemetry propagator (B3, Jaeger, a composite…).
    pub fn custom(propagator: impl TextMapPropagator + Send + Sync + 'static) -> TracePropagator {
        TracePropagator {
            inner: Arc::new(propagator),
        }
    }

    /// Client side: writes the trace context of `ctx` into `headers`. The
    /// context stored in `ctx` is used (a client [`TraceLayer`] stores its
    /// span there); without one, the current OpenTelemetry context.
    ///
    /// [`TraceLayer`]: crate::TraceLayer
    pub fn inject(&self, ctx: &kit_endpoint::Context, headers: &mut HeaderMap) {
        match ctx.otel_context() {
            Some(cx) => self.inject_context(cx, headers),
            None => self.inject_context(&opentelemetry::Context::current(), headers),
        }
    }

    /// Server side: reads `headers` into `ctx`. The result is stored even
    /// when the headers carry nothing, so that a server span without a
    /// remote parent starts a new trace rather than joining whatever
    /// context happens to be current.
    pub fn extract(&self, headers: &HeaderMap, ctx: &mut kit_endpoint::Context) {
        let base = ctx.otel_context().cloned().unwrap_or_default();
        let cx = self
            .inner
            .extract_with_context(&base, &HeaderExtractor(headers));
        ctx.set_otel_context(cx);
    }

    /// Writes `cx` into `headers`.
    pub fn inject_context(&self, cx: &opentelemetry::Context, headers: &mut HeaderMap) {
        self.inner.inject_context(cx, &mut HeaderInjector(headers));
    }

    /// Reads `headers` into a new OpenTelemetry context.
    pub fn extract_context(&self, headers: &HeaderMap) -> opentelemetry::Context {
        self.inner.extract(&HeaderExtractor(headers))
    }
}

impl Default for TracePropagator {
    fn default() -> Self {
        TracePropagator::new()
    }
}

impl fmt::Debug for TracePropagator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TracePropagator")
            .field("fields", &self.inner.fields().collect::<Vec<_>>())
            .finish()
    }
}

/// So that it can be installed as OpenTelemetry's global propagator.
impl TextMapPropagator for TracePropagator {
    fn inject_context(&self, cx: &opentelemetry::Context, injector: &mut dyn Injector) {
        self.inner.inject_context(cx, injector);
    }

    fn extract_with_context(
        &self,
        cx: &opentelemetry::Context,
        extractor: &dyn Extractor,
    ) -> opentelemetry::Context {
        self.inner.extract_with_context(cx, extractor)
    }

    fn fields(&self) -> FieldIter<'_> {
        self.inner.fields()
    }
}

#[cfg(feature = "transport")]
impl kit_transport::propagation::Propagator for TracePropagator {
    fn inject(&self, ctx: &kit_endpoint::Context, headers: &mut HeaderMap) {
        TracePropagator::inject(self, ctx, headers);
    }

    fn extract(&self, headers: &HeaderMap, ctx: &mut kit_endpoint::Context) {
        TracePropagator::extract(self, headers, ctx);
    }
}

/// Sets headers; keys or values that are not valid in a header are skipped.
struct HeaderInjector<'a>(&'a mut HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(key.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            self.0.insert(name, value);
        }
    }
}

/// The W3C header that carries the parent.
const TRACEPARENT: &str = "traceparent";

/// Reads headers; values that are not visible ASCII read as absent, and so
/// does a `traceparent` that breaks the W3C format (see
/// [`is_valid_traceparent`]).
struct HeaderExtractor<'a>(&'a HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        let value = self.0.get(key).and_then(|v| v.to_str().ok())?;
        if key == TRACEPARENT && !is_valid_traceparent(value) {
            return None;
        }
        Some(value)
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(HeaderName::as_str).collect()
    }

    fn get_all(&self, key: &str) -> Option<Vec<&str>> {
        let values: Vec<&str> = self
            .0
            .get_all(key)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        (!values.is_empty()).then_some(values)
    }
}

/// Whether `value` has the shape the W3C Trace Context specification
/// requires of `traceparent`: `version-traceid-parentid-flags` with exactly
/// 2, 32, 16 and 2 lower-case hex digits, version `ff` forbidden, and for
/// version `00` nothing after the flags (a later version may append
/// `-`-separated fields).
///
/// opentelemetry_sdk's `TraceContextPropagator` checks case and zero ids
/// but parses each field as a number, so it accepts short fields and a
/// leading `+`; this check runs first so such values are ignored, as the
/// specification asks.
pub fn is_valid_traceparent(value: &str) -> bool {
    let v = value.trim().as_bytes();
    let hex = |s: &[u8]| s.iter().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    if v.len() < 55 || v[2] != b'-' || v[35] != b'-' || v[52] != b'-' {
        return false;
    }
    let (version, trace, parent, flags) = (&v[0..2], &v[3..35], &v[36..52], &v[53..55]);
    if !(hex(version) && hex(trace) && hex(parent) && hex(flags)) || version == b"ff" {
        return false;
    }
    match version {
        b"00" => v.len() == 55,
        _ => v.len() == 55 || v[55] == b'-',
    }
}

#[cfg(test)]
mod tests;
