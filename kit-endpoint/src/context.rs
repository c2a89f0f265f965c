//! Request context: deadline, metadata and typed extensions.

use std::time::Duration;

use http::Extensions;
use tokio::time::Instant;

use crate::Metadata;

/// What travels with a request besides its body: the deadline, metadata
/// (headers, gRPC metadata) and typed extensions (auth claims, a trace
/// context), like Go's `context.Context`.
///
/// A context is a plain value that a request owns (see [`Request`] and
/// [`HasContext`]); a service that calls other services passes it, or a
/// [child](Context::with_timeout) of it, along explicitly. Deadlines use
/// [`tokio::time::Instant`], so tests can pause and advance time.
///
/// Cancellation needs no field: in Rust, dropping a request's future cancels
/// it and everything it awaits, which is what Go's `ctx.Done()` exists for.
///
/// ```
/// use kit_endpoint::Context;
/// use std::time::Duration;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let parent = Context::new().with_timeout(Duration::from_secs(2));
/// // A child may tighten the deadline, never loosen it.
/// let child = parent.with_timeout(Duration::from_secs(10));
/// assert_eq!(child.deadline(), parent.deadline());
/// assert!(child.time_left().unwrap() <= Duration::from_secs(2));
/// # }
/// ```
#[derive(Clone, Debug, Default)]
pub struct Context {
    deadline: Option<Instant>,
    metadata: Metadata,
    extensions: Extensions,
}

impl Context {
    /// An empty context: no deadline, no metadata, no extensions.
    pub fn new() -> Context {
        Context::default()
    }

    /// The instant after which the work is no longer wanted, if any.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Time left before the deadline: `None` with no deadline, zero once it
    /// has passed.
    pub fn time_left(&self) -> Option<Duration> {
        self.deadline
            .map(|at| at.saturating_duration_since(Instant::now()))
    }

    /// Whether the deadline has passed.
    pub fn is_expired(&self) -> bool {
        self.deadline.is_some_and(|at| at <= Instant::now())
    }

    /// Moves the deadline to `at` if that is earlier than the current one
    /// (or if there is none). A deadline is never loosened this way.
    pub fn tighten_deadline(&mut self, at: Instant) {
        self.deadline = Some(self.deadline.map_or(at, |d| d.min(at)));
    }

    /// Sets or clears the deadline unconditionally. Transports use this when
    /// they decode an inbound deadline; services should prefer
    /// [`tighten_deadline`](Context::tighten_deadline).
    pub fn set_deadline(&mut self, deadline: Option<Instant>) {
        self.deadline = deadline;
    }

    /// A child context whose deadline is at most `at`.
    pub fn with_deadline(&self, at: Instant) -> Context {
        let mut child = self.clone();
        child.tighten_deadline(at);
        child
    }

    /// A child context whose deadline is at most `timeout` from now.
    pub fn with_timeout(&self, timeout: Duration) -> Context {
        self.with_deadline(Instant::now() + timeout)
    }

    /// The request metadata.
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// The request metadata, to change.
    pub fn metadata_mut(&mut self) -> &mut Metadata {
        &mut self.metadata
    }

    /// Typed values: one per type, for things like auth claims and trace
    /// context that have a type of their own.
    pub fn extensions(&self) -> &Extensions {
        &self.extensions
    }

    /// Typed values, to change.
    pub fn extensions_mut(&mut self) -> &mut Extensions {
        &mut self.extensions
    }
}

/// A request type that carries a [`Context`].
///
/// Middleware that needs the context (deadlines, auth, tracing) is generic
/// over `Req: HasContext`. [`Request`] implements it for any body; a service's
/// own request types can implement it with two one-line methods.
pub trait HasContext {
    /// The request's context.
    fn context(&self) -> &Context;
    /// The request's context, to change.
    fn context_mut(&mut self) -> &mut Context;
}

impl HasContext for Context {
    fn context(&self) -> &Context {
        self
    }
    fn context_mut(&mut self) -> &mut Context {
        self
    }
}

/// A request body together with its [`Context`]: what a transport hands to
/// an endpoint, and the usual request type of kit endpoints.
///
/// ```
/// use kit_endpoint::{HasContext, Request};
///
/// let mut req = Request::new("hello");
/// req.context_mut().metadata_mut().insert("tenant", "acme");
/// let (ctx, body) = req.into_parts();
/// assert_eq!(body, "hello");
/// assert_eq!(ctx.metadata().get_str("tenant"), Some("acme"));
/// ```
#[derive(Clone, Debug, Default)]
pub struct Request<T> {
    /// The context: deadline, metadata, extensions.
    pub context: Context,
    /// The decoded request body.
    pub body: T,
}

impl<T> Request<T> {
    /// A request with an empty context.
    pub fn new(body: T) -> Request<T> {
        Request {
            context: Context::new(),
            body,
        }
    }

    /// A request with the given context.
    pub fn with_context(context: Context, body: T) -> Request<T> {
        Request { context, body }
    }

    /// The context and the body.
    pub fn into_parts(self) -> (Context, T) {
        (self.context, self.body)
    }

    /// The body.
    pub fn into_body(self) -> T {
        self.body
    }

    /// A request with the same context and a body mapped by `f`.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Request<U> {
        Request {
            context: self.context,
            body: f(self.body),
        }
    }
}

impl<T> HasContext for Request<T> {
    fn context(&self) -> &Context {
        &self.context
    }
    fn context_mut(&mut self) -> &mut Context {
        &mut self.context
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn time_left_counts_down_and_stops_at_zero() {
        let ctx = Context::new().with_timeout(Duration::from_secs(3));
        assert_eq!(ctx.time_left(), Some(Duration::from_secs(3)));
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(ctx.time_left(), Some(Duration::from_secs(2)));
        assert!(!ctx.is_expired());
        tokio::time::advance(Duration::from_secs(5)).await;
        assert_eq!(ctx.time_left(), Some(Duration::ZERO));
        assert!(ctx.is_expired());
    }

    #[tokio::test(start_paused = true)]
    async fn children_only_tighten() {
        let parent = Context::new();
        assert_eq!(parent.time_left(), None);
        let child = parent.with_timeout(Duration::from_secs(5));
        let grandchild = child.with_timeout(Duration::from_secs(1));
        assert_eq!(grandchild.time_left(), Some(Duration::from_secs(1)));
        let loose = grandchild.with_timeout(Duration::from_secs(60));
        assert_eq!(loose.deadline(), grandchild.deadline());
        // the parent is untouched
        assert_eq!(parent.deadline(), None);
    }

    #[test]
    fn extensions_hold_typed_values() {
        #[derive(Clone, Debug, PartialEq)]
        struct Claims(&'static str);
        let mut ctx = Context::new();
        ctx.extensions_mut().insert(Claims("alice"));
        let child = ctx.clone();
        assert_eq!(child.extensions().get::<Claims>(), Some(&Claims("alice")));
    }
}
