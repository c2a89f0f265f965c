//! gRPC unary load over h2c with tonic.
//!
//! Each connection is one HTTP/2 connection (hyper's, as inside tonic's
//! own channel) carrying [`Settings::streams`](crate::Settings::streams)
//! closed loops, each a `tonic::client::Grpc` making unary calls with the
//! pass-through [`BytesCodec`]. tonic's client does the gRPC part
//! (framing, headers, status) over any tower service, so it runs here over
//! the hyper connection directly rather than through tonic's `Channel`,
//! whose `channel` feature brings tower's buffer, balance and discovery
//! stacks and a buffer task per channel. Measured on kit-load-echo, the
//! two cost the same load-generator CPU per call (about 17 µs on 64
//! connections × 1 stream, 8 µs on 8 × 8: HTTP/2 with one stream per
//! connection batches nothing), so the leaner one stays, and reconnecting
//! is explicit and counted like HTTP's.
//!
//! Every reply's `grpc-status` is checked (tonic does it and returns the
//! `Status`): OK counts as success, any other code is counted by code. A
//! call that fails in the client's own transport (connection refused or
//! reset; tonic attaches the cause as the status's source) counts as an
//! I/O error, not as a code the server never sent.

use std::error::Error as _;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use http::uri::PathAndQuery;
use http::{HeaderMap, Uri};
use hyper::body::Incoming;
use hyper::client::conn::http2;
use hyper_util::rt::TokioExecutor;
use tokio::task::JoinSet;
use tonic::client::Grpc;
use tonic::metadata::MetadataMap;

use crate::http::{header_pair, parse_url, resolve, tcp};
use crate::run::{Bounded, Conn, Deadline, Driver};
use crate::{Bodies, BytesCodec, Error, Settings};

/// A unary gRPC call to make over and over, with pre-encoded messages.
///
/// ```
/// use kit_load::{GrpcLoad, parse_hex};
///
/// let load = GrpcLoad::new("http://127.0.0.1:8082", "/pb.Add/Sum")?
///     .with_body(parse_hex("0801 1002")?);
/// assert_eq!(load.path().as_str(), "/pb.Add/Sum");
/// # Ok::<(), kit_load::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct GrpcLoad {
    url: Uri,
    path: PathAndQuery,
    bodies: Bodies,
    metadata: HeaderMap,
}

impl GrpcLoad {
    /// Calls `path` (`/package.Service/Method`) on the server at `url`
    /// (`http://host:port`), with an empty message until a body is set.
    pub fn new(url: &str, path: &str) -> Result<GrpcLoad, Error> {
        let url = parse_url(url)?;
        if url.path() != "/" || url.query().is_some() {
            return Err(Error::invalid(
                "url",
                format!("{url}: a gRPC server URL has no path; give the method with --path"),
            ));
        }
        Ok(GrpcLoad {
            url,
            path: parse_method_path(path)?,
            bodies: Bodies::default(),
            metadata: HeaderMap::new(),
        })
    }

    /// Sends this encoded message with every call.
    pub fn with_body(mut self, message: impl Into<Bytes>) -> GrpcLoad {
        self.bodies = Bodies::one(message);
        self
    }

    /// Rotates through these encoded messages.
    pub fn with_bodies(mut self, messages: Bodies) -> GrpcLoad {
        self.bodies = messages;
        self
    }

    /// Adds request metadata (an ASCII header).
    pub fn with_header(mut self, name: &str, value: &str) -> Result<GrpcLoad, Error> {
        let (name, value) = header_pair(name, value)?;
        self.metadata.append(name, value);
        Ok(self)
    }

    /// The server's URL.
    pub fn url(&self) -> &Uri {
        &self.url
    }

    /// The method's path.
    pub fn path(&self) -> &PathAndQuery {
        &self.path
    }

    /// The messages.
    pub fn bodies(&self) -> &Bodies {
        &self.bodies
    }

    /// The metadata sent with every call.
    pub fn headers(&self) -> &HeaderMap {
        &self.metadata
    }

    /// Builds the connection loop for a run.
    pub(crate) fn driver(&self, _settings: &Settings) -> Result<Driver, Error> {
        let host_port = format!(
            "{}:{}",
            self.url.host().unwrap_or_default(),
            self.url.port_u16().unwrap_or(80)
        );
        let target = Arc::new(Target {
            addr: resolve(&host_port)?,
            origin: self.url.clone(),
            path: self.path.clone(),
            bodies: self.bodies.clone(),
            metadata: self.metadata.clone(),
        });
        Ok(Arc::new(move |conn| {
            Box::pin(channel(target.clone(), conn))
        }))
    }
}

/// Checks a method path: `/service/Method`, both parts non-empty.
pub(crate) fn parse_method_path(path: &str) -> Result<PathAndQuery, Error> {
    let bad = || {
        Error::invalid(
            "grpc path",
            format!("{path:?}: expected /package.Service/Method"),
        )
    };
    let rest = path.strip_prefix('/').ok_or_else(bad)?;
    let (service, method) = rest.split_once('/').ok_or_else(bad)?;
    let plain = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
    };
    if !plain(service) || !plain(method) {
        return Err(bad());
    }
    PathAndQuery::try_from(path).map_err(|_| bad())
}

#[derive(Debug)]
struct Target {
    addr: SocketAddr,
    /// `http://host:port/`, for each request's `:scheme` and `:authority`.
    origin: Uri,
    path: PathAndQuery,
    bodies: Bodies,
    metadata: HeaderMap,
}

impl Target {
    fn request(&self, n: usize) -> tonic::Request<Bytes> {
        let mut req = tonic::Request::new(self.bodies.get(n));
        if !self.metadata.is_empty() {
            *req.metadata_mut() = MetadataMap::from_headers(self.metadata.clone());
        }
        req
    }
}

/// Why a call did not return a message.
#[derive(Debug)]
enum Failed {
    /// The server answered with this non-OK code.
    Status(i32),
    /// The client's transport failed.
    Transport,
}

/// tonic's client transport: one hyper HTTP/2 connection as a tower
/// service. Cloning it shares the connection.
#[derive(Clone, Debug)]
struct H2(http2::SendRequest<tonic::body::Body>);

type H2Future = Pin<Box<dyn Future<Output = hyper::Result<http::Response<Incoming>>>>>;

impl tower_service::Service<http::Request<tonic::body::Body>> for H2 {
    type Response = http::Response<Incoming>;
    type Error = hyper::Error;
    type Future = H2Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<hyper::Result<()>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<tonic::body::Body>) -> H2Future {
        Box::pin(self.0.send_request(req))
    }
}

async fn connect(addr: SocketAddr) -> Option<H2> {
    let io = tcp(addr).await.ok()?;
    let (sender, connection) = http2::handshake(TokioExecutor::new(), io).await.ok()?;
    tokio::task::spawn_local(connection);
    Some(H2(sender))
}

/// One connection: connect, run `streams` loops on it until the window
/// ends or the connection closes, reconnect.
async fn channel(target: Arc<Target>, conn: Conn) {
    let mut deadline = Deadline::new(&conn);
    while !deadline.ended() {
        let h2 = match deadline.run(connect(target.addr)).await {
            Bounded::Done(Some(h2)) => h2,
            Bounded::Done(None) | Bounded::TimedOut => {
                conn.rec.borrow_mut().connect_error(Instant::now());
                deadline.backoff().await;
                continue;
            }
            Bounded::Ended => return,
        };
        let mut streams = JoinSet::new();
        for s in 0..conn.settings.streams {
            let first = conn.index * conn.settings.streams + s;
            streams.spawn_local(stream(target.clone(), conn.clone(), h2.clone(), first));
        }
        while streams.join_next().await.is_some() {}
    }
}

async fn call(grpc: &mut Grpc<H2>, target: &Target, n: usize) -> Result<u64, Failed> {
    grpc.ready().await.map_err(|_| Failed::Transport)?;
    match grpc
        .unary(target.request(n), target.path.clone(), BytesCodec)
        .await
    {
        Ok(reply) => Ok(reply.get_ref().len() as u64),
        Err(status) if status.source().is_some() => Err(Failed::Transport),
        Err(status) => Err(Failed::Status(status.code() as i32)),
    }
}

/// One closed loop of unary calls; returns when the window ends or the
/// connection is gone.
async fn stream(target: Arc<Target>, conn: Conn, h2: H2, mut n: usize) {
    let closed = h2.0.clone();
    let mut grpc = Grpc::with_origin(h2, target.origin.clone());
    let mut deadline = Deadline::new(&conn);
    loop {
        let start = Instant::now();
        let out = {
            let call = pin!(call(&mut grpc, &target, n));
            deadline.run_pinned(start, call).await
        };
        n = n.wrapping_add(1);
        let end = Instant::now();
        match out {
            Bounded::Done(Ok(bytes)) => conn.rec.borrow_mut().grpc(start, end, 0, bytes),
            Bounded::Done(Err(Failed::Status(code))) => {
                conn.rec.borrow_mut().grpc(start, end, code, 0);
            }
            Bounded::Done(Err(Failed::Transport)) => conn.rec.borrow_mut().io_error(end),
            Bounded::TimedOut => conn.rec.borrow_mut().timeout(end),
            Bounded::Ended => return,
        }
        if closed.is_closed() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_paths_are_checked() {
        assert!(parse_method_path("/pb.Add/Sum").is_ok());
        assert!(parse_method_path("/grpc.health.v1.Health/Check").is_ok());
        for bad in [
            "",
            "/",
            "pb.Add/Sum",
            "/pb.Add",
            "/pb.Add/",
            "//Sum",
            "/a/b/c",
            "/a b/c",
            "/a/b?x=1",
        ] {
            let err = parse_method_path(bad).unwrap_err().to_string();
            assert!(
                err.contains("expected /package.Service/Method"),
                "{bad:?}: {err}"
            );
        }
    }

    #[test]
    fn server_urls_have_no_path() {
        assert!(GrpcLoad::new("http://127.0.0.1:8082", "/pb.Add/Sum").is_ok());
        assert!(GrpcLoad::new("http://127.0.0.1:8082/", "/pb.Add/Sum").is_ok());
        assert!(GrpcLoad::new("http://127.0.0.1:8082/pb.Add/Sum", "/pb.Add/Sum").is_err());
        assert!(GrpcLoad::new("https://127.0.0.1:8082", "/pb.Add/Sum").is_err());
        assert!(GrpcLoad::new("127.0.0.1:8082", "/pb.Add/Sum").is_err());
    }
}
