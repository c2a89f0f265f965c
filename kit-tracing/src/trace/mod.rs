//! A span per endpoint call.
//!
//! [`Trace`] (built by [`TraceLayer`]) wraps any `S: Service<Req>` whose
//! request carries a [`kit_endpoint::Context`] ([`HasContext`]) and whose
//! error is (or converts into) kit's [`Error`]. For each call it:
//!
//! 1. takes the parent: the OpenTelemetry context stored in the request
//!    context (a server's propagator puts the remote parent there; an
//!    upstream `Trace` puts its own span there), or else the current one;
//! 2. starts a span of the layer's kind and name with the layer's static
//!    attributes, as a child of that parent;
//! 3. stores the context holding the new span back into the request
//!    context, so the endpoint's outbound calls become its children and a
//!    client's propagator injects *this* span as the remote parent;
//! 4. runs the inner call with that context attached as the current one
//!    (for `tracing` spans and log lines inside the call);
//! 5. ends the span with the outcome: `rpc.grpc.status_code` and/or
//!    `http.response.status_code` when the layer was told the protocol,
//!    and an error status by the rules in [`semconv`](crate::semconv). A
//!    call dropped before it finished (the caller went away) ends as
//!    `Cancelled`.
//!
//! When the sampler drops the span, nothing is recorded or exported, but
//! its (unsampled) span context still travels, so the whole trace stays
//! unsampled downstream.
//!
//! # Streamed responses
//!
//! For an endpoint that answers with a stream (gRPC server streaming, a
//! Server-Sent Events feed), [`TraceLayer::streaming`] keeps the span open
//! until the stream ends instead of ending it when the stream is returned:
//! see [`TraceStream`].
//!
//! # Ordering
//!
//! Put the layer outermost on a server endpoint, so its span covers every
//! other middleware (a limiter's rejection or a breaker's refusal is then
//! recorded on the span); on a client, put it outside the retry layer for
//! one span per logical call, or inside it for one span per attempt.

mod future;
mod layer;
mod stream;

pub use self::future::ResponseFuture;
pub use self::layer::TraceLayer;
pub use self::stream::{StreamResponseFuture, StreamTraceLayer, TraceStream, TracedStream};

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use kit_endpoint::{Error, HasContext};
use opentelemetry::KeyValue;
use opentelemetry::trace::{Span as _, SpanBuilder, SpanKind, TraceContextExt as _, Tracer};
use tower_service::Service;

use crate::ContextExt;

/// Traces calls of an inner service. See the [module docs](self).
pub struct Trace<S, T> {
    inner: S,
    shared: Arc<Shared<T>>,
}

/// What every call's span is built from; shared by clones of the service.
struct Shared<T> {
    tracer: Arc<T>,
    name: Cow<'static, str>,
    kind: SpanKind,
    attributes: Vec<KeyValue>,
    /// Record `rpc.grpc.status_code`.
    grpc: bool,
    /// Record `http.response.status_code`.
    http: bool,
}

impl<S, T> Trace<S, T> {
    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, to change.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S: Clone, T> Clone for Trace<S, T> {
    fn clone(&self) -> Self {
        Trace {
            inner: self.inner.clone(),
            shared: self.shared.clone(),
        }
    }
}

impl<S: fmt::Debug, T> fmt::Debug for Trace<S, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Trace")
            .field("inner", &self.inner)
            .field("name", &self.shared.name)
            .field("kind", &self.shared.kind)
            .finish_non_exhaustive()
    }
}

impl<S, T, Req> Service<Req> for Trace<S, T>
where
    S: Service<Req>,
    S::Error: Into<Error>,
    Req: HasContext,
    T: Tracer,
    T::Span: Send + Sync + 'static,
{
    type Response = S::Response;
    type Error = Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, mut req: Req) -> Self::Future {
        let (cx, outcome) = self.start(&mut req);
        let inner = {
            let _attached = cx.clone().attach();
            self.inner.call(req)
        };
        ResponseFuture::new(inner, cx, outcome)
    }
}

impl<S, T: Tracer> Trace<S, T>
where
    T::Span: Send + Sync + 'static,
{
    /// Starts the call's span (steps 1 to 3 of the module docs): returns
    /// the context holding it, also stored in the request's context.
    fn start<Req: HasContext>(&self, req: &mut Req) -> (opentelemetry::Context, future::Outcome) {
        let shared = &*self.shared;
        let ctx = req.context_mut();
        let cx = {
            let current;
            let parent = match ctx.otel_context() {
                Some(stored) => stored,
                None => {
                    current = opentelemetry::Context::current();
                    &current
                }
            };
            let builder = SpanBuilder::from_name(shared.name.clone())
                .with_kind(shared.kind.clone())
                .with_attributes(shared.attributes.clone());
            let span = shared.tracer.build_with_context(builder, parent);
            if span.is_recording() {
                parent.with_span(span)
            } else {
                // Nothing to record: carry only the span context (unsampled),
                // without boxing the span.
                parent.with_remote_span_context(span.span_context().clone())
            }
        };
        ctx.set_otel_context(cx.clone());
        let outcome = future::Outcome {
            kind: shared.kind.clone(),
            grpc: shared.grpc,
            http: shared.http,
        };
        (cx, outcome)
    }
}

#[cfg(test)]
mod tests;
