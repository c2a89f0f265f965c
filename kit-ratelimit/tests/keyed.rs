//! Keyed rate limits through the public API, on paused tokio time.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use kit_endpoint::{Code, Context, Error, Request, endpoint_fn};
use kit_ratelimit::Quota;
use kit_ratelimit::hooks::{Counters, Reason};
use kit_ratelimit::keyed::{KeyedRateLimitLayer, KeyedRateLimiter, MetadataKey, OnFull};
use tokio::time::advance;
use tower::{ServiceBuilder, ServiceExt};

fn nz(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap()
}

fn from(tenant: &str) -> Request<()> {
    let mut ctx = Context::new();
    if !tenant.is_empty() {
        ctx.metadata_mut().insert("x-tenant", tenant.to_string());
    }
    Request::with_context(ctx, ())
}

#[tokio::test(start_paused = true)]
async fn each_key_has_its_own_budget_and_anonymous_callers_share_one() {
    let counters = Arc::new(Counters::new());
    let limiter = KeyedRateLimiter::builder(Quota::per_second(nz(2)))
        .hooks(counters.clone())
        .build();
    let svc = ServiceBuilder::new()
        .layer(KeyedRateLimitLayer::new(
            MetadataKey::new("x-tenant"),
            limiter.clone(),
        ))
        .service(endpoint_fn(|_: Request<()>| async { Ok::<_, Error>(()) }));
    for tenant in ["acme", "globex", ""] {
        svc.clone().oneshot(from(tenant)).await.unwrap();
        svc.clone().oneshot(from(tenant)).await.unwrap();
        let err = svc.clone().oneshot(from(tenant)).await.unwrap_err();
        assert_eq!(err.code(), Code::ResourceExhausted);
        assert_eq!(err.retry_after(), Some(Duration::from_millis(500)));
    }
    assert_eq!(limiter.len(), 3);
    assert_eq!(counters.rejected(Reason::RateExceeded), 3);
    advance(Duration::from_millis(500)).await;
    svc.oneshot(from("acme")).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn per_key_rates_hold_within_one_percent_over_a_minute() {
    let limiter = KeyedRateLimiter::new(Quota::per_second(nz(20)).allow_burst(nz(5)));
    let keys = ["a", "b", "c", "d"];
    let mut passed = [0u32; 4];
    // each key is offered a different load, from 1000/s down to 100/s
    for ms in 0..60_000u32 {
        for (key, every) in keys.iter().zip([1, 3, 7, 10]) {
            let i = keys.iter().position(|k| k == key).unwrap();
            if ms % every == 0 && limiter.check(*key).is_ok() {
                passed[i] += 1;
            }
        }
        advance(Duration::from_millis(1)).await;
    }
    for (key, n) in keys.iter().zip(passed) {
        let error = (f64::from(n) - 1200.0).abs() / 1200.0;
        assert!(error <= 0.01, "{key}: {n}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_million_distinct_keys_stay_within_the_cap() {
    let counters = Arc::new(Counters::new());
    let limiter = KeyedRateLimiter::builder(Quota::per_second(nz(1)))
        .max_keys(10_000)
        .hooks(counters.clone())
        .build();
    assert_eq!(limiter.max_keys(), 9_984); // 64 shards of 156
    let svc = ServiceBuilder::new()
        .layer(KeyedRateLimitLayer::new(|n: &u64| *n, limiter.clone()))
        .service(endpoint_fn(|_: u64| async { Ok::<_, Error>(()) }));
    let (mut ok, mut too_many) = (0u64, 0u64);
    for key in 0..1_000_000u64 {
        match svc.clone().oneshot(key).await {
            Ok(()) => ok += 1,
            Err(e) => {
                assert_eq!(e.code(), Code::ResourceExhausted);
                assert_eq!(e.message(), Reason::TooManyKeys.message());
                assert!(e.retry_after().unwrap() <= Duration::from_secs(2));
                too_many += 1;
            }
        }
        if key % 1000 == 0 {
            assert!(limiter.len() <= limiter.max_keys());
        }
        // a millisecond every 10,000 keys: 100ms in all, far too little for
        // any key to go idle
        if key % 10_000 == 9_999 {
            advance(Duration::from_millis(1)).await;
        }
    }
    assert_eq!(limiter.len(), limiter.max_keys());
    assert_eq!(ok, limiter.max_keys() as u64);
    assert_eq!(too_many, 1_000_000 - ok);
    assert_eq!(counters.rejected(Reason::TooManyKeys), too_many);
    // once the tracked keys are idle, new keys get in again
    advance(Duration::from_secs(2)).await;
    svc.oneshot(2_000_000).await.unwrap();
    limiter.retain_recent();
    assert_eq!(limiter.len(), 1);
}

#[tokio::test(start_paused = true)]
async fn evicting_admits_every_new_key_within_the_cap() {
    let limiter = KeyedRateLimiter::builder(Quota::per_second(nz(1)))
        .max_keys(10_000)
        .on_full(OnFull::EvictIdlest)
        .build();
    for key in 0..1_000_000u64 {
        assert!(limiter.check(key).is_ok(), "key {key}");
        if key % 1000 == 0 {
            assert!(limiter.len() <= limiter.max_keys());
        }
    }
    assert!(limiter.len() <= limiter.max_keys());
    assert!(limiter.len() >= limiter.max_keys() * 7 / 8);
}
