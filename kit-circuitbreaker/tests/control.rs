//! Classification, cancellation, manual control, hooks and counters.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::future::Future;
use std::pin::pin;
use std::task::Context;
use std::time::Duration;

use common::*;
use kit_circuitbreaker::{
    AnyError, Breaker, CircuitBreakerLayer, Config, Outcome, State, Trip, Window,
};
use kit_endpoint::{Code, Error};
use tokio::time::advance;
use tower::{Layer, Service, ServiceExt};

const SEC: Duration = Duration::from_secs(1);

fn one_failure_trips() -> Config {
    Config::new()
        .trips([Trip::consecutive_failures(1)])
        .open_for(SEC)
        .half_open(1, 1)
}

#[tokio::test(start_paused = true)]
async fn only_server_faults_count_by_default() {
    let hooks = Counting::default();
    let mut svc = service(one_failure_trips().hooks(hooks.clone()));
    for code in Code::ALL.into_iter().filter(|c| !c.is_server_fault()) {
        call(&mut svc, Call::Fail(code)).await.unwrap_err();
        assert_eq!(svc.breaker().state(), State::Closed, "{code}");
    }
    assert_eq!(hooks.0.get(&hooks.0.ignored), 1, "Cancelled is ignored");
    for code in Code::ALL.into_iter().filter(|c| c.is_server_fault()) {
        svc.breaker().reset();
        call(&mut svc, Call::Fail(code)).await.unwrap_err();
        assert_eq!(svc.breaker().state(), State::Open, "{code}");
    }
}

#[tokio::test(start_paused = true)]
async fn any_error_and_custom_classifiers() {
    let mut go_kit = CircuitBreakerLayer::new(one_failure_trips())
        .classify(AnyError)
        .layer(script());
    call(&mut go_kit, Call::Fail(Code::ResourceExhausted))
        .await
        .unwrap_err();
    assert_eq!(go_kit.breaker().state(), State::Open);

    // A classifier that reads the response: "slow" counts as a failure.
    let by_body = |r: Result<&&'static str, &Error>| match r {
        Ok(&"slow") => Outcome::Failure,
        Ok(_) => Outcome::Success,
        Err(_) => Outcome::Ignore,
    };
    let mut custom = CircuitBreakerLayer::new(one_failure_trips())
        .classify(by_body)
        .layer(script());
    call(&mut custom, Call::Fail(Code::Internal))
        .await
        .unwrap_err();
    call(&mut custom, Call::Ok).await.unwrap();
    assert_eq!(custom.breaker().state(), State::Closed);
    call(&mut custom, Call::Slow(Duration::ZERO)).await.unwrap();
    assert_eq!(custom.breaker().state(), State::Open);
}

/// Polls a future once, then drops it.
fn poll_once_and_drop<F: Future>(f: F) {
    let waker = futures_util::task::noop_waker();
    let mut cx = Context::from_waker(&waker);
    let f = pin!(f);
    assert!(f.poll(&mut cx).is_pending());
}

#[tokio::test(start_paused = true)]
async fn dropped_calls_count_as_nothing_and_free_their_probe_slot() {
    let hooks = Counting::default();
    let config = Config::new()
        .trips([Trip::failure_rate(0.5, Window::Count(4), 1)])
        .open_for(SEC)
        .half_open(1, 1)
        .hooks(hooks.clone());
    let mut svc = service(config);
    call(&mut svc, Call::Ok).await.unwrap();
    // Dropped before it finished: not in the window.
    poll_once_and_drop(svc.ready().await.unwrap().call(Call::Slow(SEC)));
    let w = svc.breaker().snapshot().windows[0];
    assert_eq!((w.calls, w.hits), (1, 0));
    assert_eq!(hooks.0.get(&hooks.0.cancelled), 1);

    fail(&mut svc, 1).await; // 1 of 2
    assert_eq!(svc.breaker().state(), State::Open);
    advance(SEC).await;
    // The only probe is dropped: the slot is free again, still half-open.
    poll_once_and_drop(svc.ready().await.unwrap().call(Call::Slow(SEC)));
    let snap = svc.breaker().snapshot();
    assert_eq!((snap.state, snap.probes_in_flight), (State::HalfOpen, 0));
    // A permit taken by poll_ready and never used frees it too.
    let mut idle = svc.clone();
    idle.ready().await.unwrap();
    assert_eq!(svc.breaker().snapshot().probes_in_flight, 1);
    drop(idle);
    assert_eq!(svc.breaker().snapshot().probes_in_flight, 0);
    call(&mut svc, Call::Ok).await.unwrap();
    assert_eq!(svc.breaker().state(), State::Closed);
    assert_eq!(hooks.0.get(&hooks.0.cancelled), 3);
}

#[tokio::test(start_paused = true)]
async fn an_ignored_probe_frees_its_slot_without_deciding() {
    let mut svc = service(one_failure_trips());
    fail(&mut svc, 1).await;
    advance(SEC).await;
    call(&mut svc, Call::Fail(Code::Cancelled))
        .await
        .unwrap_err();
    assert_eq!(svc.breaker().state(), State::HalfOpen);
    call(&mut svc, Call::Fail(Code::NotFound))
        .await
        .unwrap_err();
    assert_eq!(svc.breaker().state(), State::Closed);
}

#[tokio::test(start_paused = true)]
async fn force_open_force_closed_reset() {
    let hooks = Counting::default();
    let mut svc = service(one_failure_trips().hooks(hooks.clone()));
    let breaker = svc.breaker().clone();

    breaker.force_open();
    let err = call(&mut svc, Call::Ok).await.unwrap_err();
    assert_eq!(err.message(), "circuit breaker is forced open");
    assert_eq!(err.retry_after(), None);
    advance(3600 * SEC).await;
    assert!(is_refusal(&call(&mut svc, Call::Ok).await.unwrap_err()));
    assert_eq!(breaker.state(), State::ForcedOpen);

    breaker.force_closed();
    fail(&mut svc, 10).await;
    assert_eq!(breaker.state(), State::ForcedClosed);

    breaker.reset();
    assert_eq!(breaker.state(), State::Closed);
    fail(&mut svc, 1).await;
    assert_eq!(breaker.state(), State::Open);
    breaker.reset();
    call(&mut svc, Call::Ok).await.unwrap();
    assert_eq!(
        hooks.0.transitions(),
        [
            (State::Closed, State::ForcedOpen),
            (State::ForcedOpen, State::ForcedClosed),
            (State::ForcedClosed, State::Closed),
            (State::Closed, State::Open),
            (State::Open, State::Closed),
        ]
    );
    let snap = breaker.snapshot();
    assert_eq!((snap.trips, snap.rejected, snap.generation), (1, 2, 5));
    // 10 forced-closed failures, 1 real one, 1 success; 2 refusals.
    assert_eq!(hooks.0.get(&hooks.0.failure), 11);
    assert_eq!(hooks.0.get(&hooks.0.success), 1);
    assert_eq!(hooks.0.get(&hooks.0.rejected), 2);
}

#[tokio::test(start_paused = true)]
async fn the_handle_is_shared_by_clones_and_layers() {
    let breaker = Breaker::new(one_failure_trips());
    let layer = CircuitBreakerLayer::shared(breaker.clone());
    let mut a = layer.layer(script());
    let mut b = layer.layer(script());
    let mut a2 = a.clone();
    call(&mut a, Call::Fail(Code::Internal)).await.unwrap_err();
    for svc in [&mut a2, &mut b] {
        assert!(is_refusal(&call(svc, Call::Ok).await.unwrap_err()));
    }
    assert_eq!(breaker.snapshot().rejected, 2);
    // A plain layer gives each service its own breaker.
    let own = CircuitBreakerLayer::new(one_failure_trips());
    let mut c = own.layer(script());
    let mut d = own.layer(script());
    call(&mut c, Call::Fail(Code::Internal)).await.unwrap_err();
    call(&mut d, Call::Ok).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn acquire_and_finish_outside_tower() {
    let breaker = Breaker::new(one_failure_trips());
    let permit = breaker.acquire().unwrap();
    assert_eq!(permit.state(), State::Closed);
    drop(permit);
    breaker.acquire().unwrap().finish(Outcome::Failure);
    let err = breaker.acquire().unwrap_err();
    assert_eq!(err.code(), Code::Unavailable);
    advance(SEC).await;
    let probe = breaker.acquire().unwrap();
    assert_eq!(probe.state(), State::HalfOpen);
    assert!(breaker.acquire().is_err());
    probe.finish(Outcome::Success);
    assert_eq!(breaker.state(), State::Closed);
}

#[tokio::test(start_paused = true)]
async fn a_stale_permit_from_poll_ready_is_checked_again_at_call() {
    let mut svc = service(one_failure_trips());
    let mut other = svc.clone();
    // `svc` holds a closed-state permit from poll_ready...
    std::future::poll_fn(|cx| svc.poll_ready(cx)).await.unwrap();
    // ...while another clone trips the breaker.
    call(&mut other, Call::Fail(Code::Unavailable))
        .await
        .unwrap_err();
    let err = svc.call(Call::Ok).await.unwrap_err();
    assert!(is_refusal(&err));
    // Nothing reached the inner service, and `call` without `poll_ready`
    // asks the breaker too.
    assert!(is_refusal(&svc.call(Call::Ok).await.unwrap_err()));
    assert_eq!(svc.breaker().snapshot().rejected, 2);
}
