//! The HTTP client side of an endpoint: encode → call → decode.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Uri};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use kit_endpoint::{Error, Request};
use tower_service::Service;

use super::ClientOptions;
use crate::timeout::{KIT_TIMEOUT_MS, format_timeout_ms};

#[cfg(feature = "tls")]
type Connector = hyper_rustls::HttpsConnector<HttpConnector>;
#[cfg(not(feature = "tls"))]
type Connector = HttpConnector;

/// A pool of keep-alive connections, shared by every client made from it.
///
/// HTTP/1.1 by default; [`Pool::http2`] speaks HTTP/2 with prior knowledge
/// (h2c); over TLS the protocol is negotiated with ALPN.
#[derive(Clone)]
pub struct Pool {
    client: Client<Connector, Full<Bytes>>,
}

impl fmt::Debug for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool").finish_non_exhaustive()
    }
}

impl Default for Pool {
    fn default() -> Self {
        Pool::new()
    }
}

fn connector() -> HttpConnector {
    let mut http = HttpConnector::new();
    http.set_nodelay(true);
    http.set_connect_timeout(Some(Duration::from_secs(5)));
    http.enforce_http(false);
    http
}

impl Pool {
    /// An HTTP/1.1 pool (HTTP/2 where TLS negotiates it).
    pub fn new() -> Pool {
        Pool::build(false, default_connector())
    }

    /// An HTTP/2-only pool: h2c on plain connections.
    pub fn http2() -> Pool {
        Pool::build(true, default_connector())
    }

    /// A pool that speaks TLS with this configuration (see
    /// [`tls::client_config`](crate::tls::client_config)); `http://` URLs
    /// still work in the clear.
    #[cfg(feature = "tls")]
    pub fn with_tls(config: Arc<rustls::ClientConfig>) -> Pool {
        Pool::build(false, tls_connector((*config).clone()))
    }

    fn build(http2_only: bool, connector: Connector) -> Pool {
        let mut builder = Client::builder(TokioExecutor::new());
        builder
            .pool_idle_timeout(Duration::from_secs(90))
            .http2_only(http2_only);
        Pool {
            client: builder.build(connector),
        }
    }
}

#[cfg(not(feature = "tls"))]
fn default_connector() -> Connector {
    connector()
}

/// Without a configuration, `https://` URLs trust no CA: kit's clients talk
/// to services with a private CA, given through [`Pool::with_tls`].
#[cfg(feature = "tls")]
fn default_connector() -> Connector {
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map(|b| {
        b.with_root_certificates(rustls::RootCertStore::empty())
            .with_no_client_auth()
    });
    match config {
        Ok(config) => tls_connector(config),
        // ring supports the safe default versions; should that ever change,
        // fall back to rustls' process-wide default provider.
        Err(_) => tls_connector(
            rustls::ClientConfig::builder()
                .with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth(),
        ),
    }
}

#[cfg(feature = "tls")]
fn tls_connector(mut config: rustls::ClientConfig) -> Connector {
    // hyper-rustls sets ALPN itself, from the HTTP versions it enables.
    config.alpn_protocols.clear();
    hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(config)
        .https_or_http()
        .enable_all_versions()
        .wrap_connector(connector())
}

/// Calls a remote endpoint over HTTP: an [`Endpoint`](kit_endpoint::Endpoint)
/// in its own right, so discovery can build one per instance.
///
/// For each call: an expired context deadline fails at once; `encode` fills
/// the request (method and URL are preset); the context's time left goes out
/// as `kit-timeout-ms` and bounds the call; propagators and before hooks add
/// headers; the response body is read up to the limit; `decode` turns it
/// into the response. A non-2xx status is not an error by itself: the
/// decoder decides (the JSON one maps it back to the kit error).
///
/// `encode` is `Fn(&mut http::Request<Bytes>, Req) -> Result<(), Error>` and
/// `decode` is `Fn(http::response::Parts, Bytes) -> Result<Resp, Error>`.
pub struct HttpClient<Enc, Dec> {
    pool: Pool,
    shared: Arc<Shared<Enc, Dec>>,
}

struct Shared<Enc, Dec> {
    method: Method,
    uri: Uri,
    encode: Enc,
    decode: Dec,
    options: ClientOptions,
}

impl<Enc, Dec> HttpClient<Enc, Dec> {
    /// A client for `method uri`, with default options and its own pool.
    pub fn new(method: Method, uri: Uri, encode: Enc, decode: Dec) -> Self {
        HttpClient::with_options(
            Pool::new(),
            method,
            uri,
            encode,
            decode,
            ClientOptions::new(),
        )
    }

    /// A client with a shared pool and options.
    pub fn with_options(
        pool: Pool,
        method: Method,
        uri: Uri,
        encode: Enc,
        decode: Dec,
        options: ClientOptions,
    ) -> Self {
        HttpClient {
            pool,
            shared: Arc::new(Shared {
                method,
                uri,
                encode,
                decode,
                options,
            }),
        }
    }

    /// The target URL.
    pub fn uri(&self) -> &Uri {
        &self.shared.uri
    }
}

impl<Enc, Dec> Clone for HttpClient<Enc, Dec> {
    fn clone(&self) -> Self {
        HttpClient {
            pool: self.pool.clone(),
            shared: self.shared.clone(),
        }
    }
}

impl<Enc, Dec> fmt::Debug for HttpClient<Enc, Dec> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClient")
            .field("method", &self.shared.method)
            .field("uri", &self.shared.uri)
            .field("options", &self.shared.options)
            .finish()
    }
}

impl<Enc, Dec, Req, Resp> Service<Request<Req>> for HttpClient<Enc, Dec>
where
    Enc: Fn(&mut http::Request<Bytes>, Req) -> Result<(), Error> + Send + Sync + 'static,
    Dec: Fn(http::response::Parts, Bytes) -> Result<Resp, Error> + Send + Sync + 'static,
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
        let client = self.pool.client.clone();
        let shared = self.shared.clone();
        Box::pin(async move {
            let (ctx, body) = req.into_parts();
            if ctx.is_expired() {
                return Err(Error::deadline_exceeded("deadline passed before the call"));
            }
            let mut hreq = http::Request::new(Bytes::new());
            *hreq.method_mut() = shared.method.clone();
            *hreq.uri_mut() = shared.uri.clone();
            (shared.encode)(&mut hreq, body)?;
            if let Some(left) = ctx.time_left() {
                hreq.headers_mut()
                    .insert(KIT_TIMEOUT_MS, format_timeout_ms(left));
            }
            shared.options.propagators.inject(&ctx, hreq.headers_mut());
            for hook in &shared.options.before {
                hook(&ctx, hreq.headers_mut());
            }

            let limit = shared.options.body_limit;
            let exchange = async {
                let response = client
                    .request(hreq.map(Full::new))
                    .await
                    .map_err(request_error)?;
                let (parts, body) = response.into_parts();
                let bytes = match Limited::new(body, limit).collect().await {
                    Ok(c) => c.to_bytes(),
                    Err(e) if e.is::<LengthLimitError>() => {
                        return Err(Error::resource_exhausted(format!(
                            "response body is larger than {limit} bytes"
                        )));
                    }
                    Err(e) => {
                        return Err(Error::unavailable(format!(
                            "reading the response body: {e}"
                        )));
                    }
                };
                Ok((parts, bytes))
            };
            let (parts, bytes) = match ctx.deadline() {
                Some(at) => tokio::time::timeout_at(at, exchange)
                    .await
                    .map_err(|_| Error::deadline_exceeded("deadline exceeded"))??,
                None => exchange.await?,
            };
            (shared.decode)(parts, bytes)
        })
    }
}

/// A failed exchange: the peer could not be reached or went away, which a
/// retry elsewhere may fix.
fn request_error(e: hyper_util::client::legacy::Error) -> Error {
    let what = if e.is_connect() {
        "connecting"
    } else {
        "sending the request"
    };
    let mut message = format!("{what}: {e}");
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(&e);
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    Error::unavailable(message).with_source(e)
}
