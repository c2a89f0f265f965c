//! The cost of an admission check, beside a bare call: the single GCRA
//! limiter and a keyed limiter holding 10,000 keys, on one thread and with
//! two threads hitting the same limiter; then whole calls through each
//! layer, beside a bare endpoint.
//!
//! Run with `cargo bench -p kit-ratelimit --bench ratelimit --features quanta`
//! (without the feature, the rows with governor's `QuantaClock` are skipped).

#![allow(missing_docs, clippy::unwrap_used, clippy::print_stdout)]

use std::hint::black_box;
use std::num::NonZeroU32;
use std::sync::Barrier;
use std::time::{Duration, Instant};

use criterion::Criterion;
use governor::clock::Clock;
use kit_endpoint::{Error, endpoint_fn};
use kit_ratelimit::adaptive::{AdaptiveLimitLayer, AdaptiveLimiter, Vegas};
use kit_ratelimit::clock::TokioClock;
use kit_ratelimit::keyed::{KeyedRateLimitLayer, KeyedRateLimiter};
use kit_ratelimit::{ConcurrencyLimitLayer, Quota, RateLimitLayer, RateLimiter};
use kit_testkit::bench::{criterion, report};
use tower::{Service, ServiceBuilder, ServiceExt};

const KEYS: u64 = 10_000;

/// A quota no benchmark can exhaust, so every check is an admission.
fn unlimited() -> Quota {
    Quota::per_second(NonZeroU32::MAX).allow_burst(NonZeroU32::MAX)
}

/// What a check returns, from a function the optimiser cannot see into:
/// the floor under any admission check.
#[inline(never)]
fn bare_call(x: u64) -> Result<(), Duration> {
    if black_box(x) == u64::MAX {
        Err(Duration::ZERO)
    } else {
        Ok(())
    }
}

fn keyed_limiter() -> KeyedRateLimiter<u64> {
    let keyed = KeyedRateLimiter::builder(unlimited())
        .max_keys(2 * KEYS as usize)
        .build();
    for key in 0..KEYS {
        keyed.check(key).unwrap();
    }
    assert_eq!(keyed.len(), KEYS as usize);
    keyed
}

/// Runs `f(thread, i)` for `iters` iterations on each of two OS threads
/// started together; the time is the slower thread's, so it reads as the
/// cost of one check while another thread checks the same limiter.
fn two_threads(iters: u64, f: impl Fn(u64, u64) + Sync) -> Duration {
    let barrier = Barrier::new(2);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..2u64)
            .map(|t| {
                let (f, barrier) = (&f, &barrier);
                s.spawn(move || {
                    barrier.wait();
                    let start = Instant::now();
                    for i in 0..iters {
                        f(t, i);
                    }
                    start.elapsed()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .max()
            .unwrap()
    })
}

fn bench_admission(c: &mut Criterion) {
    let single = RateLimiter::new(unlimited());
    assert!(single.check().is_ok());
    let keyed = keyed_limiter();

    let mut g = c.benchmark_group("admission");
    g.bench_function("bare_call", |b| {
        let mut i = 0u64;
        b.iter(|| {
            i = i.wrapping_add(1);
            bare_call(i)
        })
    });
    // The clock read inside every check, alone: most of a check's cost.
    g.bench_function("tokio_clock_now", |b| b.iter(|| TokioClock.now()));
    g.bench_function("single", |b| b.iter(|| single.check()));
    g.bench_function("keyed_10k", |b| {
        let mut key = 0;
        b.iter(|| {
            key = if key + 1 == KEYS { 0 } else { key + 1 };
            keyed.check(black_box(key))
        })
    });
    #[cfg(feature = "quanta")]
    {
        use governor::clock::QuantaClock;
        let clock = QuantaClock::default();
        g.bench_function("quanta_clock_now", |b| b.iter(|| clock.now()));
        let single = RateLimiter::builder(unlimited())
            .clock(clock.clone())
            .build();
        g.bench_function("single_quanta", |b| b.iter(|| single.check()));
        let keyed = KeyedRateLimiter::builder(unlimited())
            .max_keys(2 * KEYS as usize)
            .clock(clock)
            .build();
        g.bench_function("keyed_10k_quanta", |b| {
            let mut key = 0;
            b.iter(|| {
                key = if key + 1 == KEYS { 0 } else { key + 1 };
                keyed.check(black_box(key))
            })
        });
    }
    g.finish();

    let mut g = c.benchmark_group("admission_2threads");
    g.bench_function("bare_call", |b| {
        b.iter_custom(|n| {
            two_threads(n, |_, i| {
                let _ = black_box(bare_call(i));
            })
        })
    });
    g.bench_function("single", |b| {
        b.iter_custom(|n| {
            two_threads(n, |_, _| {
                let _ = black_box(single.check());
            })
        })
    });
    g.bench_function("keyed_10k", |b| {
        b.iter_custom(|n| {
            two_threads(n, |t, i| {
                let key = (i + t * KEYS / 2) % KEYS;
                let _ = black_box(keyed.check(black_box(key)));
            })
        })
    });
    g.finish();
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
}

/// Times `iters` whole calls (ready, call, await) inside one `block_on`.
fn calls<S>(rt: &tokio::runtime::Runtime, svc: &mut S, iters: u64) -> Duration
where
    S: Service<u64, Response = u64, Error = Error>,
{
    rt.block_on(async {
        let start = Instant::now();
        for i in 0..iters {
            black_box(
                svc.ready()
                    .await
                    .unwrap()
                    .call(black_box(i % KEYS))
                    .await
                    .unwrap(),
            );
        }
        start.elapsed()
    })
}

fn bench_layers(c: &mut Criterion) {
    let rt = runtime();
    let endpoint = || endpoint_fn(|x: u64| async move { Ok::<_, Error>(black_box(x)) });
    let mut bare = endpoint();
    let mut rate = ServiceBuilder::new()
        .layer(RateLimitLayer::per_quota(unlimited()))
        .service(endpoint());
    let mut keyed = ServiceBuilder::new()
        .layer(KeyedRateLimitLayer::new(|x: &u64| *x, keyed_limiter()))
        .service(endpoint());
    let mut concurrency = ServiceBuilder::new()
        .layer(ConcurrencyLimitLayer::with_max(1024))
        .service(endpoint());
    let mut adaptive = ServiceBuilder::new()
        .layer(AdaptiveLimitLayer::new(AdaptiveLimiter::new(Vegas::new())))
        .service(endpoint());

    let mut g = c.benchmark_group("call");
    g.bench_function("endpoint", |b| b.iter_custom(|n| calls(&rt, &mut bare, n)));
    g.bench_function("rate_limit", |b| {
        b.iter_custom(|n| calls(&rt, &mut rate, n))
    });
    g.bench_function("keyed_10k", |b| {
        b.iter_custom(|n| calls(&rt, &mut keyed, n))
    });
    g.bench_function("concurrency", |b| {
        b.iter_custom(|n| calls(&rt, &mut concurrency, n))
    });
    g.bench_function("adaptive", |b| {
        b.iter_custom(|n| calls(&rt, &mut adaptive, n))
    });
    g.finish();
}

fn main() {
    let mut c = criterion();
    bench_admission(&mut c);
    bench_layers(&mut c);
    c.final_summary();

    report(
        "admission check, one thread, vs a bare call",
        "admission/bare_call",
        &[
            "admission/tokio_clock_now",
            "admission/single",
            "admission/keyed_10k",
            "admission/quanta_clock_now",
            "admission/single_quanta",
            "admission/keyed_10k_quanta",
        ],
    );
    report(
        "admission check, two threads on one limiter, vs a bare call on two threads",
        "admission_2threads/bare_call",
        &["admission_2threads/single", "admission_2threads/keyed_10k"],
    );
    report(
        "a whole call through each layer vs the bare endpoint",
        "call/endpoint",
        &[
            "call/rate_limit",
            "call/keyed_10k",
            "call/concurrency",
            "call/adaptive",
        ],
    );
}
