//! The erroring and delaying rate limiters as layers, on paused tokio time.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use kit_endpoint::{Code, Context, Error, Request, endpoint_fn};
use kit_ratelimit::hooks::{Counters, Reason};
use kit_ratelimit::{DelayLimitLayer, Quota, RateLimitLayer, RateLimiter};
use tokio::time::{Instant, advance};
use tower::{Layer, Service, ServiceBuilder, ServiceExt};

fn nz(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap()
}

/// An endpoint that counts its calls and returns the time it was called.
fn counting(
    calls: &Arc<AtomicUsize>,
) -> impl Service<Request<()>, Response = Instant, Error = Error, Future: Send> + Clone + Send + 'static
{
    let calls = calls.clone();
    endpoint_fn(move |_: Request<()>| {
        calls.fetch_add(1, Ordering::SeqCst);
        async { Ok::<_, Error>(Instant::now()) }
    })
}

/// Offers `offered` requests per second for `secs` simulated seconds to an
/// erroring limit of `rate` per second with `burst`; returns how many
/// passed.
async fn erroring_minute(rate: u32, burst: u32, offered: u64, secs: u64) -> usize {
    let calls = Arc::new(AtomicUsize::new(0));
    let quota = Quota::per_second(nz(rate)).allow_burst(nz(burst));
    let mut svc = ServiceBuilder::new()
        .layer(RateLimitLayer::per_quota(quota))
        .service(counting(&calls));
    let gap = Duration::from_nanos(1_000_000_000 / offered);
    let end = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < end {
        let _ = svc.ready().await.unwrap().call(Request::new(())).await;
        advance(gap).await;
    }
    calls.load(Ordering::SeqCst)
}

#[tokio::test(start_paused = true)]
async fn erroring_rates_hold_within_one_percent_over_a_minute() {
    for (rate, burst, offered) in [
        (100, 1, 1000),
        (100, 50, 250),
        (7, 3, 100),
        (1000, 10, 3000),
    ] {
        let passed = erroring_minute(rate, burst, offered, 60).await as f64;
        let expected = f64::from(rate) * 60.0;
        let error = (passed - expected).abs() / expected;
        assert!(
            error <= 0.01,
            "{rate}/s burst {burst}, {offered}/s offered: {passed} passed"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn burst_passes_at_once_then_one_per_interval() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counters = Arc::new(Counters::new());
    let limiter = RateLimiter::builder(Quota::per_second(nz(10)).allow_burst(nz(5)))
        .hooks(counters.clone())
        .build();
    let svc = ServiceBuilder::new()
        .layer(RateLimitLayer::new(limiter))
        .service(counting(&calls));
    for _ in 0..5 {
        svc.clone().oneshot(Request::new(())).await.unwrap();
    }
    let err = svc.clone().oneshot(Request::new(())).await.unwrap_err();
    assert_eq!(err.code(), Code::ResourceExhausted);
    assert_eq!(err.message(), "rate limit exceeded");
    assert_eq!(err.retry_after(), Some(Duration::from_millis(100)));
    assert_eq!(
        calls.load(Ordering::SeqCst),
        5,
        "a rejected request reached the endpoint"
    );
    assert_eq!(counters.rejected(Reason::RateExceeded), 1);

    // 250ms later, two tokens are back (not three: the third comes at 300ms)
    advance(Duration::from_millis(250)).await;
    svc.clone().oneshot(Request::new(())).await.unwrap();
    svc.clone().oneshot(Request::new(())).await.unwrap();
    let err = svc.clone().oneshot(Request::new(())).await.unwrap_err();
    assert_eq!(err.retry_after(), Some(Duration::from_millis(50)));

    // a long pause refills the burst, and no more
    advance(Duration::from_secs(60)).await;
    for _ in 0..5 {
        svc.clone().oneshot(Request::new(())).await.unwrap();
    }
    assert!(svc.oneshot(Request::new(())).await.is_err());
    assert_eq!(counters.rejected(Reason::RateExceeded), 3);
}

#[tokio::test(start_paused = true)]
async fn clones_and_services_of_one_layer_share_the_budget() {
    let calls = Arc::new(AtomicUsize::new(0));
    let layer = RateLimitLayer::per_quota(Quota::per_minute(nz(3)));
    let a = layer.layer(counting(&calls));
    let b = layer.layer(counting(&calls));
    a.clone().oneshot(Request::new(())).await.unwrap();
    b.clone().oneshot(Request::new(())).await.unwrap();
    a.clone().oneshot(Request::new(())).await.unwrap();
    assert!(b.oneshot(Request::new(())).await.is_err());
    assert!(a.oneshot(Request::new(())).await.is_err());
}

#[tokio::test(start_paused = true)]
async fn inner_errors_pass_through_unchanged() {
    let svc = ServiceBuilder::new()
        .layer(RateLimitLayer::per_quota(Quota::per_second(nz(5))))
        .service(endpoint_fn(|_: Request<()>| async {
            Err::<(), _>(Error::not_found("gone"))
        }));
    let err = svc.oneshot(Request::new(())).await.unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
}

#[tokio::test(start_paused = true)]
async fn delaying_limiter_spaces_requests_at_the_rate() {
    let calls = Arc::new(AtomicUsize::new(0));
    let svc = ServiceBuilder::new()
        .layer(DelayLimitLayer::per_quota(
            Quota::per_second(nz(20)).allow_burst(nz(2)),
        ))
        .service(counting(&calls));
    let start = Instant::now();
    // 100 requests at once, no deadlines: all pass, the last after 98 × 50ms
    let tasks: Vec<_> = (0..100)
        .map(|_| tokio::spawn(svc.clone().oneshot(Request::new(()))))
        .collect();
    let mut times = Vec::new();
    for t in tasks {
        times.push(t.await.unwrap().unwrap() - start);
    }
    times.sort();
    assert_eq!(times[0], Duration::ZERO);
    assert_eq!(times[1], Duration::ZERO);
    assert_eq!(times[99], Duration::from_millis(98 * 50));
    // never two in the same 50ms slot after the burst
    for w in times[2..].windows(2) {
        assert!(w[1] - w[0] >= Duration::from_millis(50), "{w:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn delaying_rates_hold_within_one_percent_over_a_minute() {
    let calls = Arc::new(AtomicUsize::new(0));
    let svc = ServiceBuilder::new()
        .layer(DelayLimitLayer::per_quota(
            Quota::per_second(nz(50)).allow_burst(nz(1)),
        ))
        .service(counting(&calls));
    // offer 100/s for a minute, each request willing to wait 1s
    let start = Instant::now();
    let minute = Duration::from_secs(60);
    let mut tasks = Vec::new();
    while start.elapsed() < minute {
        let ctx = Context::new().with_timeout(Duration::from_secs(1));
        tasks.push(tokio::spawn(
            svc.clone().oneshot(Request::with_context(ctx, ())),
        ));
        advance(Duration::from_millis(10)).await;
    }
    let (mut in_minute, mut ok, mut rejected) = (0, 0, 0);
    for t in tasks {
        match t.await.unwrap() {
            Ok(at) => {
                ok += 1;
                in_minute += usize::from(at - start < minute);
            }
            Err(e) => {
                assert_eq!(e.code(), Code::ResourceExhausted);
                rejected += 1;
            }
        }
    }
    let expected = 50.0 * 60.0;
    let error = (in_minute as f64 - expected).abs() / expected;
    assert!(error <= 0.01, "{in_minute} passed within the minute");
    assert!(rejected > 2000, "{rejected} rejected");
    assert_eq!(calls.load(Ordering::SeqCst), ok);
}

#[tokio::test(start_paused = true)]
async fn delaying_limiter_rejects_at_once_when_the_wait_passes_the_deadline() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counters = Arc::new(Counters::new());
    let limiter = RateLimiter::builder(Quota::per_second(nz(1)))
        .hooks(counters.clone())
        .build();
    let svc = ServiceBuilder::new()
        .layer(DelayLimitLayer::new(limiter))
        .service(counting(&calls));
    svc.clone().oneshot(Request::new(())).await.unwrap();

    let start = Instant::now();
    let ctx = Context::new().with_timeout(Duration::from_millis(999));
    let err = svc
        .clone()
        .oneshot(Request::with_context(ctx, ()))
        .await
        .unwrap_err();
    assert_eq!(start.elapsed(), Duration::ZERO, "it waited before failing");
    assert_eq!(err.code(), Code::ResourceExhausted);
    assert_eq!(err.retry_after(), Some(Duration::from_secs(1)));
    assert_eq!(counters.rejected(Reason::WaitPastDeadline), 1);
    assert_eq!(calls.load(Ordering::SeqCst), 1);

    // a deadline exactly at the next token is enough
    let ctx = Context::new().with_timeout(Duration::from_secs(1));
    let at = svc.oneshot(Request::with_context(ctx, ())).await.unwrap();
    assert_eq!(at - start, Duration::from_secs(1));
}

#[tokio::test(start_paused = true)]
async fn contending_waiters_never_outlive_their_deadlines() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counters = Arc::new(Counters::new());
    let limiter = RateLimiter::builder(Quota::per_second(nz(10)).allow_burst(nz(1)))
        .hooks(counters.clone())
        .build();
    let svc = ServiceBuilder::new()
        .layer(DelayLimitLayer::new(limiter))
        .service(counting(&calls));
    let start = Instant::now();
    // 40 requests at once, deadlines from 10ms to 2s: the first wait of
    // each looks short, but they compete for the same tokens
    let mut tasks = Vec::new();
    for i in 0..40u64 {
        let budget = Duration::from_millis(10 + 50 * i);
        let ctx = Context::new().with_timeout(budget);
        let svc = svc.clone();
        tasks.push(tokio::spawn(async move {
            let result = svc.oneshot(Request::with_context(ctx, ())).await;
            (budget, result, start.elapsed())
        }));
    }
    let mut passed = 0;
    for t in tasks {
        let (budget, result, took) = t.await.unwrap();
        assert!(took <= budget, "{took:?} > {budget:?}");
        match result {
            Ok(_) => passed += 1,
            Err(e) => assert_eq!(e.code(), Code::ResourceExhausted),
        }
    }
    // tokens at 0, 100ms, …, 1900ms: the longest deadline is 1960ms
    assert_eq!(passed, 20);
    assert_eq!(counters.rejected(Reason::WaitPastDeadline), 40 - passed);
    assert_eq!(calls.load(Ordering::SeqCst), passed as usize);
}

#[tokio::test(start_paused = true)]
async fn dropping_a_waiting_request_cancels_it() {
    let calls = Arc::new(AtomicUsize::new(0));
    let svc = ServiceBuilder::new()
        .layer(DelayLimitLayer::per_quota(Quota::per_second(nz(1))))
        .service(counting(&calls));
    svc.clone().oneshot(Request::new(())).await.unwrap();
    let waiting = tokio::spawn(svc.clone().oneshot(Request::new(())));
    tokio::task::yield_now().await;
    waiting.abort();
    advance(Duration::from_secs(5)).await;
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    // the token the cancelled request would have taken is still there
    let at = svc.oneshot(Request::new(())).await.unwrap();
    assert!(at.elapsed() == Duration::ZERO);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test(start_paused = true)]
async fn a_waiter_woken_after_its_deadline_takes_no_token() {
    let calls = Arc::new(AtomicUsize::new(0));
    let svc = ServiceBuilder::new()
        .layer(DelayLimitLayer::per_quota(Quota::per_second(nz(1))))
        .service(counting(&calls));
    svc.clone().oneshot(Request::new(())).await.unwrap();
    let ctx = Context::new().with_timeout(Duration::from_millis(1500));
    let waiting = tokio::spawn(svc.clone().oneshot(Request::with_context(ctx, ())));
    tokio::task::yield_now().await;
    // jump past both the token (1s) and the deadline (1.5s) before the
    // waiter runs again, as a stalled runtime would
    advance(Duration::from_secs(2)).await;
    let err = waiting.await.unwrap().unwrap_err();
    assert_eq!(err.code(), Code::ResourceExhausted);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    // the token is still there for the next request
    let at = svc.oneshot(Request::new(())).await.unwrap();
    assert_eq!(at.elapsed(), Duration::ZERO);
}
