use std::hash::Hash;

use governor::clock::Clock;
use tower_layer::Layer;

use super::{KeyedRateLimit, KeyedRateLimiter};
use crate::clock::TokioClock;

/// Applies [`KeyedRateLimit`] to services; every service it builds shares
/// the layer's one [`KeyedRateLimiter`].
///
/// ```
/// use kit_endpoint::{Code, Context, Error, Request, endpoint_fn};
/// use kit_ratelimit::keyed::{KeyedRateLimitLayer, KeyedRateLimiter, MetadataKey};
/// use kit_ratelimit::Quota;
/// use std::num::NonZeroU32;
/// use tower::{ServiceBuilder, ServiceExt};
///
/// fn from(tenant: &'static str) -> Request<()> {
///     let mut ctx = Context::new();
///     ctx.metadata_mut().insert("x-tenant", tenant);
///     Request::with_context(ctx, ())
/// }
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
/// let per_tenant = KeyedRateLimiter::new(Quota::per_second(NonZeroU32::MIN));
/// let svc = ServiceBuilder::new()
///     .layer(KeyedRateLimitLayer::new(MetadataKey::new("x-tenant"), per_tenant))
///     .service(endpoint_fn(|_: Request<()>| async { Ok::<_, Error>("ok") }));
/// assert!(svc.clone().oneshot(from("acme")).await.is_ok());
/// assert!(svc.clone().oneshot(from("globex")).await.is_ok());
/// let err = svc.oneshot(from("acme")).await.unwrap_err();
/// assert_eq!(err.code(), Code::ResourceExhausted);
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct KeyedRateLimitLayer<F, K: Hash + Eq + Clone, C: Clock = TokioClock> {
    key_fn: F,
    limiter: KeyedRateLimiter<K, C>,
}

impl<F, K: Hash + Eq + Clone, C: Clock> KeyedRateLimitLayer<F, K, C> {
    /// A layer that keys requests with `key_fn` and limits each key with
    /// `limiter`.
    pub fn new(key_fn: F, limiter: KeyedRateLimiter<K, C>) -> Self {
        KeyedRateLimitLayer { key_fn, limiter }
    }

    /// The limiter.
    pub fn limiter(&self) -> &KeyedRateLimiter<K, C> {
        &self.limiter
    }
}

impl<S, F: Clone, K: Hash + Eq + Clone, C: Clock> Layer<S> for KeyedRateLimitLayer<F, K, C> {
    type Service = KeyedRateLimit<S, F, K, C>;

    fn layer(&self, inner: S) -> Self::Service {
        KeyedRateLimit::new(inner, self.key_fn.clone(), self.limiter.clone())
    }
}
