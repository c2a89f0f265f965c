//! Under contention: half-open never admits more than its probes, and every
//! call is counted exactly once.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::*};
use std::time::Duration;

use common::*;
use kit_circuitbreaker::{Breaker, Config, Outcome, State, Trip, Window};
use kit_endpoint::Code;
use proptest::prelude::*;
use tower::{Service, ServiceExt};

/// Half-open with `probes` slots and a success threshold it never reaches.
fn half_open(probes: u32) -> Breaker {
    let breaker = Breaker::new(
        Config::new()
            .trips([Trip::consecutive_failures(1)])
            .open_for(Duration::ZERO)
            .half_open(probes, u32::MAX),
    );
    breaker.acquire().unwrap().finish(Outcome::Failure);
    drop(breaker.acquire().unwrap()); // opens the half-open period
    assert_eq!(breaker.state(), State::HalfOpen);
    breaker
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// However threads interleave admissions, successes, ignored calls and
    /// drops, no more than `probes` probes are ever held at once, and all
    /// slots are free at the end.
    #[test]
    fn half_open_never_admits_more_than_its_probes(
        probes in 1u32..4,
        threads in 2usize..6,
        plan in proptest::collection::vec(0u8..3, 50..200),
    ) {
        let breaker = half_open(probes);
        let held = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let admitted = Arc::new(AtomicUsize::new(0));
        let plan = Arc::new(plan);
        std::thread::scope(|s| {
            for t in 0..threads {
                let (breaker, held, most, admitted, plan) =
                    (&breaker, &held, &most, &admitted, &plan);
                s.spawn(move || {
                    for (i, step) in plan.iter().enumerate().skip(t) {
                        let Ok(permit) = breaker.acquire() else { continue };
                        assert_eq!(permit.state(), State::HalfOpen);
                        admitted.fetch_add(1, Relaxed);
                        let now = held.fetch_add(1, SeqCst) + 1;
                        most.fetch_max(now, SeqCst);
                        if i % 3 == 0 {
                            std::thread::yield_now();
                        }
                        held.fetch_sub(1, SeqCst);
                        match step {
                            0 => permit.finish(Outcome::Success),
                            1 => permit.finish(Outcome::Ignore),
                            _ => drop(permit),
                        }
                    }
                });
            }
        });
        prop_assert!(most.load(SeqCst) <= probes as usize, "{} > {probes}", most.load(SeqCst));
        prop_assert!(admitted.load(SeqCst) > 0);
        let snap = breaker.snapshot();
        prop_assert_eq!(snap.state, State::HalfOpen);
        prop_assert_eq!(snap.probes_in_flight, 0);
    }
}

const TASKS: u64 = 8;
const CALLS: u64 = 4_000;

fn outcome(task: u64, i: u64) -> Call {
    match (task * 7 + i) % 10 {
        0..=2 => Call::Fail(Code::Unavailable),
        3 => Call::Fail(Code::Cancelled),
        4 => Call::Fail(Code::InvalidArgument),
        _ => Call::Ok,
    }
}

/// 8 tasks on a multi-thread runtime through clones of one service that
/// never trips: the window holds exactly every call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stress_counts_add_up_while_closed() {
    let hooks = Counting::default();
    let config = Config::new()
        .trips([Trip::failure_rate(1.0, Window::Count(65_536), 65_536)])
        .hooks(hooks.clone());
    let svc = service(config);
    let tasks: Vec<_> = (0..TASKS)
        .map(|t| {
            let mut svc = svc.clone();
            tokio::spawn(async move {
                for i in 0..CALLS {
                    let _ = call(&mut svc, outcome(t, i)).await;
                    if i % 64 == 0 {
                        tokio::task::yield_now().await;
                    }
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let want_fail = (0..TASKS)
        .flat_map(|t| (0..CALLS).map(move |i| outcome(t, i)))
        .filter(|c| matches!(c, Call::Fail(Code::Unavailable)))
        .count() as u64;
    let ignored = TASKS * CALLS / 10;
    let w = svc.breaker().snapshot().windows[0];
    assert_eq!(w.calls, TASKS * CALLS - ignored);
    assert_eq!(w.hits, want_fail);
    assert_eq!(hooks.0.get(&hooks.0.failure), want_fail);
    assert_eq!(hooks.0.get(&hooks.0.ignored), ignored);
    assert_eq!(hooks.0.finished(), TASKS * CALLS);
    assert_eq!(svc.breaker().state(), State::Closed);
}

/// The same load with a breaker that trips, probes and closes over and
/// over: every call is either finished or refused, exactly once, and the
/// transitions seen by the hooks match the counters.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stress_counts_add_up_across_transitions() {
    let hooks = Counting::default();
    let opened = Arc::new(AtomicU64::new(0));
    let config = Config::new()
        .trips([
            Trip::consecutive_failures(3),
            Trip::failure_rate(0.5, Window::Count(20), 10),
        ])
        .open_for(Duration::from_micros(50))
        .no_backoff()
        .half_open(2, 2)
        .hooks(hooks.clone())
        .on_state_change({
            let opened = opened.clone();
            move |t| {
                if t.to == State::Open {
                    opened.fetch_add(1, Relaxed);
                }
            }
        });
    let svc = service(config);
    let tasks: Vec<_> = (0..TASKS)
        .map(|t| {
            let mut svc = svc.clone();
            tokio::spawn(async move {
                let mut refused = 0u64;
                for i in 0..CALLS {
                    let c = outcome(t, i);
                    let res = svc.ready().await.unwrap().call(c).await;
                    if res.is_err_and(|e| is_refusal(&e)) {
                        refused += 1;
                    }
                }
                refused
            })
        })
        .collect();
    let mut refused = 0;
    for t in tasks {
        refused += t.await.unwrap();
    }
    let c = &hooks.0;
    let snap = svc.breaker().snapshot();
    assert_eq!(c.finished() + refused, TASKS * CALLS);
    assert_eq!(c.get(&c.rejected), refused);
    assert_eq!(snap.rejected, refused);
    assert_eq!(c.get(&c.cancelled), 0);
    let transitions = c.transitions();
    let to_open = transitions.iter().filter(|t| t.1 == State::Open).count() as u64;
    assert_eq!(to_open, snap.trips);
    assert_eq!(opened.load(Relaxed), snap.trips);
    assert_eq!(transitions.len() as u64, u64::from(snap.generation));
    assert!(snap.trips > 0, "the load should trip the breaker");
}
