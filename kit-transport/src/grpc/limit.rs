//! Messages over the size limit reported as `RESOURCE_EXHAUSTED`.
//!
//! tonic rejects a message larger than `max_decoding_message_size` with
//! `OUT_OF_RANGE`; gRPC's status-code guide says `RESOURCE_EXHAUSTED`, and
//! kit maps "too large" to `ResourceExhausted` on every transport. tonic
//! sends that rejection as a trailers-only response (the status in the
//! headers), which this layer rewrites. It touches nothing else.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use http::HeaderValue;
use pin_project_lite::pin_project;
use tower::Layer;
use tower_service::Service;

/// The start of tonic's message for this case, percent-encoded as it is in
/// the `grpc-message` header.
const TOO_LARGE: &[u8] = b"Error,%20decoded%20message%20length%20too%20large";

/// Applies [`MessageLimit`].
#[derive(Clone, Copy, Debug, Default)]
pub struct MessageLimitLayer;

impl<S> Layer<S> for MessageLimitLayer {
    type Service = MessageLimit<S>;
    fn layer(&self, inner: S) -> MessageLimit<S> {
        MessageLimit { inner }
    }
}

/// Rewrites tonic's `OUT_OF_RANGE` "decoded message length too large"
/// rejection into `RESOURCE_EXHAUSTED`; everything else passes untouched.
#[derive(Clone, Debug)]
pub struct MessageLimit<S> {
    inner: S,
}

impl<S, Req, B> Service<Req> for MessageLimit<S>
where
    S: Service<Req, Response = http::Response<B>>,
{
    type Response = http::Response<B>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Req) -> Self::Future {
        ResponseFuture {
            inner: self.inner.call(req),
        }
    }
}

pin_project! {
    /// The response future of [`MessageLimit`].
    #[derive(Debug)]
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<http::Response<B>, E>>,
{
    type Output = Result<http::Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut response = ready!(self.project().inner.poll(cx))?;
        let headers = response.headers_mut();
        let too_large = headers.get("grpc-status").map(HeaderValue::as_bytes) == Some(b"11")
            && headers
                .get("grpc-message")
                .is_some_and(|m| m.as_bytes().starts_with(TOO_LARGE));
        if too_large {
            headers.insert("grpc-status", HeaderValue::from_static("8"));
        }
        Poll::Ready(Ok(response))
    }
}
