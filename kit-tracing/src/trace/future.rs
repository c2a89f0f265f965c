use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use kit_endpoint::{Code, Error};
use opentelemetry::KeyValue;
use opentelemetry::trace::{SpanKind, Status, TraceContextExt as _};
use pin_project_lite::pin_project;

use crate::semconv;

pin_project! {
    /// The response future of [`Trace`](super::Trace): runs the inner call
    /// with the span's context attached, and ends the span with the
    /// outcome (or as cancelled, if dropped first).
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        span: SpanGuard,
    }
}

impl<F> ResponseFuture<F> {
    pub(super) fn new(inner: F, cx: opentelemetry::Context, outcome: Outcome) -> Self {
        ResponseFuture {
            inner,
            span: SpanGuard::new(cx, outcome),
        }
    }
}

impl<F> fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture")
            .field("ended", &self.span.cx.is_none())
            .finish_non_exhaustive()
    }
}

impl<F, T, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<T, E>>,
    E: Into<Error>,
{
    type Output = Result<T, Error>;

    fn poll(self: Pin<&mut Self>, task: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = {
            let _attached = this.span.cx.as_ref().map(|cx| cx.clone().attach());
            ready!(this.inner.poll(task)).map_err(Into::into)
        };
        match &result {
            Ok(_) => this.span.end(None),
            Err(e) => this.span.end(Some((e.code(), e.message()))),
        }
        Poll::Ready(result)
    }
}

/// Which outcome attributes to record, and how to judge an error.
#[derive(Debug)]
pub(super) struct Outcome {
    pub(super) kind: SpanKind,
    pub(super) grpc: bool,
    pub(super) http: bool,
}

/// Ends the span exactly once: with the outcome, or from `drop` as
/// cancelled.
pub(super) struct SpanGuard {
    cx: Option<opentelemetry::Context>,
    outcome: Outcome,
}

impl SpanGuard {
    pub(super) fn new(cx: opentelemetry::Context, outcome: Outcome) -> SpanGuard {
        SpanGuard {
            cx: Some(cx),
            outcome,
        }
    }

    /// The span's context while it is open.
    pub(super) fn context(&self) -> Option<&opentelemetry::Context> {
        self.cx.as_ref()
    }

    pub(super) fn end(&mut self, failure: Option<(Code, &str)>) {
        let Some(cx) = self.cx.take() else { return };
        let span = cx.span();
        if !span.is_recording() {
            return;
        }
        let o = &self.outcome;
        if o.grpc {
            let code = failure.map_or(0, |(c, _)| c.as_i32());
            span.set_attribute(KeyValue::new(
                semconv::RPC_GRPC_STATUS_CODE,
                i64::from(code),
            ));
        }
        #[cfg(feature = "transport")]
        if o.http {
            let status =
                failure.map_or(200, |(c, _)| kit_transport::codes::http_status(c).as_u16());
            span.set_attribute(KeyValue::new(
                semconv::HTTP_RESPONSE_STATUS_CODE,
                i64::from(status),
            ));
        }
        #[cfg(not(feature = "transport"))]
        let _ = o.http;
        if let Some((code, message)) = failure
            && semconv::is_error(&o.kind, code)
        {
            span.set_attribute(KeyValue::new(semconv::ERROR_TYPE, code.as_str()));
            let description = if message.is_empty() {
                code.as_str().to_owned()
            } else {
                message.to_owned()
            };
            span.set_status(Status::error(description));
        }
        span.end();
    }
}

impl Drop for SpanGuard {
    fn drop(&mut self) {
        self.end(Some((Code::Cancelled, "cancelled before it completed")));
    }
}
