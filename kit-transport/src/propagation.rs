//! Propagation hooks: how context crosses a hop.
//!
//! A [`Propagator`] writes what it needs from a request's [`Context`] into
//! outgoing headers (or gRPC metadata) on the client side, and reads it back
//! into the context on the server side. kit-tracing implements one for W3C
//! `traceparent`/`tracestate` and baggage; a service can add its own (tenant
//! ids, auth tokens to forward). Every kit server and client takes a list of
//! them, and both transports present headers and metadata as an
//! [`http::HeaderMap`], so one propagator serves HTTP and gRPC alike.
//!
//! ```
//! use http::HeaderMap;
//! use kit_endpoint::Context;
//! use kit_transport::propagation::{ForwardHeaders, Propagator};
//!
//! // Forward the tenant header from an inbound request to every outbound call.
//! let fwd = ForwardHeaders::new(["x-tenant"]);
//! let mut inbound = HeaderMap::new();
//! inbound.insert("x-tenant", "acme".parse().unwrap());
//! let mut ctx = Context::new();
//! fwd.extract(&inbound, &mut ctx);
//! let mut outbound = HeaderMap::new();
//! fwd.inject(&ctx, &mut outbound);
//! assert_eq!(outbound["x-tenant"], "acme");
//! ```

use std::fmt;
use std::sync::Arc;

use http::{HeaderMap, HeaderName, HeaderValue};
use kit_endpoint::Context;

/// Moves context across a hop, through headers.
pub trait Propagator: Send + Sync + 'static {
    /// Client side: writes what this propagator carries from `ctx` into the
    /// outgoing headers.
    fn inject(&self, ctx: &Context, headers: &mut HeaderMap);

    /// Server side: reads the incoming headers into `ctx`.
    fn extract(&self, headers: &HeaderMap, ctx: &mut Context);
}

/// A shared list of propagators, applied in order.
#[derive(Clone, Default)]
pub struct Propagators(Arc<Vec<Arc<dyn Propagator>>>);

impl Propagators {
    /// Appends a propagator.
    pub fn push(&mut self, p: impl Propagator) {
        Arc::make_mut(&mut self.0).push(Arc::new(p));
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Runs every propagator's `inject`.
    pub fn inject(&self, ctx: &Context, headers: &mut HeaderMap) {
        for p in self.0.iter() {
            p.inject(ctx, headers);
        }
    }

    /// Runs every propagator's `extract`.
    pub fn extract(&self, headers: &HeaderMap, ctx: &mut Context) {
        for p in self.0.iter() {
            p.extract(headers, ctx);
        }
    }
}

impl fmt::Debug for Propagators {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Propagators({})", self.0.len())
    }
}

/// Copies the named headers into the context's metadata on the way in, and
/// from the metadata into headers on the way out.
#[derive(Clone, Debug)]
pub struct ForwardHeaders {
    names: Vec<HeaderName>,
}

impl ForwardHeaders {
    /// Forwards these header names. Names that are not valid header names
    /// are ignored.
    pub fn new<I, S>(names: I) -> ForwardHeaders
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        ForwardHeaders {
            names: names
                .into_iter()
                .filter_map(|n| HeaderName::from_bytes(n.as_ref().as_bytes()).ok())
                .collect(),
        }
    }
}

impl Propagator for ForwardHeaders {
    fn inject(&self, ctx: &Context, headers: &mut HeaderMap) {
        for name in &self.names {
            for v in ctx.metadata().get_all(name.as_str()) {
                if let Ok(v) = HeaderValue::from_maybe_shared(v.clone()) {
                    headers.append(name.clone(), v);
                }
            }
        }
    }

    fn extract(&self, headers: &HeaderMap, ctx: &mut Context) {
        for name in &self.names {
            for v in headers.get_all(name) {
                ctx.metadata_mut().append(
                    name.as_str().to_owned(),
                    bytes::Bytes::copy_from_slice(v.as_bytes()),
                );
            }
        }
    }
}
