//! Where a request's trace context lives: an [`opentelemetry::Context`] in
//! the extensions of the request's [`kit_endpoint::Context`].
//!
//! kit passes request context explicitly (see kit-endpoint's design notes),
//! so the trace context travels the same way as the deadline: a server's
//! propagator [extracts](crate::TracePropagator) the remote parent from the
//! headers into the request context; the server's [`TraceLayer`] starts its
//! span as a child of it and stores the context *with its span* back into
//! the request context; the endpoint hands that context (or a child of it)
//! to the clients it calls; each client's `TraceLayer` starts a child span
//! and stores its own context, which the client's propagator injects into
//! the outgoing headers.
//!
//! The value stored is OpenTelemetry's own [`opentelemetry::Context`]
//! rather than a kit wrapper: it already holds both the span context and
//! the baggage, every OpenTelemetry API takes it, and other middleware can
//! read it without depending on kit-tracing. [`ContextExt`] reads and writes
//! it.
//!
//! While a traced call runs, its OpenTelemetry context is also *attached*
//! (made [`opentelemetry::Context::current`]) for each poll of the inner
//! future, so code that reads the ambient context (`tracing` spans bridged
//! by tracing-opentelemetry, log formatters calling
//! [`current_span_context`]) sees the right span without being handed the
//! request context.
//!
//! [`TraceLayer`]: crate::TraceLayer

use opentelemetry::trace::{SpanContext, TraceContextExt as _};

/// Reads and writes the OpenTelemetry context a kit request context
/// carries. Implemented for [`kit_endpoint::Context`].
///
/// ```
/// use kit_endpoint::Context;
/// use kit_tracing::ContextExt;
/// use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
///
/// let remote = SpanContext::new(
///     TraceId::from(0x4bf92f3577b34da6a3ce929d0e0e4736),
///     SpanId::from(0x00f067aa0ba902b7),
///     TraceFlags::SAMPLED,
///     true,
///     TraceState::default(),
/// );
/// let mut ctx = Context::new();
/// assert!(ctx.span_context().is_none());
/// ctx.set_otel_context(opentelemetry::Context::new().with_remote_span_context(remote.clone()));
/// assert_eq!(ctx.span_context(), Some(remote));
/// ```
pub trait ContextExt {
    /// The OpenTelemetry context stored in the request context, if any.
    fn otel_context(&self) -> Option<&opentelemetry::Context>;

    /// Stores `cx`, replacing any stored before.
    fn set_otel_context(&mut self, cx: opentelemetry::Context);

    /// The stored OpenTelemetry context, or else the
    /// [current](opentelemetry::Context::current) one: the parent a new span
    /// for this request gets.
    fn otel_context_or_current(&self) -> opentelemetry::Context;

    /// The span context of the stored OpenTelemetry context, when it holds a
    /// valid one (a remote parent or a local span).
    fn span_context(&self) -> Option<SpanContext>;
}

impl ContextExt for kit_endpoint::Context {
    fn otel_context(&self) -> Option<&opentelemetry::Context> {
        self.extensions().get::<opentelemetry::Context>()
    }

    fn set_otel_context(&mut self, cx: opentelemetry::Context) {
        self.extensions_mut().insert(cx);
    }

    fn otel_context_or_current(&self) -> opentelemetry::Context {
        match self.otel_context() {
            Some(cx) => cx.clone(),
            None => opentelemetry::Context::current(),
        }
    }

    fn span_context(&self) -> Option<SpanContext> {
        let cx = self.otel_context()?;
        let sc = cx.span().span_context().clone();
        sc.is_valid().then_some(sc)
    }
}

/// The span context of the [current](opentelemetry::Context::current)
/// OpenTelemetry context, when it is valid: what a log formatter prints as
/// the trace and span ids of a line written inside a traced call.
///
/// ```
/// use kit_tracing::current_span_context;
///
/// // Outside any traced call there is none.
/// assert!(current_span_context().is_none());
/// ```
pub fn current_span_context() -> Option<SpanContext> {
    opentelemetry::Context::map_current(|cx| {
        let span = cx.span();
        let sc = span.span_context();
        sc.is_valid().then(|| sc.clone())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::{SpanId, TraceFlags, TraceId, TraceState};

    fn remote() -> SpanContext {
        SpanContext::new(
            TraceId::from(7),
            SpanId::from(9),
            TraceFlags::SAMPLED,
            true,
            TraceState::default(),
        )
    }

    #[test]
    fn stored_context_wins_over_current() {
        let stored = opentelemetry::Context::new().with_remote_span_context(remote());
        let mut ctx = kit_endpoint::Context::new();
        ctx.set_otel_context(stored);
        let _outer = opentelemetry::Context::new()
            .with_remote_span_context(SpanContext::new(
                TraceId::from(1),
                SpanId::from(1),
                TraceFlags::SAMPLED,
                true,
                TraceState::default(),
            ))
            .attach();
        let parent = ctx.otel_context_or_current();
        assert_eq!(parent.span().span_context().trace_id(), TraceId::from(7));
        // a clone of the request context carries the same trace context
        assert_eq!(ctx.clone().span_context(), Some(remote()));
    }

    #[test]
    fn without_a_stored_context_the_current_one_is_the_parent() {
        let ctx = kit_endpoint::Context::new();
        assert!(ctx.otel_context().is_none());
        assert!(ctx.span_context().is_none());
        let _g = opentelemetry::Context::new()
            .with_remote_span_context(remote())
            .attach();
        assert_eq!(
            ctx.otel_context_or_current().span().span_context(),
            &remote()
        );
        assert_eq!(current_span_context(), Some(remote()));
    }

    #[test]
    fn an_invalid_span_context_reads_as_none() {
        let mut ctx = kit_endpoint::Context::new();
        ctx.set_otel_context(opentelemetry::Context::new());
        assert!(ctx.otel_context().is_some());
        assert!(ctx.span_context().is_none());
    }
}
