use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use kit_endpoint::{Code, Error};
use proptest::prelude::*;
use tower::load::Load;
use tower::{Layer, ServiceExt};
use tower_service::Service;

use super::{Balancer, P2c, PeakEwmaLayer, Random, RoundRobin};
use crate::instancer::{self, Publisher};
use crate::{Endpointer, Instance};

/// A stand-in for an endpoint behind a circuit breaker in readiness mode:
/// while the gate is shut, `poll_ready` is `Pending` and keeps the waker,
/// as the breaker does while open; opening the gate wakes it, as the
/// breaker does at probe time. `fail` makes `poll_ready` fail instead.
#[derive(Clone, Default)]
struct Gate {
    name: String,
    state: Arc<Mutex<GateState>>,
}

#[derive(Default)]
struct GateState {
    shut: bool,
    fail: bool,
    wakers: Vec<Waker>,
}

impl Gate {
    fn new(name: &str) -> Gate {
        Gate {
            name: name.to_owned(),
            state: Arc::default(),
        }
    }

    fn shut(&self) {
        self.state.lock().unwrap().shut = true;
    }

    fn fail(&self) {
        self.state.lock().unwrap().fail = true;
    }

    fn open(&self) {
        let wakers = {
            let mut s = self.state.lock().unwrap();
            s.shut = false;
            std::mem::take(&mut s.wakers)
        };
        wakers.into_iter().for_each(Waker::wake);
    }
}

impl Service<()> for Gate {
    type Response = String;
    type Error = Error;
    type Future = std::future::Ready<Result<String, Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let mut s = self.state.lock().unwrap();
        if s.fail {
            return Poll::Ready(Err(Error::unavailable(format!(
                "{} breaker open",
                self.name
            ))));
        }
        if s.shut {
            s.wakers.push(cx.waker().clone());
            return Poll::Pending;
        }
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, (): ()) -> Self::Future {
        std::future::ready(Ok(self.name.clone()))
    }
}

/// Gates for `names`, an endpointer over them, and the publisher.
fn gates(names: &[&str]) -> (Publisher, Endpointer<Gate>, HashMap<String, Gate>) {
    let all: HashMap<String, Gate> = names
        .iter()
        .map(|n| (n.to_string(), Gate::new(n)))
        .collect();
    let (publisher, instancer) = instancer::channel();
    publisher.update(names.iter().map(|n| Instance::from(*n)));
    let factory_gates = Arc::new(Mutex::new(all.clone()));
    let endpointer = Endpointer::new(instancer, move |i: &Instance| {
        let mut gates = factory_gates.lock().unwrap();
        Ok(gates
            .entry(i.to_string())
            .or_insert_with(|| Gate::new(i.as_str()))
            .clone())
    });
    (publisher, endpointer, all)
}

#[derive(Default)]
struct CountingWaker(AtomicUsize);

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn poll_ready<S: Service<()>>(
    svc: &mut S,
    waker: &Arc<CountingWaker>,
) -> Poll<Result<(), S::Error>> {
    let waker = Waker::from(waker.clone());
    svc.poll_ready(&mut Context::from_waker(&waker))
}

async fn pick<S>(lb: &mut S) -> String
where
    S: Service<(), Response = String, Error = Error>,
{
    lb.ready().await.unwrap().call(()).await.unwrap()
}

#[tokio::test]
async fn round_robin_skips_an_open_breaker() {
    let (_publisher, endpointer, gates) = gates(&["a", "b", "c"]);
    gates["b"].shut();
    let mut lb = Balancer::new(endpointer, RoundRobin::new());
    let mut seen = Vec::new();
    for _ in 0..4 {
        seen.push(pick(&mut lb).await);
    }
    assert_eq!(seen, ["a", "c", "c", "a"]);
}

#[tokio::test]
async fn every_breaker_open_is_pending_until_one_probes() {
    for policy in 0..3 {
        let (_publisher, endpointer, gates) = gates(&["a", "b"]);
        gates.values().for_each(Gate::shut);
        let waker = Arc::new(CountingWaker::default());
        let mut lb = match policy {
            0 => boxed(Balancer::new(endpointer, RoundRobin::new())),
            1 => boxed(Balancer::new(endpointer, Random::with_seed(7))),
            _ => {
                let ewma = PeakEwmaLayer::new();
                let (publisher, instancer) = instancer::channel();
                publisher.update(["a", "b"].map(Instance::from));
                let g = gates.clone();
                let ep = Endpointer::new(instancer, move |i: &Instance| {
                    Ok(ewma.layer(g[i.as_str()].clone()))
                });
                std::mem::forget(publisher);
                boxed(Balancer::new(ep, P2c::with_seed(7)))
            }
        };
        assert!(poll_ready(&mut lb, &waker).is_pending());
        assert_eq!(waker.0.load(Ordering::SeqCst), 0);
        gates["b"].open();
        assert!(
            waker.0.load(Ordering::SeqCst) >= 1,
            "policy {policy}: the probe woke the balancer"
        );
        assert!(matches!(poll_ready(&mut lb, &waker), Poll::Ready(Ok(()))));
        assert_eq!(lb.call(()).await.unwrap(), "b");
    }
}

type BoxedLb = tower::util::BoxService<(), String, Error>;

fn boxed<S>(svc: S) -> BoxedLb
where
    S: Service<(), Response = String, Error = Error> + Send + 'static,
    S::Future: Send + 'static,
{
    BoxedLb::new(svc)
}

#[tokio::test]
async fn a_new_instance_wakes_a_balancer_whose_endpoints_are_all_pending() {
    let (publisher, mut endpointer, gates) = gates(&["a"]);
    gates["a"].shut();
    let waker = Arc::new(CountingWaker::default());
    let mut lb = Balancer::new(endpointer.clone(), RoundRobin::new());
    assert!(poll_ready(&mut lb, &waker).is_pending());
    endpointer.endpoints_and_update();
    publisher.update(["a", "z"].map(Instance::from));
    endpointer.changed().await.unwrap();
    assert!(
        waker.0.load(Ordering::SeqCst) >= 1,
        "the set change woke the balancer"
    );
    assert!(matches!(poll_ready(&mut lb, &waker), Poll::Ready(Ok(()))));
    assert_eq!(lb.call(()).await.unwrap(), "z");
}

#[tokio::test]
async fn failing_readiness_is_skipped_and_all_failing_is_unavailable() {
    let (_publisher, endpointer, gates) = gates(&["a", "b"]);
    gates["a"].fail();
    let mut lb = Balancer::new(endpointer, Random::with_seed(1));
    for _ in 0..5 {
        assert_eq!(pick(&mut lb).await, "b");
    }
    gates["b"].fail();
    let err = lb.ready().await.unwrap_err();
    assert_eq!(err.code(), Code::Unavailable);
    assert!(err.message().contains("breaker open"), "{err}");
}

#[tokio::test]
async fn no_endpoints_is_unavailable_at_once() {
    let (_publisher, endpointer, _) = gates(&[]);
    let mut lb = Balancer::new(endpointer, P2cOrRr::Rr(RoundRobin::new()));
    let err = lb.ready().await.unwrap_err();
    assert_eq!(err.code(), Code::Unavailable);
    assert_eq!(err.message(), "no endpoints available");
    // call without readiness is an error, not a panic
    let err = lb.call(()).await.unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
}

/// A policy of the user's own: the Policy trait is public.
#[derive(Clone, Debug)]
enum P2cOrRr {
    Rr(RoundRobin),
}

impl super::Policy<Gate, ()> for P2cOrRr {
    fn pick(
        &mut self,
        endpoints: &crate::Endpoints<Gate>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Gate, Error>> {
        match self {
            P2cOrRr::Rr(rr) => super::Policy::<Gate, ()>::pick(rr, endpoints, cx),
        }
    }
}

/// An endpoint that answers after a fixed latency (tokio time).
#[derive(Clone)]
struct Latency {
    index: usize,
    latency: Duration,
}

impl Service<()> for Latency {
    type Response = usize;
    type Error = Error;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<usize, Error>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, (): ()) -> Self::Future {
        let (index, latency) = (self.index, self.latency);
        Box::pin(async move {
            tokio::time::sleep(latency).await;
            Ok(index)
        })
    }
}

/// Runs `calls` sequential calls through p2c over endpoints with these
/// latencies, on paused time; returns the calls each endpoint got.
fn p2c_counts(latencies: &[Duration], calls: usize, seed: u64) -> Vec<usize> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    rt.block_on(async {
        let (publisher, instancer) = instancer::channel();
        publisher.update((0..latencies.len()).map(|i| Instance::new(format!("{i:03}"))));
        let lat = latencies.to_vec();
        let ewma = PeakEwmaLayer::new().default_rtt(Duration::from_millis(1));
        let endpointer = Endpointer::new(instancer, move |i: &Instance| {
            let index: usize = i.as_str().parse().map_err(Error::from)?;
            Ok(ewma.layer(Latency {
                index,
                latency: lat[index],
            }))
        });
        let mut lb = Balancer::new(endpointer, P2c::with_seed(seed));
        let mut counts = vec![0; latencies.len()];
        for _ in 0..calls {
            let i = lb.ready().await.unwrap().call(()).await.unwrap();
            counts[i] += 1;
        }
        drop(publisher);
        counts
    })
}

#[test]
fn peak_ewma_penalises_failures_and_counts_pending() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    rt.block_on(async {
        let failing =
            tower::service_fn(|(): ()| async { Err::<(), _>(Error::unavailable("refused")) });
        let mut svc = PeakEwmaLayer::new()
            .default_rtt(Duration::from_millis(1))
            .failure_penalty(Duration::from_secs(2))
            .layer(failing);
        let _ = svc.ready().await.unwrap().call(()).await;
        assert_eq!(svc.rtt_estimate(), Duration::from_secs(2));
        let before = svc.load();
        let pending = svc.call(());
        assert_eq!(svc.pending(), 1);
        assert!(svc.load() > before, "a request in flight raises the cost");
        drop(pending);
        assert_eq!(svc.pending(), 0);
    });
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Round robin over ready endpoints: each gets k/n picks, rounded.
    #[test]
    fn round_robin_is_fair(n in 1usize..20, k in 0usize..400) {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let names: Vec<String> = (0..n).map(|i| format!("{i:02}")).collect();
        let counts = rt.block_on(async {
            let refs: Vec<&str> = names.iter().map(String::as_str).collect();
            let (_p, endpointer, _) = gates(&refs);
            let mut lb = Balancer::new(endpointer, RoundRobin::new());
            let mut counts: HashMap<String, usize> = HashMap::new();
            for _ in 0..k {
                *counts.entry(pick(&mut lb).await).or_default() += 1;
            }
            counts
        });
        for name in &names {
            let c = counts.get(name).copied().unwrap_or(0);
            prop_assert!(c == k / n || c == k.div_ceil(n), "{name}: {c} of {k} over {n}");
        }
    }

    /// Random over ready endpoints: each count is within 5 standard
    /// deviations of k/n (a false failure has odds below one in a million).
    #[test]
    fn random_is_fair(n in 2usize..8, seed in any::<u64>()) {
        let k = 3000;
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let names: Vec<String> = (0..n).map(|i| format!("{i:02}")).collect();
        let counts = rt.block_on(async {
            let refs: Vec<&str> = names.iter().map(String::as_str).collect();
            let (_p, endpointer, _) = gates(&refs);
            let mut lb = Balancer::new(endpointer, Random::with_seed(seed));
            let mut counts: HashMap<String, usize> = HashMap::new();
            for _ in 0..k {
                *counts.entry(pick(&mut lb).await).or_default() += 1;
            }
            counts
        });
        let p = 1.0 / n as f64;
        let mean = k as f64 * p;
        let sd = (k as f64 * p * (1.0 - p)).sqrt();
        for name in &names {
            let c = counts.get(name).copied().unwrap_or(0) as f64;
            prop_assert!((c - mean).abs() <= 5.0 * sd, "{name}: {c}, expected {mean} ± {}", 5.0 * sd);
        }
    }

    /// p2c over peak-EWMA: an instance ten or more times slower than the
    /// others gets well under half its fair share. Latencies are injected on
    /// paused time and the RNG is seeded, so every case is deterministic.
    #[test]
    fn p2c_shifts_load_away_from_a_slow_instance(
        n in 2usize..6,
        slow in 0usize..6,
        fast_ms in 1u64..10,
        factor in 10u64..50,
        seed in any::<u64>(),
    ) {
        let slow = slow % n;
        let calls = 300;
        let latencies: Vec<Duration> = (0..n)
            .map(|i| Duration::from_millis(if i == slow { fast_ms * factor } else { fast_ms }))
            .collect();
        let counts = p2c_counts(&latencies, calls, seed);
        let fair = calls / n;
        prop_assert!(counts[slow] * 2 < fair, "slow got {} of {calls}, fair share {fair}: {counts:?}", counts[slow]);
        prop_assert_eq!(counts.iter().sum::<usize>(), calls);
    }
}

#[test]
fn p2c_with_equal_latencies_spreads_the_load() {
    let counts = p2c_counts(&[Duration::from_millis(5); 4], 400, 42);
    assert!(counts.iter().all(|&c| c > 40), "{counts:?}");
}
