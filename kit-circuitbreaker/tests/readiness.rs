//! `Readiness::NotReady`: not ready while refusing, woken at the probe time
//! or sooner, and skipped by a tower p2c balancer.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use common::*;
use kit_circuitbreaker::{CircuitBreakerLayer, Config, Readiness, State, Trip};
use kit_endpoint::{Error, endpoint_fn};
use tokio::time::advance;
use tower::{Layer, Service, ServiceExt};

const SEC: Duration = Duration::from_secs(1);

#[derive(Default)]
struct CountingWaker(AtomicUsize);

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Relaxed);
    }
}

fn waker() -> (Arc<CountingWaker>, Waker) {
    let w = Arc::new(CountingWaker::default());
    (w.clone(), Waker::from(w))
}

fn not_ready() -> Config {
    Config::new()
        .trips([Trip::consecutive_failures(1)])
        .open_for(5 * SEC)
        .half_open(1, 1)
        .readiness(Readiness::NotReady)
}

async fn settle() {
    // Let the timer driver fire expired timers.
    for _ in 0..3 {
        tokio::task::yield_now().await;
    }
}

#[tokio::test(start_paused = true)]
async fn pending_while_open_and_woken_at_the_probe_time() {
    let mut svc = service(not_ready());
    fail(&mut svc, 1).await;
    let (count, w) = waker();
    let mut cx = Context::from_waker(&w);
    assert!(svc.poll_ready(&mut cx).is_pending());
    assert!(svc.poll_ready(&mut cx).is_pending());
    advance(5 * SEC - Duration::from_millis(1)).await;
    settle().await;
    assert_eq!(count.0.load(Relaxed), 0);
    advance(Duration::from_millis(1)).await;
    settle().await;
    assert_eq!(count.0.load(Relaxed), 1);
    assert!(matches!(svc.poll_ready(&mut cx), Poll::Ready(Ok(()))));
    assert_eq!(svc.breaker().state(), State::HalfOpen);
    // Not-ready is not a refusal.
    assert_eq!(svc.breaker().snapshot().rejected, 0);
    svc.call(Call::Ok).await.unwrap();
    assert_eq!(svc.breaker().state(), State::Closed);
}

#[tokio::test(start_paused = true)]
async fn a_reset_wakes_at_once() {
    let mut svc = service(not_ready());
    fail(&mut svc, 1).await;
    let (count, w) = waker();
    let mut cx = Context::from_waker(&w);
    assert!(svc.poll_ready(&mut cx).is_pending());
    svc.breaker().reset();
    assert_eq!(count.0.load(Relaxed), 1);
    assert!(svc.poll_ready(&mut cx).is_ready());
}

#[tokio::test(start_paused = true)]
async fn forced_open_waits_for_a_manual_change() {
    let mut svc = service(not_ready());
    svc.breaker().force_open();
    let (count, w) = waker();
    let mut cx = Context::from_waker(&w);
    assert!(svc.poll_ready(&mut cx).is_pending());
    advance(3600 * SEC).await;
    settle().await;
    assert_eq!(count.0.load(Relaxed), 0);
    svc.breaker().force_closed();
    assert_eq!(count.0.load(Relaxed), 1);
    assert!(svc.poll_ready(&mut cx).is_ready());
}

#[tokio::test(start_paused = true)]
async fn a_freed_probe_slot_wakes_the_waiters() {
    let mut svc = service(not_ready());
    fail(&mut svc, 1).await;
    advance(5 * SEC).await;
    let mut prober = svc.clone();
    let (_, w1) = waker();
    assert!(prober.poll_ready(&mut Context::from_waker(&w1)).is_ready());
    let (count, w2) = waker();
    let mut cx = Context::from_waker(&w2);
    assert!(svc.poll_ready(&mut cx).is_pending());
    // The probe's permit is dropped unused: its slot is free.
    drop(prober);
    assert_eq!(count.0.load(Relaxed), 1);
    assert!(svc.poll_ready(&mut cx).is_ready());
}

#[tokio::test(start_paused = true)]
async fn a_p2c_balancer_routes_around_an_open_breaker() {
    use tower::balance::p2c::Balance;
    use tower::discover::ServiceList;
    use tower::load::Constant;

    let hits = [Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0))];
    let layer = CircuitBreakerLayer::new(not_ready());
    let instances: Vec<_> = (0..2)
        .map(|i| {
            let hits = hits[i].clone();
            let ep = endpoint_fn(move |_: ()| {
                hits.fetch_add(1, Relaxed);
                async move {
                    if i == 0 {
                        Err(Error::unavailable("instance 0 is down"))
                    } else {
                        Ok(i)
                    }
                }
            });
            Constant::new(layer.layer(ep), 0)
        })
        .collect();
    let mut lb = Balance::new(ServiceList::new(instances));
    let mut ok = 0;
    for _ in 0..50 {
        if lb.ready().await.unwrap().call(()).await.is_ok() {
            ok += 1;
        }
    }
    // Instance 0 failed once, opened, and was skipped from then on.
    assert_eq!(hits[0].load(Relaxed), 1);
    assert_eq!(ok, 49);
    // At the probe time the balancer tries it again, once.
    advance(5 * SEC).await;
    for _ in 0..50 {
        let _ = lb.ready().await.unwrap().call(()).await;
    }
    assert_eq!(hits[0].load(Relaxed), 2);
    assert_eq!(hits[1].load(Relaxed), 98);
}
