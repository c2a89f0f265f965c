//! Presets and out-of-range settings: clamped, never a panic or a hang.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::time::Duration;

use common::*;
use kit_circuitbreaker::{Breaker, Config, Outcome, Rate, State, Trip, Window};
use kit_endpoint::Code;
use proptest::prelude::*;
use tokio::time::advance;

#[tokio::test(start_paused = true)]
async fn the_hystrix_preset() {
    let mut svc = service(Config::hystrix());
    for _ in 0..10 {
        call(&mut svc, Call::Ok).await.unwrap();
    }
    fail(&mut svc, 9).await;
    assert_eq!(
        svc.breaker().state(),
        State::Closed,
        "19 calls: under the volume"
    );
    fail(&mut svc, 1).await;
    assert_eq!(svc.breaker().state(), State::Open, "10 of 20 failed");
    let err = call(&mut svc, Call::Ok).await.unwrap_err();
    assert_eq!(err.retry_after(), Some(Duration::from_secs(5)));
}

#[tokio::test(start_paused = true)]
async fn the_default_config_trips_at_half_of_the_last_hundred() {
    let mut svc = service(Config::default());
    for _ in 0..100 {
        call(&mut svc, Call::Ok).await.unwrap();
    }
    fail(&mut svc, 49).await;
    assert_eq!(svc.breaker().state(), State::Closed);
    fail(&mut svc, 1).await;
    assert_eq!(svc.breaker().state(), State::Open);
    // The counters start afresh in the new generation.
    let w = svc.breaker().snapshot().windows[0];
    assert_eq!((w.calls, w.hits), (0, 0));
}

#[tokio::test(start_paused = true)]
async fn a_breaker_with_no_policy_never_trips() {
    let mut svc = service(Config::new().trips([]));
    fail(&mut svc, 1000).await;
    assert_eq!(svc.breaker().state(), State::Closed);
}

#[tokio::test(start_paused = true)]
async fn zero_open_period_probes_at_once() {
    let b = Breaker::new(
        Config::new()
            .trips([Trip::consecutive_failures(1)])
            .open_for(Duration::ZERO)
            .no_backoff(),
    );
    b.acquire().unwrap().finish(Outcome::Failure);
    assert_eq!(b.state(), State::Open);
    assert_eq!(b.acquire().unwrap().state(), State::HalfOpen);
}

fn finite_or_odd() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>(),
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(-0.0),
        0.0..=1.0
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any settings give a working breaker: every call is admitted or
    /// refused, nothing panics, and a reset always closes it.
    #[test]
    fn any_settings_are_safe(
        threshold in finite_or_odd(),
        count in any::<u32>(),
        nanos in any::<u64>(),
        minimum in any::<u32>(),
        probes in any::<u32>(),
        successes in any::<u32>(),
        factor in finite_or_odd(),
        open_ms in 0u64..10_000,
        outcomes in proptest::collection::vec(0u8..3, 0..200),
    ) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap();
        rt.block_on(async {
            let b = Breaker::new(
                Config::new()
                    .trips([
                        Trip::consecutive_failures(count),
                        Trip::failure_rate(threshold, Window::Count(count % 1000), minimum),
                        Trip::failure_rate(threshold, Window::Time(Duration::from_nanos(nanos)), minimum),
                        Trip::slow_call_rate(threshold, Duration::from_nanos(nanos % 1000), Window::Count(count), minimum),
                    ])
                    .open_for(Duration::from_millis(open_ms))
                    .backoff(factor, Duration::from_nanos(nanos))
                    .half_open(probes, successes)
                    .interval(Duration::from_nanos(nanos)),
            );
            for o in &outcomes {
                if let Ok(p) = b.acquire() {
                    p.finish(match o {
                        0 => Outcome::Success,
                        1 => Outcome::Failure,
                        _ => Outcome::Ignore,
                    });
                }
                advance(Duration::from_millis(1)).await;
            }
            let snap = b.snapshot();
            assert_eq!(snap.windows.len(), 3);
            assert!(snap.windows.iter().all(|w| w.hits <= w.calls));
            assert!(matches!(snap.windows[2].rate, Rate::SlowCall(_)));
            b.reset();
            assert_eq!(b.state(), State::Closed);
        });
    }
}

#[test]
fn debug_output_names_the_parts() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let _g = rt.enter();
    let b = Breaker::new(Config::gobreaker());
    assert_eq!(format!("{b:?}"), "Breaker { state: Closed, .. }");
    let c = format!("{:?}", Config::gobreaker());
    assert!(c.contains("ConsecutiveFailures(6)"), "{c}");
    let p = b.acquire().unwrap();
    assert!(format!("{p:?}").contains("Closed"));
    let _ = Code::Unavailable;
}
