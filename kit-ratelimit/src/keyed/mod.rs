//! Keyed rate limits: one budget per client, tenant, IP or metadata value.
//!
//! [`KeyedRateLimit`] asks a [`KeyFn`] for each request's key (any
//! `Fn(&Req) -> K` closure, or [`MetadataKey`] for a metadata value) and
//! checks that key's budget in a shared [`KeyedRateLimiter`]. A request over
//! its key's rate fails at once with `ResourceExhausted`, like the erroring
//! [`RateLimit`](crate::RateLimit).
//!
//! Memory is bounded whatever the keys: see [`store`] for the cap, the
//! sweeping of idle keys, and the choice [`OnFull`] offers when a flood of
//! new keys fills it.

mod layer;
mod limiter;
pub mod store;

pub use self::layer::KeyedRateLimitLayer;
pub use self::limiter::{KeyedBuilder, KeyedRateLimiter};
pub use self::store::OnFull;

use std::borrow::Cow;
use std::hash::Hash;
use std::task::{Context, Poll};

use bytes::Bytes;
use governor::clock::Clock;
use kit_endpoint::{Error, HasContext};
use tower_service::Service;

use crate::clock::TokioClock;
use crate::future::ResponseFuture;
use crate::hooks::reject;

/// Extracts the rate-limiting key of a request.
///
/// Implemented by every `Fn(&Req) -> K` closure. A request without a key
/// must still get one: map it to a shared key (an empty string, say) so that
/// anonymous callers share one budget, rather than escaping the limit.
pub trait KeyFn<Req> {
    /// The key.
    type Key: Hash + Eq + Clone;

    /// The key of `req`.
    fn key(&self, req: &Req) -> Self::Key;
}

impl<Req, K, F> KeyFn<Req> for F
where
    F: Fn(&Req) -> K,
    K: Hash + Eq + Clone,
{
    type Key = K;

    #[inline]
    fn key(&self, req: &Req) -> K {
        self(req)
    }
}

/// Keys requests by the first value of a metadata entry (a header or gRPC
/// metadata), such as a tenant id or an API key.
///
/// The value is copied, and cut to at most `max_len` bytes (64 by default):
/// keys come from clients, and a tracked key must not pin a large request
/// buffer or let one client spend the limiter's memory. Requests without
/// the entry all share the empty key.
///
/// ```
/// use kit_endpoint::{HasContext, Request};
/// use kit_ratelimit::keyed::{KeyFn, MetadataKey};
///
/// let by_tenant = MetadataKey::new("x-tenant");
/// let mut req = Request::new(());
/// assert_eq!(by_tenant.key(&req), "");
/// req.context_mut().metadata_mut().insert("X-Tenant", "acme");
/// assert_eq!(by_tenant.key(&req), "acme");
/// ```
#[derive(Clone, Debug)]
pub struct MetadataKey {
    name: Cow<'static, str>,
    max_len: usize,
}

impl MetadataKey {
    /// Keys by the metadata entry `name`.
    pub fn new(name: impl Into<Cow<'static, str>>) -> MetadataKey {
        MetadataKey {
            name: name.into(),
            max_len: 64,
        }
    }

    /// Keeps at most `max_len` bytes of each value.
    pub fn max_len(mut self, max_len: usize) -> MetadataKey {
        self.max_len = max_len;
        self
    }
}

impl<Req: HasContext> KeyFn<Req> for MetadataKey {
    type Key = Bytes;

    fn key(&self, req: &Req) -> Bytes {
        match req.context().metadata().get(&self.name) {
            Some(value) => Bytes::copy_from_slice(&value[..value.len().min(self.max_len)]),
            None => Bytes::new(),
        }
    }
}

/// Rejects requests over their key's rate at once. See the
/// [module docs](self).
#[derive(Clone, Debug)]
pub struct KeyedRateLimit<S, F, K: Hash + Eq + Clone, C: Clock = TokioClock> {
    inner: S,
    key_fn: F,
    limiter: KeyedRateLimiter<K, C>,
}

impl<S, F, K: Hash + Eq + Clone, C: Clock> KeyedRateLimit<S, F, K, C> {
    /// Limits `inner` per key, with keys from `key_fn`, sharing `limiter`'s
    /// state with every other holder of it.
    pub fn new(inner: S, key_fn: F, limiter: KeyedRateLimiter<K, C>) -> Self {
        KeyedRateLimit {
            inner,
            key_fn,
            limiter,
        }
    }

    /// The limiter.
    pub fn limiter(&self) -> &KeyedRateLimiter<K, C> {
        &self.limiter
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, to change.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, F, K, C, Req> Service<Req> for KeyedRateLimit<S, F, K, C>
where
    S: Service<Req>,
    S::Error: Into<Error>,
    F: KeyFn<Req, Key = K>,
    K: Hash + Eq + Clone,
    C: Clock,
{
    type Response = S::Response;
    type Error = Error;
    type Future = ResponseFuture<S::Future>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    #[inline]
    fn call(&mut self, req: Req) -> Self::Future {
        match self.limiter.check(self.key_fn.key(&req)) {
            Ok(()) => ResponseFuture::admitted(self.inner.call(req)),
            Err(rejection) => ResponseFuture::rejected(reject(self.limiter.hooks(), rejection)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kit_endpoint::Request;

    #[test]
    fn metadata_keys_are_cut_and_copied() {
        let key_fn = MetadataKey::new("x-api-key").max_len(4);
        let mut req = Request::new(());
        req.context_mut()
            .metadata_mut()
            .insert("x-api-key", vec![7u8; 1 << 20]);
        let key = key_fn.key(&req);
        assert_eq!(key.len(), 4);
        // binary values are keys too
        req.context_mut()
            .metadata_mut()
            .insert("x-api-key", vec![0xff, 0x00]);
        assert_eq!(key_fn.key(&req), Bytes::from_static(&[0xff, 0x00]));
    }

    #[test]
    fn closures_are_key_fns() {
        let by_len = |s: &String| s.len();
        assert_eq!(KeyFn::key(&by_len, &"four".to_string()), 4);
    }
}
