use governor::clock::Clock;
use tower_layer::Layer;

use super::RateLimit;
use crate::clock::TokioClock;
use crate::{Quota, RateLimiter};

/// Applies [`RateLimit`] to services. Every service the layer builds, and
/// every clone of them, shares the layer's one [`RateLimiter`]; build one
/// layer per budget (for example, one per endpoint, as Go kit's addsvc does).
///
/// ```
/// use kit_endpoint::{Code, Error, endpoint_fn};
/// use kit_ratelimit::{Quota, RateLimitLayer};
/// use std::num::NonZeroU32;
/// use tower::{ServiceBuilder, ServiceExt};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
/// // addsvc's Sum limit: 1 per second, burst 1
/// let sum = ServiceBuilder::new()
///     .layer(RateLimitLayer::per_quota(Quota::per_second(NonZeroU32::MIN)))
///     .service(endpoint_fn(|(a, b): (i64, i64)| async move { Ok::<_, Error>(a + b) }));
/// assert_eq!(sum.clone().oneshot((1, 2)).await.unwrap(), 3);
/// let err = sum.oneshot((1, 2)).await.unwrap_err();
/// assert_eq!(err.code(), Code::ResourceExhausted);
/// assert_eq!(err.message(), "rate limit exceeded");
/// assert_eq!(err.retry_after().unwrap().as_secs(), 1);
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct RateLimitLayer<C: Clock = TokioClock> {
    limiter: RateLimiter<C>,
}

impl<C: Clock> RateLimitLayer<C> {
    /// A layer whose services all draw from `limiter`.
    pub fn new(limiter: RateLimiter<C>) -> Self {
        RateLimitLayer { limiter }
    }

    /// The limiter.
    pub fn limiter(&self) -> &RateLimiter<C> {
        &self.limiter
    }
}

impl RateLimitLayer<TokioClock> {
    /// A layer with a new limiter for `quota`.
    pub fn per_quota(quota: Quota) -> Self {
        RateLimitLayer::new(RateLimiter::new(quota))
    }
}

impl<S, C: Clock> Layer<S> for RateLimitLayer<C> {
    type Service = RateLimit<S, C>;

    fn layer(&self, inner: S) -> RateLimit<S, C> {
        RateLimit::new(inner, self.limiter.clone())
    }
}
