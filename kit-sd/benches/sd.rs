//! The cost of balancing: a pick (readiness + call) through each balancer
//! over 3 and 100 instances, and an Endpointer update for a set change of
//! 100 instances, beside a bare call of one endpoint.
//!
//! Run with `cargo bench -p kit-sd --bench sd`.

#![allow(missing_docs, clippy::unwrap_used, clippy::print_stdout)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion};
use kit_endpoint::{Endpoint, Error, endpoint_fn};
use kit_sd::balance::{Balancer, P2c, PeakEwmaLayer, Random, RoundRobin};
use kit_sd::{Endpointer, Instance, instancer};
use kit_testkit::bench::{criterion, report};
use tower::{Layer, Service, ServiceExt};

type Ep = Endpoint<u64, u64>;

fn endpoint() -> Ep {
    Endpoint::new(endpoint_fn(|x: u64| async move {
        Ok::<_, Error>(black_box(x) + 1)
    }))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
}

fn instances(n: usize, generation: usize) -> Vec<Instance> {
    (0..n)
        .map(|i| Instance::new(format!("10.{generation}.{}.{}:80", i / 250, i % 250)))
        .collect()
}

fn bench_calls<S>(rt: &tokio::runtime::Runtime, svc: &mut S, iters: u64) -> Duration
where
    S: Service<u64, Response = u64, Error = Error>,
{
    rt.block_on(async {
        let start = Instant::now();
        for _ in 0..iters {
            let svc = svc.ready().await.unwrap();
            black_box(svc.call(black_box(1)).await.unwrap());
        }
        start.elapsed()
    })
}

fn bench_picks(c: &mut Criterion) {
    let rt = runtime();
    let mut g = c.benchmark_group("pick");
    let mut bare = black_box(endpoint());
    g.bench_function("bare_call", |b| {
        b.iter_custom(|n| bench_calls(&rt, &mut bare, n))
    });
    for n in [3usize, 100] {
        let _guard = rt.enter();
        let (publisher, instancer) = instancer::channel();
        publisher.update(instances(n, 0));
        let plain = Endpointer::new(instancer.clone(), |_: &Instance| Ok(endpoint()));
        let ewma = PeakEwmaLayer::new();
        let loaded = Endpointer::new(instancer, move |_: &Instance| Ok(ewma.layer(endpoint())));
        let mut rr = Balancer::new(plain.clone(), RoundRobin::new());
        let mut random = Balancer::new(plain, Random::with_seed(1));
        let mut p2c = Balancer::new(loaded, P2c::with_seed(1));
        g.bench_function(BenchmarkId::new("round_robin", n), |b| {
            b.iter_custom(|i| bench_calls(&rt, &mut rr, i))
        });
        g.bench_function(BenchmarkId::new("random", n), |b| {
            b.iter_custom(|i| bench_calls(&rt, &mut random, i))
        });
        g.bench_function(BenchmarkId::new("p2c_peak_ewma", n), |b| {
            b.iter_custom(|i| bench_calls(&rt, &mut p2c, i))
        });
        std::mem::forget(publisher);
    }
    g.finish();
}

fn bench_updates(c: &mut Criterion) {
    let rt = runtime();
    let mut g = c.benchmark_group("endpointer");
    let _guard = rt.enter();
    for (name, sets) in [
        // every instance replaced: 100 built, 100 dropped
        ("replace_all_100", [instances(100, 0), instances(100, 1)]),
        // one instance of 100 replaced: 99 kept, 1 built, 1 dropped
        (
            "replace_1_of_100",
            [instances(100, 0), {
                let mut s = instances(100, 0);
                s[50] = Instance::new("10.9.9.9:80");
                s
            }],
        ),
    ] {
        let (publisher, instancer) = instancer::channel();
        publisher.update(sets[0].clone());
        let mut endpointer = Endpointer::new(instancer, |_: &Instance| Ok(endpoint()));
        let mut flip = 0usize;
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let start = Instant::now();
                    for _ in 0..iters {
                        flip += 1;
                        endpointer.endpoints_and_update();
                        publisher.update(sets[flip % 2].iter().cloned());
                        endpointer.changed().await.unwrap();
                    }
                    start.elapsed()
                })
            })
        });
        black_box(endpointer.endpoints().len());
    }
    g.finish();
}

fn main() {
    let mut c = criterion();
    bench_picks(&mut c);
    bench_updates(&mut c);
    c.final_summary();

    report(
        "a call through a balancer (pick + readiness + call) vs a bare call",
        "pick/bare_call",
        &[
            "pick/round_robin/3",
            "pick/random/3",
            "pick/p2c_peak_ewma/3",
            "pick/round_robin/100",
            "pick/random/100",
            "pick/p2c_peak_ewma/100",
        ],
    );
    report(
        "an Endpointer update (publish → new snapshot visible) vs a bare call",
        "pick/bare_call",
        &["endpointer/replace_all_100", "endpointer/replace_1_of_100"],
    );
}
