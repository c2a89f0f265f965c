//! Every limit boxes into a kit `Endpoint` (Clone + Send + Sync, with a
//! Send future), so it can be wired wherever endpoints go.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::num::NonZeroU32;

use kit_endpoint::{Endpoint, Error, Request, endpoint_fn};
use kit_ratelimit::adaptive::{AdaptiveLimitLayer, AdaptiveLimiter, Vegas};
use kit_ratelimit::keyed::{KeyedRateLimitLayer, KeyedRateLimiter, MetadataKey};
use kit_ratelimit::{ConcurrencyLimitLayer, DelayLimitLayer, Quota, RateLimitLayer};
use tower::{ServiceBuilder, ServiceExt};

#[tokio::test]
async fn every_limit_stacks_into_an_endpoint() {
    let quota = Quota::per_second(NonZeroU32::new(100).unwrap());
    let ep: Endpoint<Request<u8>, u8> = ServiceBuilder::new()
        .layer(Endpoint::layer())
        .layer(RateLimitLayer::per_quota(quota))
        .layer(DelayLimitLayer::per_quota(quota))
        .layer(KeyedRateLimitLayer::new(
            MetadataKey::new("x-tenant"),
            KeyedRateLimiter::new(quota),
        ))
        .layer(KeyedRateLimitLayer::new(
            |req: &Request<u8>| req.body,
            KeyedRateLimiter::new(quota),
        ))
        .layer(ConcurrencyLimitLayer::with_max(4))
        .layer(AdaptiveLimitLayer::new(AdaptiveLimiter::new(Vegas::new())))
        .service(endpoint_fn(|req: Request<u8>| async move {
            Ok::<_, Error>(req.body + 1)
        }));
    let handle = tokio::spawn(ep.clone().oneshot(Request::new(1)));
    assert_eq!(handle.await.unwrap().unwrap(), 2);
    assert_eq!(ep.oneshot(Request::new(41)).await.unwrap(), 42);
}
