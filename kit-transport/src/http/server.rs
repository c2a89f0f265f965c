//! The HTTP server side of an endpoint: decode → endpoint → encode.

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context as TaskContext, Poll};

use bytes::Bytes;
use http::{Method, StatusCode, header};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use kit_endpoint::{BoxError, Context, Error, Request};
use tokio::time::Instant;
use tower::ServiceExt;
use tower_service::Service;

use super::{Body, Finished, PayloadTooLarge, ServerOptions};

/// Serves one endpoint over HTTP.
///
/// For each request, in order: the deadline header (`grpc-timeout` or
/// `kit-timeout-ms`) sets the context's deadline; propagators and before
/// hooks read the head into the context; the body is read up to the limit
/// (413 past it); `decode` builds the endpoint's request; the endpoint runs,
/// bounded by the deadline; `encode` builds the response; after hooks add
/// headers. Any error goes to the error encoder instead, and after hooks are
/// skipped. The finalizer runs exactly once, last, even when the client goes
/// away mid-request. An expired deadline never reaches the endpoint.
///
/// `decode` is `Fn(&http::request::Parts, Bytes) -> Result<Req, Error>` and
/// `encode` is `Fn(Resp) -> Result<http::Response<Body>, Error>`; see
/// [`json`](super::json) for the JSON ones.
pub struct HttpServer<E, D, N> {
    endpoint: E,
    shared: Arc<Shared<D, N>>,
}

struct Shared<D, N> {
    decode: D,
    encode: N,
    options: ServerOptions,
}

impl<E, D, N> HttpServer<E, D, N> {
    /// A server with default [`ServerOptions`].
    pub fn new(endpoint: E, decode: D, encode: N) -> Self {
        HttpServer::with_options(endpoint, decode, encode, ServerOptions::default())
    }

    /// A server with the given options.
    pub fn with_options(endpoint: E, decode: D, encode: N, options: ServerOptions) -> Self {
        HttpServer {
            endpoint,
            shared: Arc::new(Shared {
                decode,
                encode,
                options,
            }),
        }
    }

    /// The endpoint.
    pub fn get_ref(&self) -> &E {
        &self.endpoint
    }

    /// The endpoint, to change.
    pub fn get_mut(&mut self) -> &mut E {
        &mut self.endpoint
    }

    /// Unwraps the endpoint.
    pub fn into_inner(self) -> E {
        self.endpoint
    }
}

impl<E: Clone, D, N> Clone for HttpServer<E, D, N> {
    fn clone(&self) -> Self {
        HttpServer {
            endpoint: self.endpoint.clone(),
            shared: self.shared.clone(),
        }
    }
}

impl<E, D, N> fmt::Debug for HttpServer<E, D, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpServer")
            .field("options", &self.shared.options)
            .finish_non_exhaustive()
    }
}

impl<E, D, N, B, Req, Resp> Service<http::Request<B>> for HttpServer<E, D, N>
where
    E: Service<Request<Req>, Response = Resp, Error = Error> + Clone + Send + 'static,
    E::Future: Send + 'static,
    D: Fn(&http::request::Parts, Bytes) -> Result<Req, Error> + Send + Sync + 'static,
    N: Fn(Resp) -> Result<http::Response<Body>, Error> + Send + Sync + 'static,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
    Req: Send + 'static,
    Resp: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<http::Response<Body>, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut TaskContext<'_>) -> Poll<Result<(), Infallible>> {
        // Readiness of the endpoint is awaited inside the call, so that a
        // slow endpoint makes this request wait, not the connection.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let endpoint = self.endpoint.clone();
        let shared = self.shared.clone();
        Box::pin(async move {
            let (parts, body) = req.into_parts();
            let mut finish = FinishGuard::new(&shared.options, parts.method.clone(), &parts);
            let result = handle(&shared, endpoint, parts, body, &finish.called).await;
            let response = match result {
                Ok(response) => {
                    finish.done(&response, None);
                    response
                }
                Err(err) => {
                    let response = (shared.options.error_encoder)(&err);
                    finish.done(&response, Some(&err));
                    response
                }
            };
            Ok(response)
        })
    }
}

async fn handle<E, D, N, B, Req, Resp>(
    shared: &Shared<D, N>,
    endpoint: E,
    parts: http::request::Parts,
    body: B,
    called: &AtomicBool,
) -> Result<http::Response<Body>, Error>
where
    E: Service<Request<Req>, Response = Resp, Error = Error>,
    D: Fn(&http::request::Parts, Bytes) -> Result<Req, Error>,
    N: Fn(Resp) -> Result<http::Response<Body>, Error>,
    B: http_body::Body,
    B::Error: Into<BoxError>,
{
    let options = &shared.options;
    let mut ctx = Context::new();
    if let Some(left) = crate::timeout::from_headers(&parts.headers)? {
        ctx.set_deadline(Some(Instant::now() + left));
    }
    options.propagators.extract(&parts.headers, &mut ctx);
    for hook in &options.before {
        hook(&parts, &mut ctx);
    }

    let bytes = read_body(&parts.headers, body, options.body_limit).await?;
    let req = (shared.decode)(&parts, bytes)?;

    if ctx.is_expired() {
        return Err(Error::deadline_exceeded("deadline passed before the call"));
    }
    let deadline = ctx.deadline();
    let after_ctx = (!options.after.is_empty()).then(|| ctx.clone());
    called.store(true, Ordering::Relaxed);
    let call = endpoint.oneshot(Request::with_context(ctx, req));
    let resp = match deadline {
        Some(at) => tokio::time::timeout_at(at, call)
            .await
            .map_err(|_| Error::deadline_exceeded("deadline exceeded"))??,
        None => call.await?,
    };

    let mut response = (shared.encode)(resp)?;
    if let Some(ctx) = after_ctx {
        for hook in &options.after {
            hook(&ctx, response.headers_mut());
        }
    }
    Ok(response)
}

/// Reads the whole body, refusing more than `limit` bytes: at once when the
/// declared length is over, else as soon as the bytes read pass it.
pub(crate) async fn read_body<B>(
    headers: &http::HeaderMap,
    body: B,
    limit: usize,
) -> Result<Bytes, Error>
where
    B: http_body::Body,
    B::Error: Into<BoxError>,
{
    let too_large = || {
        Error::resource_exhausted(format!("request body is larger than {limit} bytes"))
            .with_source(PayloadTooLarge { limit })
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<LengthLimitError>() => Err(too_large()),
        Err(e) => Err(Error::invalid_argument(format!(
            "failed to read the request body: {e}"
        ))),
    }
}

/// Calls the finalizer exactly once: with the response when there is one,
/// or from `drop` when the request future is dropped first.
struct FinishGuard<'a> {
    options: &'a ServerOptions,
    method: Method,
    uri: http::Uri,
    start: Instant,
    done: bool,
    /// Set by `handle` just before it calls the endpoint.
    called: AtomicBool,
}

impl<'a> FinishGuard<'a> {
    fn new(options: &'a ServerOptions, method: Method, parts: &http::request::Parts) -> Self {
        // A `Uri` clone shares its bytes: no copy of the path per request.
        let uri = if options.finalizer.is_some() {
            parts.uri.clone()
        } else {
            http::Uri::default()
        };
        FinishGuard {
            options,
            method,
            uri,
            start: Instant::now(),
            done: options.finalizer.is_none(),
            called: AtomicBool::new(false),
        }
    }

    fn done(&mut self, response: &http::Response<Body>, error: Option<&Error>) {
        if self.done {
            return;
        }
        self.done = true;
        if let Some(f) = &self.options.finalizer {
            f(&Finished {
                method: &self.method,
                path: self.uri.path(),
                status: response.status(),
                size: http_body::Body::size_hint(response.body()).exact(),
                duration: self.start.elapsed(),
                error,
                cancelled: false,
                endpoint_called: self.called.load(Ordering::Relaxed),
            });
        }
    }
}

impl Drop for FinishGuard<'_> {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        if let Some(f) = &self.options.finalizer {
            let status = StatusCode::from_u16(499).unwrap_or(StatusCode::BAD_REQUEST);
            f(&Finished {
                method: &self.method,
                path: self.uri.path(),
                status,
                size: None,
                duration: self.start.elapsed(),
                error: None,
                cancelled: true,
                endpoint_called: self.called.load(Ordering::Relaxed),
            });
        }
    }
}
