//! Every transition of the state machine, on a paused tokio clock.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::time::Duration;

use common::*;
use kit_circuitbreaker::{Config, State, Trip, Window};
use kit_endpoint::Code;
use tokio::time::advance;
use tower::{Service, ServiceExt};

const SEC: Duration = Duration::from_secs(1);

fn consecutive(n: u32) -> Config {
    Config::new()
        .trips([Trip::consecutive_failures(n)])
        .open_for(5 * SEC)
        .no_backoff()
        .half_open(1, 1)
}

#[tokio::test(start_paused = true)]
async fn closed_to_open_on_consecutive_failures() {
    let mut svc = service(consecutive(3));
    fail(&mut svc, 2).await;
    // A success ends the run.
    call(&mut svc, Call::Ok).await.unwrap();
    fail(&mut svc, 2).await;
    assert_eq!(svc.breaker().state(), State::Closed);
    assert_eq!(svc.breaker().snapshot().consecutive_failures, 2);
    fail(&mut svc, 1).await;
    assert_eq!(svc.breaker().state(), State::Open);
    let snap = svc.breaker().snapshot();
    assert_eq!((snap.trips, snap.consecutive_failures), (1, 0));
}

#[tokio::test(start_paused = true)]
async fn open_fails_fast_and_says_when_it_will_probe() {
    let mut svc = service(consecutive(1));
    fail(&mut svc, 1).await;
    advance(Duration::from_millis(1500)).await;
    let err = call(&mut svc, Call::Ok).await.unwrap_err();
    assert_eq!(err.code(), Code::Unavailable);
    assert!(is_refusal(&err));
    assert_eq!(
        err.message(),
        "circuit breaker is open; it will probe again in 3.5s"
    );
    assert_eq!(err.retry_after(), Some(Duration::from_millis(3500)));
    let snap = svc.breaker().snapshot();
    assert_eq!(snap.rejected, 1);
    assert_eq!(snap.retry_in, Some(Duration::from_millis(3500)));
}

#[tokio::test(start_paused = true)]
async fn open_to_half_open_to_closed() {
    let hooks = Counting::default();
    let mut svc = service(consecutive(1).half_open(2, 2).hooks(hooks.clone()));
    fail(&mut svc, 1).await;
    advance(5 * SEC - Duration::from_nanos(1)).await;
    assert!(is_refusal(&call(&mut svc, Call::Ok).await.unwrap_err()));
    advance(Duration::from_nanos(1)).await;
    // Two probes at once are admitted, a third is refused.
    let mut a = svc.clone();
    let mut b = svc.clone();
    let mut c = svc.clone();
    let fa = a.ready().await.unwrap().call(Call::Slow(SEC));
    let fb = b.ready().await.unwrap().call(Call::Slow(SEC));
    assert_eq!(svc.breaker().state(), State::HalfOpen);
    assert_eq!(svc.breaker().snapshot().probes_in_flight, 2);
    let err = call(&mut c, Call::Ok).await.unwrap_err();
    assert_eq!(
        err.message(),
        "circuit breaker is half-open and its 2 probe slot(s) are in use"
    );
    fa.await.unwrap();
    assert_eq!(svc.breaker().state(), State::HalfOpen);
    assert_eq!(svc.breaker().snapshot().probe_successes, 1);
    fb.await.unwrap();
    assert_eq!(svc.breaker().state(), State::Closed);
    assert_eq!(
        hooks.0.transitions(),
        [
            (State::Closed, State::Open),
            (State::Open, State::HalfOpen),
            (State::HalfOpen, State::Closed),
        ]
    );
    assert_eq!(hooks.0.get(&hooks.0.rejected), 2);
}

#[tokio::test(start_paused = true)]
async fn half_open_failure_reopens_with_capped_backoff() {
    let config = consecutive(1).open_for(SEC).backoff(3.0, 5 * SEC);
    let mut svc = service(config);
    fail(&mut svc, 1).await;
    let mut waits = Vec::new();
    for _ in 0..4 {
        let err = call(&mut svc, Call::Ok).await.unwrap_err();
        let wait = err.retry_after().unwrap();
        waits.push(wait.as_secs());
        advance(wait).await;
        // The probe fails: open again, for longer.
        fail(&mut svc, 1).await;
        assert_eq!(svc.breaker().state(), State::Open);
    }
    assert_eq!(waits, [1, 3, 5, 5]);
    // A successful probe closes and forgets the backoff.
    advance(5 * SEC).await;
    call(&mut svc, Call::Ok).await.unwrap();
    assert_eq!(svc.breaker().state(), State::Closed);
    fail(&mut svc, 1).await;
    let err = call(&mut svc, Call::Ok).await.unwrap_err();
    assert_eq!(err.retry_after(), Some(SEC));
    assert_eq!(svc.breaker().snapshot().trips, 6);
}

#[tokio::test(start_paused = true)]
async fn failure_rate_over_a_count_window() {
    let config = Config::new().trips([Trip::failure_rate(0.5, Window::Count(10), 6)]);
    let mut svc = service(config);
    // 4 failures of 5 calls: over the threshold, under the minimum.
    call(&mut svc, Call::Ok).await.unwrap();
    fail(&mut svc, 4).await;
    assert_eq!(svc.breaker().state(), State::Closed);
    // Successes alone never trip, even past the minimum.
    call(&mut svc, Call::Ok).await.unwrap();
    assert_eq!(svc.breaker().state(), State::Closed);
    for _ in 0..10 {
        call(&mut svc, Call::Ok).await.unwrap();
    }
    // The window holds the last 10: 10 successes; 5 failures make 50 %.
    fail(&mut svc, 4).await;
    let w = svc.breaker().snapshot().windows[0];
    assert_eq!((w.calls, w.hits), (10, 4));
    assert_eq!(w.ratio(), Some(0.4));
    fail(&mut svc, 1).await;
    assert_eq!(svc.breaker().state(), State::Open);
}

#[tokio::test(start_paused = true)]
async fn failure_rate_over_a_time_window_slides() {
    let config = Config::new().trips([Trip::failure_rate(
        0.5,
        Window::Time(Duration::from_secs(10)),
        4,
    )]);
    let mut svc = service(config);
    fail(&mut svc, 3).await;
    advance(10 * SEC).await;
    // The three failures slid out: 1 failure of 4 calls.
    for _ in 0..3 {
        call(&mut svc, Call::Ok).await.unwrap();
    }
    fail(&mut svc, 1).await;
    assert_eq!(svc.breaker().state(), State::Closed);
    let w = svc.breaker().snapshot().windows[0];
    assert_eq!((w.calls, w.hits), (4, 1));
    fail(&mut svc, 1).await; // 2 of 5
    assert_eq!(svc.breaker().state(), State::Closed);
    fail(&mut svc, 1).await; // 3 of 6
    assert_eq!(svc.breaker().state(), State::Open);
}

#[tokio::test(start_paused = true)]
async fn slow_call_rate_trips_and_a_slow_probe_reopens() {
    let hooks = Counting::default();
    let config = Config::new()
        .trips([Trip::slow_call_rate(1.0, SEC, Window::Count(3), 3)])
        .open_for(SEC)
        .no_backoff()
        .half_open(1, 1)
        .hooks(hooks.clone());
    let mut svc = service(config);
    call(&mut svc, Call::Slow(2 * SEC)).await.unwrap();
    call(&mut svc, Call::Slow(SEC)).await.unwrap();
    call(&mut svc, Call::Slow(SEC - Duration::from_millis(1)))
        .await
        .unwrap();
    assert_eq!(svc.breaker().state(), State::Closed);
    for _ in 0..3 {
        call(&mut svc, Call::Slow(SEC)).await.unwrap();
    }
    assert_eq!(svc.breaker().state(), State::Open);
    assert_eq!(hooks.0.get(&hooks.0.slow), 5);
    advance(SEC).await;
    // The probe succeeds, but slowly: that is a failure.
    call(&mut svc, Call::Slow(SEC)).await.unwrap();
    assert_eq!(svc.breaker().state(), State::Open);
    advance(SEC).await;
    call(&mut svc, Call::Ok).await.unwrap();
    assert_eq!(svc.breaker().state(), State::Closed);
}

#[tokio::test(start_paused = true)]
async fn policies_combine_first_to_trip_wins() {
    let hooks = Counting::default();
    let config = Config::new()
        .trips([
            Trip::consecutive_failures(5),
            Trip::failure_rate(0.3, Window::Count(10), 10),
        ])
        .on_state_change({
            let hooks = hooks.clone();
            move |t| {
                assert_eq!(
                    t.cause,
                    kit_circuitbreaker::Cause::FailureRate,
                    "{hooks:p}",
                    hooks = &hooks.0
                )
            }
        });
    let mut svc = service(config);
    for _ in 0..7 {
        call(&mut svc, Call::Ok).await.unwrap();
    }
    fail(&mut svc, 2).await;
    assert_eq!(svc.breaker().state(), State::Closed);
    fail(&mut svc, 1).await; // 3 of 10, though only 3 in a row
    assert_eq!(svc.breaker().state(), State::Open);
}

#[tokio::test(start_paused = true)]
async fn interval_clears_the_consecutive_count() {
    let mut svc = service(consecutive(3).interval(10 * SEC));
    fail(&mut svc, 2).await;
    advance(10 * SEC).await;
    fail(&mut svc, 2).await;
    assert_eq!(svc.breaker().state(), State::Closed);
    assert_eq!(svc.breaker().snapshot().consecutive_failures, 2);
    fail(&mut svc, 1).await;
    assert_eq!(svc.breaker().state(), State::Open);
}

#[tokio::test(start_paused = true)]
async fn a_call_admitted_before_a_trip_counts_nowhere_after_it() {
    let mut svc = service(consecutive(2).open_for(SEC).half_open(1, 3));
    let mut slow = svc.clone();
    let late = slow.ready().await.unwrap().call(Call::Slow(3 * SEC));
    fail(&mut svc, 2).await;
    advance(SEC).await;
    call(&mut svc, Call::Ok).await.unwrap(); // probe 1 of 3
    assert_eq!(svc.breaker().snapshot().probe_successes, 1);
    // The old call finishes now, in half-open: it is not a probe.
    late.await.unwrap();
    let snap = svc.breaker().snapshot();
    assert_eq!((snap.state, snap.probe_successes), (State::HalfOpen, 1));
}
