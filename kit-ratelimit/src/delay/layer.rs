use governor::clock::Clock;
use tower_layer::Layer;

use super::DelayLimit;
use crate::clock::TokioClock;
use crate::{Quota, RateLimiter};

/// Applies [`DelayLimit`] to services; every service it builds shares the
/// layer's one [`RateLimiter`].
///
/// ```
/// use kit_endpoint::{Code, Context, Error, Request, endpoint_fn};
/// use kit_ratelimit::{DelayLimitLayer, Quota};
/// use std::num::NonZeroU32;
/// use std::time::Duration;
/// use tokio::time::Instant;
/// use tower::{ServiceBuilder, ServiceExt};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
/// let svc = ServiceBuilder::new()
///     .layer(DelayLimitLayer::per_quota(Quota::per_second(NonZeroU32::new(2).unwrap())))
///     .service(endpoint_fn(|_: Request<()>| async { Ok::<_, Error>(Instant::now()) }));
/// let start = Instant::now();
/// // the first two pass at once, the third waits half a second for a token
/// svc.clone().oneshot(Request::new(())).await.unwrap();
/// svc.clone().oneshot(Request::new(())).await.unwrap();
/// let at = svc.clone().oneshot(Request::new(())).await.unwrap();
/// assert_eq!(at - start, Duration::from_millis(500));
/// // with 100ms left before its deadline, the next request fails at once
/// let ctx = Context::new().with_timeout(Duration::from_millis(100));
/// let err = svc.oneshot(Request::with_context(ctx, ())).await.unwrap_err();
/// assert_eq!(err.code(), Code::ResourceExhausted);
/// assert_eq!(err.retry_after(), Some(Duration::from_millis(500)));
/// assert_eq!(Instant::now() - start, Duration::from_millis(500));
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct DelayLimitLayer<C: Clock = TokioClock> {
    limiter: RateLimiter<C>,
}

impl<C: Clock> DelayLimitLayer<C> {
    /// A layer whose services all draw from `limiter`.
    pub fn new(limiter: RateLimiter<C>) -> Self {
        DelayLimitLayer { limiter }
    }

    /// The limiter.
    pub fn limiter(&self) -> &RateLimiter<C> {
        &self.limiter
    }
}

impl DelayLimitLayer<TokioClock> {
    /// A layer with a new limiter for `quota`.
    pub fn per_quota(quota: Quota) -> Self {
        DelayLimitLayer::new(RateLimiter::new(quota))
    }
}

impl<S, C: Clock> Layer<S> for DelayLimitLayer<C> {
    type Service = DelayLimit<S, C>;

    fn layer(&self, inner: S) -> DelayLimit<S, C> {
        DelayLimit::new(inner, self.limiter.clone())
    }
}
