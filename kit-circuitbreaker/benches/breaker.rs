//! What the breaker adds to a call in the closed state, beside a bare call
//! and beside the `failsafe` crate's breaker: uncontended, and with two OS
//! threads calling through one shared breaker.
//!
//! Run with `cargo bench -p kit-circuitbreaker --bench breaker`.

#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout
)]

use std::future::Future;
use std::hint::black_box;
use std::pin::Pin;
use std::sync::{Arc, Barrier};
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use criterion::Criterion;
use kit_circuitbreaker::{Breaker, CircuitBreakerLayer, Config, Outcome, Trip, Window};
use kit_endpoint::{Error, endpoint_fn};
use kit_testkit::bench::{criterion, report};
use tower::{Layer, Service, ServiceExt};

async fn double(x: u64) -> Result<u64, Error> {
    Ok(black_box(x).wrapping_mul(2))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
}

/// The configurations measured, by name.
fn configs() -> Vec<(&'static str, Config)> {
    let count = Window::Count(100);
    vec![
        ("default_count_window", Config::default()),
        ("gobreaker_consecutive", Config::gobreaker()),
        (
            "time_window",
            Config::new().trips([Trip::failure_rate(
                0.5,
                Window::Time(Duration::from_secs(10)),
                20,
            )]),
        ),
        (
            "slow_call_rate",
            Config::new().trips([Trip::slow_call_rate(0.5, Duration::from_secs(1), count, 20)]),
        ),
    ]
}

/// The floor of any tower middleware whose response future must reach
/// shared state when it completes (a breaker, a concurrency limit): one
/// `Arc` clone into the future and its drop, nothing else.
#[derive(Clone)]
struct ArcFloor<S> {
    inner: S,
    shared: Arc<u64>,
}

impl<S: Service<u64>> Service<u64> for ArcFloor<S> {
    type Response = S::Response;
    type Error = S::Error;
    type Future = ArcFloorFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: u64) -> Self::Future {
        ArcFloorFuture {
            inner: self.inner.call(req),
            shared: Some(self.shared.clone()),
        }
    }
}

pin_project_lite::pin_project! {
    struct ArcFloorFuture<F> {
        #[pin]
        inner: F,
        shared: Option<Arc<u64>>,
    }
}

impl<F: Future> Future for ArcFloorFuture<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let out = ready!(this.inner.poll(cx));
        black_box(this.shared.take());
        Poll::Ready(out)
    }
}

/// Times `iters` calls of `svc` inside one `block_on`.
fn run_service<S>(rt: &tokio::runtime::Runtime, svc: &mut S, iters: u64) -> Duration
where
    S: Service<u64, Response = u64, Error = Error>,
{
    rt.block_on(async {
        let start = Instant::now();
        for _ in 0..iters {
            let v = svc
                .ready()
                .await
                .unwrap()
                .call(black_box(21))
                .await
                .unwrap();
            black_box(v);
        }
        start.elapsed()
    })
}

/// Runs `body(iters)` on two OS threads at once, started together, and
/// returns the slower thread's time: each thread's time per call while the
/// other contends.
fn on_two_threads<F>(iters: u64, body: F) -> Duration
where
    F: Fn(u64) -> Duration + Sync,
{
    let barrier = Barrier::new(2);
    std::thread::scope(|s| {
        let threads: Vec<_> = (0..2)
            .map(|_| {
                s.spawn(|| {
                    barrier.wait();
                    body(iters)
                })
            })
            .collect();
        threads
            .into_iter()
            .map(|t| t.join().unwrap())
            .max()
            .unwrap()
    })
}

/// What each benchmark calls through: nothing, the floor, or a breaker.
#[derive(Clone)]
enum Stack {
    Bare,
    Floor(Arc<u64>),
    Breaker(Breaker),
}

impl Stack {
    /// Builds this thread's service (sharing the floor's `Arc` or the
    /// breaker) and times `iters` calls through it.
    fn run(&self, rt: &tokio::runtime::Runtime, iters: u64) -> Duration {
        let ep = endpoint_fn(double);
        match self {
            Stack::Bare => run_service(rt, &mut { ep }, iters),
            Stack::Floor(shared) => {
                let mut svc = ArcFloor {
                    inner: ep,
                    shared: shared.clone(),
                };
                run_service(rt, &mut svc, iters)
            }
            Stack::Breaker(b) => {
                let mut svc = CircuitBreakerLayer::shared(b.clone()).layer(ep);
                run_service(rt, &mut svc, iters)
            }
        }
    }
}

fn stacks() -> Vec<(&'static str, Stack)> {
    let rt = runtime();
    let mut out = vec![
        ("bare", Stack::Bare),
        ("arc_floor", Stack::Floor(Arc::new(0))),
    ];
    for (name, config) in configs() {
        out.push((
            name,
            Stack::Breaker(rt.block_on(async { Breaker::new(config) })),
        ));
    }
    out
}

fn bench_service(c: &mut Criterion) {
    let rt = runtime();
    let mut g = c.benchmark_group("service");
    for (name, stack) in stacks() {
        g.bench_function(name, |b| b.iter_custom(|n| stack.run(&rt, n)));
    }
    g.finish();
    let mut g = c.benchmark_group("service_2_threads");
    for (name, stack) in stacks() {
        g.bench_function(name, |b| {
            b.iter_custom(|n| on_two_threads(n, |n| stack.run(&runtime(), n)))
        });
    }
    g.finish();
}

type FailsafeBreaker = failsafe::StateMachine<
    failsafe::failure_policy::OrElse<
        failsafe::failure_policy::SuccessRateOverTimeWindow<failsafe::backoff::EqualJittered>,
        failsafe::failure_policy::ConsecutiveFailures<failsafe::backoff::EqualJittered>,
    >,
    (),
>;

/// The breaker alone, outside tower: ask, call a plain function, report
/// success. This is the level at which `failsafe` compares, since its
/// futures support is not tower-native.
enum Guard {
    Bare,
    Kit(Breaker),
    Failsafe(FailsafeBreaker),
}

fn guard_loop(guard: &Guard, iters: u64) -> Duration {
    let start = Instant::now();
    for _ in 0..iters {
        match guard {
            Guard::Bare => {
                black_box(black_box(21u64).wrapping_mul(2));
            }
            Guard::Kit(b) => {
                let permit = b.acquire().unwrap();
                black_box(black_box(21u64).wrapping_mul(2));
                permit.finish(Outcome::Success);
            }
            Guard::Failsafe(cb) => {
                if cb.is_call_permitted() {
                    black_box(black_box(21u64).wrapping_mul(2));
                    cb.on_success();
                }
            }
        }
    }
    start.elapsed()
}

fn guards() -> Vec<(&'static str, Guard)> {
    let rt = runtime();
    vec![
        ("bare", Guard::Bare),
        (
            "kit_default",
            Guard::Kit(rt.block_on(async { Breaker::new(Config::default()) })),
        ),
        (
            "kit_gobreaker",
            Guard::Kit(rt.block_on(async { Breaker::new(Config::gobreaker()) })),
        ),
        (
            "failsafe_default",
            Guard::Failsafe(failsafe::Config::new().build()),
        ),
    ]
}

fn bench_guard(c: &mut Criterion) {
    let mut g = c.benchmark_group("guard");
    for (name, guard) in guards() {
        g.bench_function(name, |b| b.iter_custom(|n| guard_loop(&guard, n)));
    }
    g.finish();
    let mut g = c.benchmark_group("guard_2_threads");
    for (name, guard) in guards() {
        g.bench_function(name, |b| {
            b.iter_custom(|n| on_two_threads(n, |n| guard_loop(&guard, n)))
        });
    }
    g.finish();
}

fn ids(group: &str, names: &[&str]) -> Vec<String> {
    names.iter().map(|n| format!("{group}/{n}")).collect()
}

fn main() {
    let mut c = criterion();
    bench_service(&mut c);
    bench_guard(&mut c);
    c.final_summary();

    let services = [
        "arc_floor",
        "default_count_window",
        "gobreaker_consecutive",
        "time_window",
        "slow_call_rate",
    ];
    for (group, title) in [
        (
            "service",
            "closed state, uncontended: a call through CircuitBreaker vs a bare endpoint call",
        ),
        (
            "service_2_threads",
            "closed state, 2 OS threads sharing one breaker: each thread's time per call",
        ),
    ] {
        let ids = ids(group, &services);
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        report(title, &format!("{group}/bare"), &ids);
    }
    let guards = ["kit_default", "kit_gobreaker", "failsafe_default"];
    for (group, title) in [
        (
            "guard",
            "the breaker alone (acquire + finish) vs failsafe (is_call_permitted + on_success), uncontended",
        ),
        (
            "guard_2_threads",
            "the breaker alone vs failsafe, 2 OS threads sharing one breaker",
        ),
    ] {
        let ids = ids(group, &guards);
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        report(title, &format!("{group}/bare"), &ids);
    }
}
