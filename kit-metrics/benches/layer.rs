//! The cost of the metrics layer per call, beside a bare call: one
//! in-flight increment and decrement, two quanta clock reads, one histogram
//! observation and one counter increment, all on handles resolved when the
//! layer was built.
//!
//! Run with `cargo bench -p kit-metrics --bench layer`.

#![allow(missing_docs, clippy::unwrap_used, clippy::print_stdout)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use kit_endpoint::{Error, endpoint_fn};
use kit_metrics::RequestMetrics;
use kit_testkit::bench::{criterion, report};
use prometheus_client::registry::Registry;
use tower::{Layer, Service, ServiceExt};

async fn double(x: u64) -> Result<u64, Error> {
    Ok(black_box(x).wrapping_mul(2))
}

async fn fail(_: u64) -> Result<u64, Error> {
    Err(Error::invalid_argument("no"))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

/// Times `iters` calls of `svc` inside one `block_on`.
fn bench_service<S>(rt: &tokio::runtime::Runtime, svc: &mut S, iters: u64) -> Duration
where
    S: Service<u64, Response = u64, Error = Error>,
{
    rt.block_on(async {
        let start = Instant::now();
        for _ in 0..iters {
            let v = svc.ready().await.unwrap().call(black_box(21)).await;
            let _ = black_box(v);
        }
        start.elapsed()
    })
}

fn main() {
    let mut c = criterion();
    let rt = runtime();
    let mut registry = Registry::default();
    let metrics = RequestMetrics::register(&mut registry);
    let mut g = c.benchmark_group("metrics");
    let mut bare = endpoint_fn(double);
    g.bench_function("bare", |b| {
        b.iter_custom(|n| bench_service(&rt, &mut bare, n))
    });
    let mut ok = metrics.layer("sum").layer(endpoint_fn(double));
    g.bench_function("layer_ok", |b| {
        b.iter_custom(|n| bench_service(&rt, &mut ok, n))
    });
    let mut bare_err = endpoint_fn(fail);
    g.bench_function("bare_error", |b| {
        b.iter_custom(|n| bench_service(&rt, &mut bare_err, n))
    });
    let mut err = metrics.layer("sum").layer(endpoint_fn(fail));
    g.bench_function("layer_error", |b| {
        b.iter_custom(|n| bench_service(&rt, &mut err, n))
    });
    g.finish();
    // What the two clock reads per call cost. The bench build has tokio's
    // `test-util` feature on (the tests pause time), which makes every
    // `tokio::time::Instant::now()` check for a paused clock; builds without
    // it read the system clock directly, like `std::time::Instant::now()`.
    // kit-log and kit-metrics time calls with quanta (a calibrated TSC),
    // because these reads are most of what their layers cost.
    let mut g = c.benchmark_group("clock");
    g.bench_function("std_instant_now", |b| b.iter(|| black_box(Instant::now())));
    g.bench_function("tokio_instant_now", |b| {
        rt.block_on(async { b.iter(|| black_box(tokio::time::Instant::now())) })
    });
    let clock = quanta::Clock::new();
    g.bench_function("quanta_now", |b| b.iter(|| black_box(clock.now())));
    g.finish();
    c.final_summary();
    assert!(
        kit_metrics::encode(&registry)
            .unwrap()
            .contains("requests_total")
    );
    report(
        "metrics layer vs a bare call (successes)",
        "metrics/bare",
        &["metrics/layer_ok"],
    );
    report(
        "metrics layer vs a bare call (errors)",
        "metrics/bare_error",
        &["metrics/layer_error"],
    );
    report(
        "one clock read: tokio's (test-util on, as in this build) and quanta's vs std's",
        "clock/std_instant_now",
        &["clock/tokio_instant_now", "clock/quanta_now"],
    );
}
