//! `Config::gobreaker()` behaves as Go kit's `circuitbreaker.Gobreaker`
//! with `gobreaker.Settings{}`, including the addsvc flaw when paired with
//! `AnyError`, and without it by default.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::time::Duration;

use common::*;
use kit_circuitbreaker::{AnyError, CircuitBreakerLayer, Config, State};
use kit_endpoint::Code;
use tokio::time::advance;
use tower::{Layer, Service, ServiceExt};

const MINUTE: Duration = Duration::from_secs(60);

#[tokio::test(start_paused = true)]
async fn trips_after_more_than_five_consecutive_failures() {
    let mut svc = service(Config::gobreaker());
    fail(&mut svc, 5).await;
    assert_eq!(svc.breaker().state(), State::Closed);
    fail(&mut svc, 1).await;
    assert_eq!(svc.breaker().state(), State::Open);
}

#[tokio::test(start_paused = true)]
async fn open_sixty_seconds_then_one_probe() {
    let mut svc = service(Config::gobreaker());
    fail(&mut svc, 6).await;
    advance(MINUTE - Duration::from_millis(1)).await;
    let err = call(&mut svc, Call::Ok).await.unwrap_err();
    assert_eq!(
        err.message(),
        "circuit breaker is open; it will probe again in 1ms"
    );
    advance(Duration::from_millis(1)).await;
    // One probe in flight; a second call is refused (gobreaker's
    // ErrTooManyRequests).
    let mut probe = svc.clone();
    let pending = probe
        .ready()
        .await
        .unwrap()
        .call(Call::Slow(Duration::from_secs(1)));
    assert_eq!(svc.breaker().state(), State::HalfOpen);
    let err = call(&mut svc, Call::Ok).await.unwrap_err();
    assert!(is_refusal(&err));
    assert_eq!(err.code(), Code::Unavailable);
    pending.await.unwrap();
    assert_eq!(svc.breaker().state(), State::Closed);
}

#[tokio::test(start_paused = true)]
async fn a_failed_probe_reopens_for_sixty_seconds_again() {
    let mut svc = service(Config::gobreaker());
    fail(&mut svc, 6).await;
    for _ in 0..3 {
        advance(MINUTE).await;
        fail(&mut svc, 1).await;
        let err = call(&mut svc, Call::Ok).await.unwrap_err();
        assert_eq!(err.retry_after(), Some(MINUTE), "no backoff in gobreaker");
    }
    assert_eq!(svc.breaker().snapshot().trips, 4);
}

#[tokio::test(start_paused = true)]
async fn interval_zero_never_clears_counts_while_closed() {
    let mut svc = service(Config::gobreaker());
    for _ in 0..5 {
        fail(&mut svc, 1).await;
        advance(Duration::from_secs(3600)).await;
    }
    fail(&mut svc, 1).await;
    assert_eq!(svc.breaker().state(), State::Open);
}

#[tokio::test(start_paused = true)]
async fn counts_are_cleared_on_every_state_change() {
    let mut svc = service(Config::gobreaker());
    fail(&mut svc, 6).await;
    advance(MINUTE).await;
    call(&mut svc, Call::Ok).await.unwrap();
    fail(&mut svc, 5).await;
    assert_eq!(svc.breaker().state(), State::Closed);
}

#[tokio::test(start_paused = true)]
async fn addsvc_rate_limit_rejections_trip_go_kits_breaker_but_not_ours() {
    let limited = Call::Fail(Code::ResourceExhausted);
    // Go kit: the limiter inside gobreaker, every error a failure.
    let mut go_kit = CircuitBreakerLayer::new(Config::gobreaker())
        .classify(AnyError)
        .layer(script());
    for _ in 0..6 {
        call(&mut go_kit, limited).await.unwrap_err();
    }
    assert_eq!(go_kit.breaker().state(), State::Open);
    let err = call(&mut go_kit, Call::Ok).await.unwrap_err();
    assert_eq!(err.retry_after(), Some(MINUTE));

    // kit: the same preset, classified by code.
    let mut kit = service(Config::gobreaker());
    for _ in 0..100 {
        call(&mut kit, limited).await.unwrap_err();
    }
    assert_eq!(kit.breaker().state(), State::Closed);
    call(&mut kit, Call::Ok).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn poll_ready_stays_ready_while_open() {
    let mut svc = service(Config::gobreaker());
    fail(&mut svc, 6).await;
    let waker = futures_util::task::noop_waker();
    let mut cx = std::task::Context::from_waker(&waker);
    assert!(svc.poll_ready(&mut cx).is_ready());
    assert!(is_refusal(&svc.call(Call::Ok).await.unwrap_err()));
}
