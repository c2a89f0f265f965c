//! The gRPC server side of an endpoint.

use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures_core::Stream;
use futures_util::StreamExt;
use http::HeaderMap;
use kit_endpoint::{Code, Context, Error, Request};
use tokio::time::Instant;
use tonic::Status;
use tower::ServiceExt;
use tower_service::Service;

use super::status::to_status;
use crate::propagation::{Propagator, Propagators};

/// The stream type a server-streaming method returns.
pub type ResponseStream<R> = Pin<Box<dyn Stream<Item = Result<R, Status>> + Send + 'static>>;

type BeforeFn = dyn Fn(&HeaderMap, &mut Context) + Send + Sync;
type FinalizerFn = dyn Fn(&GrpcFinished) + Send + Sync;

/// What the finalizer learns about each call, once.
#[derive(Debug)]
pub struct GrpcFinished {
    /// `None` for OK, else the error's code.
    pub code: Option<Code>,
    /// Time until the response; for a server-streaming call, until its
    /// stream ended, failed or was dropped.
    pub duration: Duration,
    /// Whether the call was dropped before it finished.
    pub cancelled: bool,
    /// Whether the endpoint was called. `false` for a call refused before
    /// it: a malformed `grpc-timeout`, a decode failure, a deadline already
    /// passed. Endpoint middleware never sees those calls; the finalizer does.
    /// (A message that is not valid protobuf is refused by tonic's codec
    /// before this server runs, and reaches no finalizer.)
    pub endpoint_called: bool,
}

/// Settings of a [`GrpcServer`], shareable by every method of a service.
#[derive(Clone, Default)]
pub struct GrpcServerOptions {
    before: Vec<Arc<BeforeFn>>,
    finalizer: Option<Arc<FinalizerFn>>,
    propagators: Propagators,
}

impl GrpcServerOptions {
    /// No hooks.
    pub fn new() -> Self {
        GrpcServerOptions::default()
    }

    /// Adds a hook that reads request metadata (as headers) into the context.
    pub fn before(mut self, f: impl Fn(&HeaderMap, &mut Context) + Send + Sync + 'static) -> Self {
        self.before.push(Arc::new(f));
        self
    }

    /// Sets the finalizer, called exactly once per call.
    pub fn finalizer(mut self, f: impl Fn(&GrpcFinished) + Send + Sync + 'static) -> Self {
        self.finalizer = Some(Arc::new(f));
        self
    }

    /// Adds a propagator that extracts context from request metadata.
    pub fn propagator(mut self, p: impl Propagator) -> Self {
        self.propagators.push(p);
        self
    }
}

impl fmt::Debug for GrpcServerOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GrpcServerOptions")
            .field("before", &self.before.len())
            .field("finalizer", &self.finalizer.is_some())
            .field("propagators", &self.propagators)
            .finish()
    }
}

/// One endpoint behind one gRPC method: decode the protobuf message into
/// the endpoint's request, call, encode the response into the reply.
///
/// The context's deadline comes from `grpc-timeout`; propagators and before
/// hooks read the metadata; an expired deadline never reaches the endpoint;
/// errors become a `Status` with the same code. Call [`unary`](Self::unary)
/// or [`server_streaming`](Self::server_streaming) from the method of the
/// tonic-generated trait.
pub struct GrpcServer<E, D, N> {
    endpoint: E,
    shared: Arc<Shared<D, N>>,
}

struct Shared<D, N> {
    decode: D,
    encode: N,
    options: GrpcServerOptions,
}

impl<E, D, N> GrpcServer<E, D, N> {
    /// A handler with no hooks.
    pub fn new(endpoint: E, decode: D, encode: N) -> Self {
        GrpcServer::with_options(endpoint, decode, encode, GrpcServerOptions::default())
    }

    /// A handler with options.
    pub fn with_options(endpoint: E, decode: D, encode: N, options: GrpcServerOptions) -> Self {
        GrpcServer {
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
}

impl<E: Clone, D, N> Clone for GrpcServer<E, D, N> {
    fn clone(&self) -> Self {
        GrpcServer {
            endpoint: self.endpoint.clone(),
            shared: self.shared.clone(),
        }
    }
}

impl<E, D, N> fmt::Debug for GrpcServer<E, D, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GrpcServer")
            .field("options", &self.shared.options)
            .finish_non_exhaustive()
    }
}

impl<E, D, N> GrpcServer<E, D, N> {
    /// Serves a unary call.
    pub async fn unary<P, R, Req, Resp>(
        &self,
        request: tonic::Request<P>,
    ) -> Result<tonic::Response<R>, Status>
    where
        E: Service<Request<Req>, Response = Resp, Error = Error> + Clone,
        D: Fn(P) -> Result<Req, Error>,
        N: Fn(Resp) -> Result<R, Error>,
    {
        let mut finish = Finish::new(&self.shared.options);
        let result = self
            .call(request, &finish.called)
            .await
            .and_then(|resp| (self.shared.encode)(resp));
        finish.done(result.as_ref().err());
        result.map(tonic::Response::new).map_err(|e| to_status(&e))
    }

    /// Serves a server-streaming call: the endpoint returns a stream of
    /// items, each encoded into one reply. An error item ends the stream
    /// with its status.
    pub async fn server_streaming<P, R, Req, St, Item>(
        &self,
        request: tonic::Request<P>,
    ) -> Result<tonic::Response<ResponseStream<R>>, Status>
    where
        E: Service<Request<Req>, Response = St, Error = Error> + Clone,
        D: Fn(P) -> Result<Req, Error> + Send + Sync + 'static,
        N: Fn(Item) -> Result<R, Error> + Send + Sync + 'static,
        St: Stream<Item = Result<Item, Error>> + Send + 'static,
        R: Send + 'static,
    {
        let mut finish = Finish::new(&self.shared.options);
        let stream = match self.call(request, &finish.called).await {
            Ok(stream) => stream,
            Err(e) => {
                finish.done(Some(&e));
                return Err(to_status(&e));
            }
        };
        let shared = self.shared.clone();
        let replies = Finishing {
            inner: stream.map(move |item| item.and_then(|i| (shared.encode)(i))),
            finish: Some(finish),
        };
        Ok(tonic::Response::new(Box::pin(replies)))
    }

    async fn call<P, Req, Resp>(
        &self,
        request: tonic::Request<P>,
        called: &AtomicBool,
    ) -> Result<Resp, Error>
    where
        E: Service<Request<Req>, Response = Resp, Error = Error> + Clone,
        D: Fn(P) -> Result<Req, Error>,
    {
        let options = &self.shared.options;
        let (metadata, _extensions, message) = request.into_parts();
        let headers = metadata.into_headers();
        let mut ctx = Context::new();
        if let Some(left) = crate::timeout::from_headers(&headers)? {
            ctx.set_deadline(Some(Instant::now() + left));
        }
        options.propagators.extract(&headers, &mut ctx);
        for hook in &options.before {
            hook(&headers, &mut ctx);
        }
        let req = (self.shared.decode)(message)?;
        if ctx.is_expired() {
            return Err(Error::deadline_exceeded("deadline passed before the call"));
        }
        let deadline = ctx.deadline();
        called.store(true, Ordering::Relaxed);
        let call = self
            .endpoint
            .clone()
            .oneshot(Request::with_context(ctx, req));
        match deadline {
            Some(at) => tokio::time::timeout_at(at, call)
                .await
                .map_err(|_| Error::deadline_exceeded("deadline exceeded"))?,
            None => call.await,
        }
    }
}

pin_project_lite::pin_project! {
    /// The replies of a server-streaming call: ends at the first error
    /// (sent as the call's status) and reports to the finalizer when the
    /// stream ends, fails, or is dropped (the client went away).
    struct Finishing<St> {
        #[pin]
        inner: St,
        finish: Option<Finish>,
    }
}

impl<St, R> Stream for Finishing<St>
where
    St: Stream<Item = Result<R, Error>>,
{
    type Item = Result<R, Status>;

    fn poll_next(
        self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        let this = self.project();
        let Some(finish) = this.finish else {
            return std::task::Poll::Ready(None);
        };
        let item = std::task::ready!(this.inner.poll_next(cx));
        match item {
            Some(Ok(reply)) => std::task::Poll::Ready(Some(Ok(reply))),
            Some(Err(e)) => {
                finish.done(Some(&e));
                *this.finish = None;
                std::task::Poll::Ready(Some(Err(to_status(&e))))
            }
            None => {
                finish.done(None);
                *this.finish = None;
                std::task::Poll::Ready(None)
            }
        }
    }
}

/// Calls the finalizer exactly once, from `drop` if the call is dropped.
/// It owns its finalizer (an `Arc` clone, only when there is one), so a
/// server-streaming call can hand it to its stream.
struct Finish {
    finalizer: Option<Arc<FinalizerFn>>,
    start: Instant,
    done: bool,
    /// Set by `call` just before it calls the endpoint.
    called: AtomicBool,
}

impl Finish {
    fn new(options: &GrpcServerOptions) -> Self {
        Finish {
            finalizer: options.finalizer.clone(),
            start: Instant::now(),
            done: options.finalizer.is_none(),
            called: AtomicBool::new(false),
        }
    }

    fn done(&mut self, err: Option<&Error>) {
        self.report(err.map(Error::code), false);
    }

    fn report(&mut self, code: Option<Code>, cancelled: bool) {
        if self.done {
            return;
        }
        self.done = true;
        if let Some(f) = &self.finalizer {
            f(&GrpcFinished {
                code,
                duration: self.start.elapsed(),
                cancelled,
                endpoint_called: self.called.load(Ordering::Relaxed),
            });
        }
    }
}

impl Drop for Finish {
    fn drop(&mut self) {
        self.report(Some(Code::Cancelled), true);
    }
}
