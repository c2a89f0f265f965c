//! Trace correlation: `trace_id` and `span_id` from the OpenTelemetry
//! context of the current span (feature `otel`).
//!
//! tracing-opentelemetry's layer makes a span's OpenTelemetry context the
//! current one while the span is entered (its default "context
//! activation"), so formatters read it with `Context::map_current`: no
//! lookup through the dispatcher, which a formatter cannot reach (tracing
//! hands callbacks the no-op dispatcher to stop re-entrant events). When that
//! context holds a valid span, logfmt lines end with
//! `trace_id=<32 hex> span_id=<16 hex>` and JSON objects get the same two
//! keys. Without an OpenTelemetry layer in the subscriber, or outside any
//! span, lines are unchanged. A context attached by hand
//! (`Context::attach`) counts too: the line is in that trace.

use std::fmt;

use opentelemetry::Context;
use opentelemetry::trace::{SpanId, TraceContextExt, TraceId};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// The trace and span ids of the current OpenTelemetry context, when it
/// holds a valid span.
pub(crate) fn trace_ids() -> Option<(TraceId, SpanId)> {
    Context::map_current(|cx| {
        let span = cx.span();
        let sc = span.span_context();
        sc.is_valid().then(|| (sc.trace_id(), sc.span_id()))
    })
}

/// Wraps a JSON event formatter and adds `trace_id` and `span_id` to each
/// object that has them.
#[derive(Clone, Debug)]
pub struct WithTraceIds<F> {
    inner: F,
}

impl<F> WithTraceIds<F> {
    /// Wraps `inner`, a formatter that writes one JSON object per line.
    pub fn new(inner: F) -> WithTraceIds<F> {
        WithTraceIds { inner }
    }
}

impl<S, N, F> FormatEvent<S, N> for WithTraceIds<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let Some((trace_id, span_id)) = trace_ids() else {
            return self.inner.format_event(ctx, writer, event);
        };
        let mut line = String::with_capacity(256);
        self.inner
            .format_event(ctx, Writer::new(&mut line), event)?;
        let body = line.trim_end_matches('\n');
        let Some(open) = body.strip_suffix('}') else {
            return writer.write_str(&line);
        };
        let comma = if open.trim_end().ends_with('{') {
            ""
        } else {
            ","
        };
        writeln!(
            writer,
            r#"{open}{comma}"trace_id":"{trace_id}","span_id":"{span_id}"}}"#
        )
    }
}
