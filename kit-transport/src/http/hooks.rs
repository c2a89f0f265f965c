//! Options shared by HTTP servers and clients: hooks, finalizer, error
//! encoder, limits.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderMap, Method, StatusCode};
use kit_endpoint::{Context, Error};

use super::Body;
use crate::propagation::{Propagator, Propagators};

type BeforeFn = dyn Fn(&http::request::Parts, &mut Context) + Send + Sync;
type AfterFn = dyn Fn(&Context, &mut HeaderMap) + Send + Sync;
type FinalizerFn = dyn Fn(&Finished<'_>) + Send + Sync;
type ErrorEncoderFn = dyn Fn(&Error) -> http::Response<Body> + Send + Sync;
type ClientBeforeFn = dyn Fn(&Context, &mut HeaderMap) + Send + Sync;

/// What the finalizer learns about each request, once, whatever happened.
#[derive(Debug)]
pub struct Finished<'a> {
    /// The request method.
    pub method: &'a Method,
    /// The request path.
    pub path: &'a str,
    /// The status sent; 499 if the client went away first.
    pub status: StatusCode,
    /// The response body size, when known up front.
    pub size: Option<u64>,
    /// Time from the start of the request to the response (or the drop).
    pub duration: Duration,
    /// The error, when the request failed.
    pub error: Option<&'a Error>,
    /// Whether the request was dropped before a response was ready (the
    /// client disconnected, or the server shut down).
    pub cancelled: bool,
    /// Whether the endpoint was called. `false` for a request refused
    /// before it: a malformed timeout header, a body over the limit, a
    /// decode failure, a deadline already passed. Endpoint middleware
    /// (metrics, logs, traces) never sees those requests; the finalizer does.
    pub endpoint_called: bool,
}

/// Settings of an [`HttpServer`](super::HttpServer), shareable by every
/// route of a service.
#[derive(Clone)]
pub struct ServerOptions {
    pub(crate) before: Vec<Arc<BeforeFn>>,
    pub(crate) after: Vec<Arc<AfterFn>>,
    pub(crate) finalizer: Option<Arc<FinalizerFn>>,
    pub(crate) error_encoder: Arc<ErrorEncoderFn>,
    pub(crate) body_limit: usize,
    pub(crate) propagators: Propagators,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            before: Vec::new(),
            after: Vec::new(),
            finalizer: None,
            error_encoder: Arc::new(super::json::encode_error),
            body_limit: 4 << 20,
            propagators: Propagators::default(),
        }
    }
}

impl ServerOptions {
    /// Defaults: JSON errors, a 4 MiB body limit, no hooks.
    pub fn new() -> ServerOptions {
        ServerOptions::default()
    }

    /// Adds a hook that reads the request head into the context, before
    /// decoding. Hooks run in the order added.
    pub fn before(
        mut self,
        f: impl Fn(&http::request::Parts, &mut Context) + Send + Sync + 'static,
    ) -> Self {
        self.before.push(Arc::new(f));
        self
    }

    /// Adds a hook that writes response headers after a successful call.
    /// Hooks run in the order added; they are skipped on errors.
    pub fn after(mut self, f: impl Fn(&Context, &mut HeaderMap) + Send + Sync + 'static) -> Self {
        self.after.push(Arc::new(f));
        self
    }

    /// Sets the finalizer, called exactly once per request.
    pub fn finalizer(mut self, f: impl Fn(&Finished<'_>) + Send + Sync + 'static) -> Self {
        self.finalizer = Some(Arc::new(f));
        self
    }

    /// Replaces the error encoder (default: [`json::encode_error`](super::json::encode_error)).
    pub fn error_encoder(
        mut self,
        f: impl Fn(&Error) -> http::Response<Body> + Send + Sync + 'static,
    ) -> Self {
        self.error_encoder = Arc::new(f);
        self
    }

    /// The largest request body accepted, in bytes; larger ones get 413.
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// Adds a propagator that extracts context from request headers.
    pub fn propagator(mut self, p: impl Propagator) -> Self {
        self.propagators.push(p);
        self
    }
}

impl fmt::Debug for ServerOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerOptions")
            .field("before", &self.before.len())
            .field("after", &self.after.len())
            .field("finalizer", &self.finalizer.is_some())
            .field("body_limit", &self.body_limit)
            .field("propagators", &self.propagators)
            .finish()
    }
}

/// Settings of an [`HttpClient`](super::HttpClient).
#[derive(Clone)]
pub struct ClientOptions {
    pub(crate) before: Vec<Arc<ClientBeforeFn>>,
    pub(crate) body_limit: usize,
    pub(crate) propagators: Propagators,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            before: Vec::new(),
            body_limit: 16 << 20,
            propagators: Propagators::default(),
        }
    }
}

impl ClientOptions {
    /// Defaults: a 16 MiB response body limit, no hooks.
    pub fn new() -> ClientOptions {
        ClientOptions::default()
    }

    /// Adds a hook that writes request headers from the context.
    pub fn before(mut self, f: impl Fn(&Context, &mut HeaderMap) + Send + Sync + 'static) -> Self {
        self.before.push(Arc::new(f));
        self
    }

    /// The largest response body accepted, in bytes.
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// Adds a propagator that injects context into request headers.
    pub fn propagator(mut self, p: impl Propagator) -> Self {
        self.propagators.push(p);
        self
    }
}

impl fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientOptions")
            .field("before", &self.before.len())
            .field("body_limit", &self.body_limit)
            .field("propagators", &self.propagators)
            .finish()
    }
}
