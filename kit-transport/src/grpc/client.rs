//! The gRPC client side of an endpoint.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use futures_core::Stream;
use futures_util::StreamExt;
use http::HeaderMap;
use http::uri::PathAndQuery;
use kit_endpoint::{Context, Error, Request};
use tonic::client::Grpc;
use tonic::metadata::MetadataMap;
use tonic::transport::Channel;
use tower_service::Service;

use super::Codec;
use super::status::from_status;
use crate::propagation::{Propagator, Propagators};
use crate::timeout::{GRPC_TIMEOUT, format_grpc_timeout};

type BeforeFn = dyn Fn(&Context, &mut HeaderMap) + Send + Sync;

/// A lazily connecting channel to `uri` (`http://host:port`): HTTP/2 with
/// one multiplexed connection, reconnecting as needed.
pub fn channel(uri: &str) -> Result<Channel, Error> {
    Ok(Channel::from_shared(uri.to_owned())
        .map_err(|e| Error::invalid_argument(format!("bad gRPC URI {uri:?}: {e}")))?
        .connect_lazy())
}

/// A lazily connecting TLS channel to `uri` (`https://host:port`), trusting
/// the CAs in `ca_pem` and presenting `identity` (certificate chain PEM, key
/// PEM) when given; `domain` is the name the server's certificate must carry.
#[cfg(feature = "tls")]
pub fn channel_tls(
    uri: &str,
    domain: &str,
    ca_pem: &[u8],
    identity: Option<(&[u8], &[u8])>,
) -> Result<Channel, Error> {
    use tonic::transport::{Certificate, ClientTlsConfig, Identity};
    let mut tls = ClientTlsConfig::new()
        .domain_name(domain)
        .ca_certificate(Certificate::from_pem(ca_pem));
    if let Some((chain, key)) = identity {
        tls = tls.identity(Identity::from_pem(chain, key));
    }
    Ok(Channel::from_shared(uri.to_owned())
        .map_err(|e| Error::invalid_argument(format!("bad gRPC URI {uri:?}: {e}")))?
        .tls_config(tls)
        .map_err(|e| Error::invalid_argument(format!("gRPC TLS: {e}")))?
        .connect_lazy())
}

struct Shared<Enc, Dec> {
    path: PathAndQuery,
    encode: Enc,
    decode: Dec,
    before: Vec<Arc<BeforeFn>>,
    propagators: Propagators,
}

impl<Enc, Dec> Shared<Enc, Dec> {
    /// Builds the tonic request: deadline, propagated context, hooks.
    fn request<P>(&self, ctx: &Context, message: P) -> Result<tonic::Request<P>, Error> {
        if ctx.is_expired() {
            return Err(Error::deadline_exceeded("deadline passed before the call"));
        }
        let mut headers = HeaderMap::new();
        if let Some(left) = ctx.time_left() {
            headers.insert(GRPC_TIMEOUT, format_grpc_timeout(left));
        }
        self.propagators.inject(ctx, &mut headers);
        for hook in &self.before {
            hook(ctx, &mut headers);
        }
        Ok(tonic::Request::from_parts(
            MetadataMap::from_headers(headers),
            tonic::Extensions::default(),
            message,
        ))
    }
}

macro_rules! client_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        pub struct $name<Enc, Dec, P, R> {
            grpc: Grpc<Channel>,
            shared: Arc<Shared<Enc, Dec>>,
            _types: PhantomData<fn(P) -> R>,
        }

        impl<Enc, Dec, P, R> $name<Enc, Dec, P, R> {
            /// A client for the method at `path` (`/package.Service/Method`)
            /// on `channel`.
            pub fn new(channel: Channel, path: &'static str, encode: Enc, decode: Dec) -> Self {
                $name {
                    grpc: Grpc::new(channel),
                    shared: Arc::new(Shared {
                        path: PathAndQuery::from_static(path),
                        encode,
                        decode,
                        before: Vec::new(),
                        propagators: Propagators::default(),
                    }),
                    _types: PhantomData,
                }
            }

            /// Adds a hook that writes metadata (as headers) from the context.
            /// Call before cloning the client.
            pub fn before(mut self, f: impl Fn(&Context, &mut HeaderMap) + Send + Sync + 'static) -> Self {
                if let Some(shared) = Arc::get_mut(&mut self.shared) {
                    shared.before.push(Arc::new(f));
                }
                self
            }

            /// Adds a propagator that injects context into request metadata.
            /// Call before cloning the client.
            pub fn propagator(mut self, p: impl Propagator) -> Self {
                if let Some(shared) = Arc::get_mut(&mut self.shared) {
                    shared.propagators.push(p);
                }
                self
            }

            /// Sets the largest reply message accepted (tonic's default is 4 MiB).
            pub fn max_decoding_message_size(mut self, bytes: usize) -> Self {
                self.grpc = self.grpc.max_decoding_message_size(bytes);
                self
            }
        }

        impl<Enc, Dec, P, R> Clone for $name<Enc, Dec, P, R> {
            fn clone(&self) -> Self {
                $name {
                    grpc: self.grpc.clone(),
                    shared: self.shared.clone(),
                    _types: PhantomData,
                }
            }
        }

        impl<Enc, Dec, P, R> fmt::Debug for $name<Enc, Dec, P, R> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name))
                    .field("path", &self.shared.path)
                    .finish_non_exhaustive()
            }
        }
    };
}

client_type! {
    /// Calls a unary gRPC method: an [`Endpoint`](kit_endpoint::Endpoint) in
    /// its own right.
    ///
    /// An expired context deadline fails at once; the time left goes out as
    /// `grpc-timeout` and bounds the call; a non-OK status comes back as the
    /// kit error with the same code.
    GrpcClient
}

client_type! {
    /// Calls a server-streaming gRPC method; the response is a stream of
    /// decoded items, ending with the error if the server sends one.
    GrpcStreamClient
}

/// The kit error for a status the client got. tonic turns a failure to
/// connect (refused, TLS handshake, reset) into `UNKNOWN` "transport error",
/// with the cause as the status' source; a status the server sent has no
/// source. Such local failures mean the server was not reached:
/// `Unavailable`, which a retry elsewhere may fix.
fn client_error(status: &tonic::Status) -> Error {
    let err = from_status(status);
    match std::error::Error::source(status) {
        Some(cause) if status.code() == tonic::Code::Unknown => {
            let mut message = format!("{}: {cause}", status.message());
            let mut next = cause.source();
            while let Some(c) = next {
                message.push_str(": ");
                message.push_str(&c.to_string());
                next = c.source();
            }
            Error::unavailable(message)
        }
        _ => err,
    }
}

/// Once the caller's deadline has passed, whatever failed (tonic's own
/// timeout says `CANCELLED`, the server may say `DEADLINE_EXCEEDED`, the
/// connection may have been cut) is reported as `DeadlineExceeded`.
fn deadline_wins(ctx: &Context, err: Error) -> Error {
    if ctx.is_expired() && err.code() != kit_endpoint::Code::DeadlineExceeded {
        Error::deadline_exceeded(format!("deadline exceeded ({err})"))
    } else {
        err
    }
}

/// The stream a [`GrpcStreamClient`] returns.
pub type ItemStream<T> = Pin<Box<dyn Stream<Item = Result<T, Error>> + Send + 'static>>;

impl<Enc, Dec, P, R, Req, Resp> Service<Request<Req>> for GrpcClient<Enc, Dec, P, R>
where
    Enc: Fn(Req) -> Result<P, Error> + Send + Sync + 'static,
    Dec: Fn(R) -> Result<Resp, Error> + Send + Sync + 'static,
    P: prost::Message + Send + 'static,
    R: prost::Message + Default + Send + 'static,
    Req: Send + 'static,
    Resp: Send + 'static,
{
    type Response = Resp;
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<Resp, Error>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut TaskContext<'_>) -> Poll<Result<(), Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<Req>) -> Self::Future {
        let mut grpc = self.grpc.clone();
        let shared = self.shared.clone();
        Box::pin(async move {
            let (ctx, body) = req.into_parts();
            let request = shared.request(&ctx, (shared.encode)(body)?)?;
            let exchange = async {
                grpc.ready()
                    .await
                    .map_err(|e| Error::unavailable(format!("gRPC channel: {e}")))?;
                grpc.unary(request, shared.path.clone(), Codec::<P, R>::default())
                    .await
                    .map_err(|s| client_error(&s))
            };
            let reply = match ctx.deadline() {
                Some(at) => tokio::time::timeout_at(at, exchange)
                    .await
                    .map_err(|_| Error::deadline_exceeded("deadline exceeded"))
                    .and_then(|r| r.map_err(|e| deadline_wins(&ctx, e)))?,
                None => exchange.await?,
            };
            (shared.decode)(reply.into_inner())
        })
    }
}

impl<Enc, Dec, P, R, Req, Resp> Service<Request<Req>> for GrpcStreamClient<Enc, Dec, P, R>
where
    Enc: Fn(Req) -> Result<P, Error> + Send + Sync + 'static,
    Dec: Fn(R) -> Result<Resp, Error> + Send + Sync + 'static,
    P: prost::Message + Send + 'static,
    R: prost::Message + Default + Send + 'static,
    Req: Send + 'static,
    Resp: Send + 'static,
{
    type Response = ItemStream<Resp>;
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<ItemStream<Resp>, Error>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut TaskContext<'_>) -> Poll<Result<(), Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<Req>) -> Self::Future {
        let mut grpc = self.grpc.clone();
        let shared = self.shared.clone();
        Box::pin(async move {
            let (ctx, body) = req.into_parts();
            let request = shared.request(&ctx, (shared.encode)(body)?)?;
            grpc.ready()
                .await
                .map_err(|e| Error::unavailable(format!("gRPC channel: {e}")))?;
            let response = grpc
                .server_streaming(request, shared.path.clone(), Codec::<P, R>::default())
                .await
                .map_err(|s| deadline_wins(&ctx, client_error(&s)))?;
            let decode = shared.clone();
            let items = response.into_inner().map(move |item| match item {
                Ok(reply) => (decode.decode)(reply),
                Err(status) => Err(from_status(&status)),
            });
            Ok(Box::pin(items) as ItemStream<Resp>)
        })
    }
}
