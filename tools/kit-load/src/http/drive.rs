//! The HTTP connection loops: connect, send, drain, record, repeat.

use std::future::poll_fn;
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::Poll;
use std::time::Instant;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Uri};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpStream;
use tokio::task::JoinSet;

use super::HttpLoad;
use crate::Bodies;
use crate::run::{Bounded, Conn, Deadline};

/// Everything a connection needs to build requests, prepared once.
#[derive(Debug)]
pub(crate) struct Target {
    addr: SocketAddr,
    method: Method,
    /// Origin-form (`/path?query`) for HTTP/1.1.
    h1_uri: Uri,
    /// The absolute URL, for HTTP/2's `:scheme` and `:authority`.
    h2_uri: Uri,
    /// With `Host` for HTTP/1.1.
    h1_headers: HeaderMap,
    h2_headers: HeaderMap,
    bodies: Bodies,
}

impl Target {
    pub(crate) fn new(load: &HttpLoad, addr: SocketAddr) -> Target {
        let h1_uri = load
            .url
            .path_and_query()
            .map(|pq| Uri::from(pq.clone()))
            .unwrap_or_else(|| Uri::from_static("/"));
        Target {
            addr,
            method: load.method.clone(),
            h1_uri,
            h2_uri: load.url.clone(),
            h1_headers: load.h1_headers(),
            h2_headers: load.headers.clone(),
            bodies: load.bodies.clone(),
        }
    }

    fn request(&self, http2: bool, n: usize) -> Request<Full<Bytes>> {
        let mut req = Request::new(Full::new(self.bodies.get(n)));
        *req.method_mut() = self.method.clone();
        if http2 {
            *req.uri_mut() = self.h2_uri.clone();
            *req.headers_mut() = self.h2_headers.clone();
        } else {
            *req.uri_mut() = self.h1_uri.clone();
            *req.headers_mut() = self.h1_headers.clone();
        }
        req
    }
}

/// Why an exchange did not produce a response.
#[derive(Debug)]
enum Failed {
    /// The connection was closed before the request went out (the server
    /// ended keep-alive): reconnect, not an error.
    Closed,
    /// The request failed on the wire.
    Io,
}

/// The two hyper senders, so one `exchange` serves both versions.
trait Sender {
    fn ready(&mut self) -> impl Future<Output = hyper::Result<()>>;
    fn send(
        &mut self,
        req: Request<Full<Bytes>>,
    ) -> impl Future<Output = hyper::Result<http::Response<Incoming>>>;
}

impl Sender for http1::SendRequest<Full<Bytes>> {
    fn ready(&mut self) -> impl Future<Output = hyper::Result<()>> {
        http1::SendRequest::ready(self)
    }
    fn send(
        &mut self,
        req: Request<Full<Bytes>>,
    ) -> impl Future<Output = hyper::Result<http::Response<Incoming>>> {
        self.send_request(req)
    }
}

impl Sender for http2::SendRequest<Full<Bytes>> {
    fn ready(&mut self) -> impl Future<Output = hyper::Result<()>> {
        http2::SendRequest::ready(self)
    }
    fn send(
        &mut self,
        req: Request<Full<Bytes>>,
    ) -> impl Future<Output = hyper::Result<http::Response<Incoming>>> {
        self.send_request(req)
    }
}

/// Sends a request and reads the whole response body.
async fn exchange(
    sender: &mut impl Sender,
    req: Request<Full<Bytes>>,
) -> Result<(u16, u64), Failed> {
    sender.ready().await.map_err(|_| Failed::Closed)?;
    let response = sender.send(req).await.map_err(|_| Failed::Io)?;
    let status = response.status().as_u16();
    let mut body = response.into_body();
    let mut bytes = 0;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| Failed::Io)?;
        if let Some(data) = frame.data_ref() {
            bytes += data.len() as u64;
        }
    }
    Ok((status, bytes))
}

/// A TCP connection with `TCP_NODELAY`, ready for hyper.
pub(crate) async fn tcp(addr: SocketAddr) -> std::io::Result<TokioIo<TcpStream>> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    Ok(TokioIo::new(stream))
}

/// An HTTP/1.1 connection's driving future, polled by the connection's
/// own loop (see [`h1`]).
type H1Connection = Pin<Box<http1::Connection<TokioIo<TcpStream>, Full<Bytes>>>>;

async fn connect_h1(addr: SocketAddr) -> Option<(http1::SendRequest<Full<Bytes>>, H1Connection)> {
    let (sender, connection) = http1::handshake(tcp(addr).await.ok()?).await.ok()?;
    Some((sender, Box::pin(connection)))
}

/// Runs an exchange while driving its connection in the same task, as
/// wrk does everything in one event loop (with hyper's connection in a
/// task of its own, every request would cost extra task switches).
///
/// The exchange is polled first, so a new request is queued, and the
/// connection right after it, so the request is written in the same
/// wake-up rather than in a later one; if the connection made the
/// response complete, the exchange is polled again to take it. Once the
/// connection ends it is dropped (`None`), and the exchange fails promptly
/// because hyper's dispatcher is gone.
fn drive_h1<'a, T>(
    connection: &'a mut Option<H1Connection>,
    mut exchange: Pin<&'a mut impl Future<Output = T>>,
) -> impl Future<Output = T> + 'a {
    poll_fn(move |cx| {
        if let Poll::Ready(out) = exchange.as_mut().poll(cx) {
            return Poll::Ready(out);
        }
        if let Some(c) = connection.as_mut()
            && c.as_mut().poll(cx).is_ready()
        {
            *connection = None;
        }
        exchange.as_mut().poll(cx)
    })
}

async fn connect_h2(addr: SocketAddr) -> Option<http2::SendRequest<Full<Bytes>>> {
    let io = tcp(addr).await.ok()?;
    let (sender, connection) = http2::handshake(TokioExecutor::new(), io).await.ok()?;
    tokio::task::spawn_local(connection);
    Some(sender)
}

/// One HTTP/1.1 connection: one request in flight, reconnect on failure;
/// the connection is driven by this loop itself, not a task of its own.
pub(crate) async fn h1(target: Arc<Target>, conn: Conn) {
    let mut deadline = Deadline::new(&conn);
    let mut n = conn.index;
    'connect: while !deadline.ended() {
        let (mut sender, connection) = match deadline.run(connect_h1(target.addr)).await {
            Bounded::Done(Some(pair)) => pair,
            Bounded::Done(None) | Bounded::TimedOut => {
                conn.rec.borrow_mut().connect_error(Instant::now());
                deadline.backoff().await;
                continue;
            }
            Bounded::Ended => return,
        };
        let mut connection = Some(connection);
        loop {
            if connection.is_none() {
                continue 'connect; // closed by the server between requests
            }
            let req = target.request(false, n);
            n = n.wrapping_add(1);
            let mut exchange = pin!(exchange(&mut sender, req));
            let start = Instant::now();
            let driven = pin!(drive_h1(&mut connection, exchange.as_mut()));
            let out = deadline.run_pinned(start, driven).await;
            let end = Instant::now();
            match out {
                Bounded::Done(Ok((status, bytes))) => {
                    conn.rec.borrow_mut().http(start, end, status, bytes);
                }
                Bounded::Done(Err(Failed::Closed)) => continue 'connect,
                Bounded::Done(Err(Failed::Io)) => {
                    conn.rec.borrow_mut().io_error(end);
                    continue 'connect;
                }
                Bounded::TimedOut => {
                    conn.rec.borrow_mut().timeout(end);
                    continue 'connect;
                }
                Bounded::Ended => return,
            }
        }
    }
}

/// One HTTP/2 connection carrying `streams` closed loops; reconnects when
/// all of them have seen it close.
pub(crate) async fn h2(target: Arc<Target>, conn: Conn) {
    let mut deadline = Deadline::new(&conn);
    while !deadline.ended() {
        let sender = match deadline.run(connect_h2(target.addr)).await {
            Bounded::Done(Some(sender)) => sender,
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
            streams.spawn_local(h2_stream(
                target.clone(),
                conn.clone(),
                sender.clone(),
                first,
            ));
        }
        while streams.join_next().await.is_some() {}
    }
}

/// One stream's closed loop on a shared HTTP/2 connection. A failed or
/// timed-out stream does not end the connection (its stream is reset);
/// the loop returns when the connection itself is gone.
async fn h2_stream(
    target: Arc<Target>,
    conn: Conn,
    mut sender: http2::SendRequest<Full<Bytes>>,
    mut n: usize,
) {
    let mut deadline = Deadline::new(&conn);
    loop {
        let req = target.request(true, n);
        n = n.wrapping_add(1);
        let start = Instant::now();
        let out = {
            let exchange = pin!(exchange(&mut sender, req));
            deadline.run_pinned(start, exchange).await
        };
        let end = Instant::now();
        match out {
            Bounded::Done(Ok((status, bytes))) => {
                conn.rec.borrow_mut().http(start, end, status, bytes);
            }
            Bounded::Done(Err(Failed::Closed)) => return,
            Bounded::Done(Err(Failed::Io)) => conn.rec.borrow_mut().io_error(end),
            Bounded::TimedOut => conn.rec.borrow_mut().timeout(end),
            Bounded::Ended => return,
        }
        if sender.is_closed() {
            return;
        }
    }
}
