use tower_layer::Layer;

use super::{AdaptiveLimit, AdaptiveLimiter};

/// Applies [`AdaptiveLimit`] to services; every service it builds shares
/// the layer's one [`AdaptiveLimiter`].
///
/// ```
/// use kit_endpoint::{Code, Error, endpoint_fn};
/// use kit_ratelimit::adaptive::{AdaptiveLimitLayer, AdaptiveLimiter, Gradient2};
/// use std::time::Duration;
/// use tower::{ServiceBuilder, ServiceExt};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
/// let limiter = AdaptiveLimiter::new(Gradient2::new().initial_limit(1).min_limit(1));
/// let svc = ServiceBuilder::new()
///     .layer(AdaptiveLimitLayer::new(limiter))
///     .service(endpoint_fn(|()| async {
///         tokio::time::sleep(Duration::from_millis(10)).await;
///         Ok::<_, Error>(())
///     }));
/// let first = tokio::spawn(svc.clone().oneshot(()));
/// tokio::task::yield_now().await;
/// let err = svc.oneshot(()).await.unwrap_err(); // over the limit of 1
/// assert_eq!(err.code(), Code::ResourceExhausted);
/// assert!(err.retry_after().is_some());
/// first.await.unwrap().unwrap();
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct AdaptiveLimitLayer {
    limiter: AdaptiveLimiter,
}

impl AdaptiveLimitLayer {
    /// A layer whose services all share `limiter`.
    pub fn new(limiter: AdaptiveLimiter) -> Self {
        AdaptiveLimitLayer { limiter }
    }

    /// The limiter.
    pub fn limiter(&self) -> &AdaptiveLimiter {
        &self.limiter
    }
}

impl<S> Layer<S> for AdaptiveLimitLayer {
    type Service = AdaptiveLimit<S>;

    fn layer(&self, inner: S) -> AdaptiveLimit<S> {
        AdaptiveLimit::new(inner, self.limiter.clone())
    }
}
