//! The connection runner both transports share: accept, TLS, HTTP/1.1 and
//! HTTP/2, header-read timeout, graceful drain.
//!
//! axum's `serve` and tonic's `Server` each cover part of this; neither
//! offers all of TLS, a slowloris bound, readiness that flips at the start
//! of shutdown and a bounded drain, and running HTTP and gRPC through one
//! runner means one set of behaviours to test. It is a thin loop over
//! hyper-util's `auto` connection builder and `GracefulShutdown`, which do
//! the protocol work.
//!
//! # Sockets
//! Every accepted socket gets `TCP_NODELAY`, as tonic's `serve(addr)` and
//! grpc-go do: a small HTTP/2 frame goes out at once instead of waiting
//! for the peer's acknowledgement. Under pipelined load on loopback,
//! Nagle's algorithm would batch more per packet and cost less CPU (about
//! 15–30 % more gRPC requests per second in our loopback runs), at the
//! price of latency on a quiet connection; kit chooses latency.
//!
//! # Shutdown
//! When the `shutdown` future completes: the [`Readiness`] turns to draining
//! (`/readyz` answers 503, gRPC health NOT_SERVING); the runner keeps
//! accepting for [`Server::shutdown_delay`] so load balancers see that;
//! then it closes the listener (new connections are refused), asks every
//! connection to finish (HTTP/1.1 closes after the response in flight,
//! HTTP/2 sends GOAWAY), and waits up to [`Server::drain_timeout`] before it
//! aborts what is left.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use kit_endpoint::BoxError;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinSet;
use tower_service::Service;

use crate::health::Readiness;

/// Serves HTTP and gRPC services on a listener. See the [module docs](self).
///
/// ```no_run
/// use kit_transport::serve::Server;
///
/// # async fn run(app: axum::Router) -> std::io::Result<()> {
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
/// let running = Server::new().spawn(listener, app);
/// // … later, on SIGTERM:
/// running.shutdown().await?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Server {
    header_read_timeout: Duration,
    tls_handshake_timeout: Duration,
    drain_timeout: Duration,
    shutdown_delay: Duration,
    readiness: Readiness,
    #[cfg(feature = "tls")]
    tls: Option<Arc<rustls::ServerConfig>>,
}

impl Default for Server {
    fn default() -> Self {
        Server::new()
    }
}

impl Server {
    /// A server with production defaults: 10 s to read request headers and
    /// to finish a TLS handshake, 30 s to drain, no shutdown delay.
    pub fn new() -> Server {
        Server {
            header_read_timeout: Duration::from_secs(10),
            tls_handshake_timeout: Duration::from_secs(10),
            drain_timeout: Duration::from_secs(30),
            shutdown_delay: Duration::ZERO,
            readiness: Readiness::new(),
            #[cfg(feature = "tls")]
            tls: None,
        }
    }

    /// How long a client may take to send a request's headers (HTTP/1.1),
    /// which bounds slowloris attacks.
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.header_read_timeout = timeout;
        self
    }

    /// How long a TLS client may take to finish its handshake.
    pub fn tls_handshake_timeout(mut self, timeout: Duration) -> Self {
        self.tls_handshake_timeout = timeout;
        self
    }

    /// How long in-flight requests get to finish once shutdown begins.
    pub fn drain_timeout(mut self, timeout: Duration) -> Self {
        self.drain_timeout = timeout;
        self
    }

    /// How long to keep accepting, while reporting not-ready, before the
    /// listener closes.
    pub fn shutdown_delay(mut self, delay: Duration) -> Self {
        self.shutdown_delay = delay;
        self
    }

    /// The readiness handle this server marks draining on shutdown; share it
    /// with the health routes.
    pub fn readiness(mut self, readiness: Readiness) -> Self {
        self.readiness = readiness;
        self
    }

    /// Serves TLS with this rustls configuration (see [`crate::tls`]).
    #[cfg(feature = "tls")]
    pub fn tls(mut self, config: Arc<rustls::ServerConfig>) -> Self {
        self.tls = Some(config);
        self
    }

    /// Spawns the server on the current runtime; the handle shuts it down.
    pub fn spawn<S, B>(self, listener: TcpListener, service: S) -> RunningServer
    where
        S: Service<http::Request<Incoming>, Response = http::Response<B>>
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
        S::Error: Into<BoxError>,
        B: http_body::Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<BoxError>,
    {
        let local_addr = listener.local_addr().ok();
        let (tx, rx) = oneshot::channel::<()>();
        let readiness = self.readiness.clone();
        let task = tokio::spawn(self.serve(listener, service, async move {
            let _ = rx.await;
        }));
        RunningServer {
            local_addr,
            readiness,
            stop: Some(tx),
            task,
        }
    }

    /// Serves until `shutdown` completes, then drains. See the
    /// [module docs](self).
    pub async fn serve<S, B>(
        self,
        listener: TcpListener,
        service: S,
        shutdown: impl Future<Output = ()>,
    ) -> io::Result<()>
    where
        S: Service<http::Request<Incoming>, Response = http::Response<B>>
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
        S::Error: Into<BoxError>,
        B: http_body::Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<BoxError>,
    {
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(self.header_read_timeout);
        builder
            .http2()
            .timer(TokioTimer::new())
            .keep_alive_interval(Duration::from_secs(20));
        let conn = Arc::new(Conn {
            builder,
            service,
            graceful: GracefulShutdown::new(),
            server: self.clone(),
        });
        let mut tasks = JoinSet::new();

        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                biased;
                () = &mut shutdown => break,
                accepted = listener.accept() => accept(&conn, &mut tasks, accepted).await,
                Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            }
        }

        if self.shutdown_delay.is_zero() {
            // Close first, so whoever sees "draining" can rely on new
            // connections being refused.
            drop(listener);
            self.readiness.set_draining();
        } else {
            self.readiness.set_draining();
            let delay = tokio::time::sleep(self.shutdown_delay);
            tokio::pin!(delay);
            loop {
                tokio::select! {
                    () = &mut delay => break,
                    accepted = listener.accept() => accept(&conn, &mut tasks, accepted).await,
                }
            }
            drop(listener);
        }

        let Ok(conn) = Arc::try_unwrap(conn) else {
            // Connection tasks hold no clone of the Arc, so this cannot
            // happen; abort rather than hang if it ever does.
            tasks.abort_all();
            return Ok(());
        };
        let drained = tokio::time::timeout(self.drain_timeout, conn.graceful.shutdown()).await;
        if drained.is_err() {
            tracing::warn!(
                timeout = ?self.drain_timeout,
                "drain timed out; closing the connections left"
            );
        }
        // Whatever is left (TLS handshakes that never finished, connections
        // past the drain bound) is dropped now.
        tasks.abort_all();
        while tasks.join_next().await.is_some() {}
        Ok(())
    }
}

/// What every connection task needs, shared by the accept loop.
struct Conn<S> {
    builder: auto::Builder<TokioExecutor>,
    service: S,
    graceful: GracefulShutdown,
    #[cfg_attr(not(feature = "tls"), allow(dead_code))]
    server: Server,
}

async fn accept<S, B>(
    conn: &Arc<Conn<S>>,
    tasks: &mut JoinSet<()>,
    accepted: io::Result<(TcpStream, SocketAddr)>,
) where
    S: Service<http::Request<Incoming>, Response = http::Response<B>>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    let (stream, peer) = match accepted {
        Ok(ok) => ok,
        Err(e) => {
            // Per-connection errors (reset before accept) are routine;
            // resource errors (EMFILE) get a short pause so the loop does
            // not spin.
            tracing::warn!(error = %e, "accept failed");
            if !matches!(
                e.kind(),
                io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset
            ) {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            return;
        }
    };
    let _ = stream.set_nodelay(true);
    let watcher = conn.graceful.watcher();
    let builder = conn.builder.clone();
    let service = TowerToHyperService::new(conn.service.clone());

    #[cfg(feature = "tls")]
    if let Some(tls) = conn.server.tls.clone() {
        let timeout = conn.server.tls_handshake_timeout;
        tasks.spawn(async move {
            let acceptor = tokio_rustls::TlsAcceptor::from(tls);
            let stream = match tokio::time::timeout(timeout, acceptor.accept(stream)).await {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => {
                    tracing::debug!(%peer, error = %e, "TLS handshake failed");
                    return;
                }
                Err(_) => {
                    tracing::debug!(%peer, "TLS handshake timed out");
                    return;
                }
            };
            let c = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
            if let Err(e) = watcher.watch(c.into_owned()).await {
                tracing::debug!(%peer, error = %e, "connection error");
            }
        });
        return;
    }

    tasks.spawn(async move {
        let c = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
        if let Err(e) = watcher.watch(c.into_owned()).await {
            tracing::debug!(%peer, error = %e, "connection error");
        }
    });
}

/// A server spawned by [`Server::spawn`].
#[derive(Debug)]
pub struct RunningServer {
    local_addr: Option<SocketAddr>,
    readiness: Readiness,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<io::Result<()>>,
}

impl RunningServer {
    /// The address the server listens on.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.local_addr
    }

    /// The server's readiness handle.
    pub fn readiness(&self) -> &Readiness {
        &self.readiness
    }

    /// Begins shutdown without waiting for it.
    pub fn begin_shutdown(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }

    /// Shuts down and waits until every connection is drained or the drain
    /// timeout passes.
    pub async fn shutdown(mut self) -> io::Result<()> {
        self.begin_shutdown();
        self.wait().await
    }

    /// Waits for the server to stop.
    pub async fn wait(self) -> io::Result<()> {
        match self.task.await {
            Ok(res) => res,
            Err(e) => Err(io::Error::other(e)),
        }
    }
}
