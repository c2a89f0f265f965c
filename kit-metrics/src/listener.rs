//! A standalone `/metrics` listener (feature `listener`), for services
//! whose own transport is not HTTP, or that keep metrics on a separate
//! debug port as addsvc does (`-debug.addr :8080`).

use std::future::Future;
use std::io;

use ::axum::Router;
use tokio::net::TcpListener;

use crate::Exposition;

/// Serves `source` at `/metrics` on `listener` until the future is dropped
/// or accepting fails.
///
/// ```no_run
/// use std::sync::Arc;
/// use prometheus_client::registry::Registry;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
/// let mut registry = Registry::default();
/// let metrics = kit_metrics::RequestMetrics::register(&mut registry);
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
/// tokio::spawn(kit_metrics::listener::serve(listener, Arc::new(registry)));
/// # drop(metrics); Ok(()) }
/// ```
pub async fn serve<E>(listener: TcpListener, source: E) -> io::Result<()>
where
    E: Exposition + Clone,
{
    axum::serve(listener, router(source)).await
}

/// As [`serve`], stopping gracefully when `shutdown` completes.
pub async fn serve_with_shutdown<E, F>(
    listener: TcpListener,
    source: E,
    shutdown: F,
) -> io::Result<()>
where
    E: Exposition + Clone,
    F: Future<Output = ()> + Send + 'static,
{
    axum::serve(listener, router(source))
        .with_graceful_shutdown(shutdown)
        .await
}

fn router<E: Exposition + Clone>(source: E) -> Router {
    Router::new().route("/metrics", crate::axum::handler(source))
}
