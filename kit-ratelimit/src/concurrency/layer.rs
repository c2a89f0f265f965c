use tower_layer::Layer;

use super::{ConcurrencyLimit, ConcurrencyLimiter};

/// Applies [`ConcurrencyLimit`] to services; every service it builds shares
/// the layer's one [`ConcurrencyLimiter`].
///
/// ```
/// use kit_endpoint::{Code, Error, endpoint_fn};
/// use kit_ratelimit::{ConcurrencyLimitLayer, ConcurrencyLimiter};
/// use std::time::Duration;
/// use tower::{ServiceBuilder, ServiceExt};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
/// let limiter = ConcurrencyLimiter::builder(1)
///     .max_queue(1)
///     .queue_timeout(Duration::from_millis(50))
///     .build();
/// let svc = ServiceBuilder::new()
///     .layer(ConcurrencyLimitLayer::new(limiter))
///     .service(endpoint_fn(|ms: u64| async move {
///         tokio::time::sleep(Duration::from_millis(ms)).await;
///         Ok::<_, Error>(ms)
///     }));
/// let running = tokio::spawn(svc.clone().oneshot(100)); // takes the slot
/// let waiting = tokio::spawn(svc.clone().oneshot(1)); // waits in the queue
/// tokio::task::yield_now().await;
/// let full = svc.oneshot(1).await.unwrap_err(); // no room to wait
/// assert_eq!(full.code(), Code::ResourceExhausted);
/// let timed_out = waiting.await.unwrap().unwrap_err(); // 50ms is not enough
/// assert_eq!(timed_out.code(), Code::ResourceExhausted);
/// assert_eq!(running.await.unwrap().unwrap(), 100);
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct ConcurrencyLimitLayer {
    limiter: ConcurrencyLimiter,
}

impl ConcurrencyLimitLayer {
    /// A layer whose services all share `limiter`.
    pub fn new(limiter: ConcurrencyLimiter) -> Self {
        ConcurrencyLimitLayer { limiter }
    }

    /// A layer with a new limiter of `max_concurrent` and the default queue.
    pub fn with_max(max_concurrent: usize) -> Self {
        ConcurrencyLimitLayer::new(ConcurrencyLimiter::new(max_concurrent))
    }

    /// The limiter.
    pub fn limiter(&self) -> &ConcurrencyLimiter {
        &self.limiter
    }
}

impl<S> Layer<S> for ConcurrencyLimitLayer {
    type Service = ConcurrencyLimit<S>;

    fn layer(&self, inner: S) -> ConcurrencyLimit<S> {
        ConcurrencyLimit::new(inner, self.limiter.clone())
    }
}
