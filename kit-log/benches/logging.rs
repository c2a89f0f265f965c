//! The cost of the endpoint logging layer per call, beside a bare call.
//!
//! Every variant runs under kit-log's logfmt subscriber (timestamps and
//! caller on, filter `info`) writing to `io::sink()`, installed for the
//! bench thread:
//! - `sampled_out`: successes off (`without_successes`): no event at all.
//! - `sampled_1_in_1000`: one success in 1000 logged, the rest sampled out.
//! - `every_call_blocking`: every call logged, formatted and written to the
//!   sink on the calling thread (`non_blocking(false)`).
//! - `every_call_non_blocking`: every call logged through tracing-appender's
//!   non-blocking writer (a worker thread writes to the sink; lines are
//!   never dropped, so a slow worker slows the caller).
//! - `every_call_json_blocking`: as `every_call_blocking`, in JSON.
//!
//! Run with `cargo bench -p kit-log --bench logging`.

#![allow(missing_docs, clippy::unwrap_used, clippy::print_stdout)]

use std::hint::black_box;
use std::num::NonZeroU64;
use std::time::{Duration, Instant};

use criterion::Criterion;
use kit_endpoint::{Error, endpoint_fn};
use kit_log::{Builder, Format, LoggingLayer};
use kit_testkit::bench::{criterion, report};
use tower::{Layer, Service, ServiceExt};

async fn double(x: u64) -> Result<u64, Error> {
    Ok(black_box(x).wrapping_mul(2))
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

/// Runs `f` with kit-log's subscriber, built by `builder`, as this thread's default.
fn with_subscriber(builder: Builder, f: impl FnOnce()) {
    let (subscriber, guard) = builder.writer(std::io::sink()).subscriber().unwrap();
    tracing::subscriber::with_default(subscriber, f);
    drop(guard);
}

fn bench_logging(c: &mut Criterion) {
    let rt = runtime();
    let mut g = c.benchmark_group("logging");
    let sampled = |layer: LoggingLayer| layer.layer(endpoint_fn(double));
    with_subscriber(Builder::new().non_blocking(false), || {
        let mut bare = endpoint_fn(double);
        g.bench_function("bare", |b| {
            b.iter_custom(|n| bench_service(&rt, &mut bare, n))
        });
        let mut off = sampled(LoggingLayer::new("sum").without_successes());
        g.bench_function("sampled_out", |b| {
            b.iter_custom(|n| bench_service(&rt, &mut off, n))
        });
        let one_in = NonZeroU64::new(1000).unwrap();
        let mut rare = sampled(LoggingLayer::new("sum").sample_successes(one_in));
        g.bench_function("sampled_1_in_1000", |b| {
            b.iter_custom(|n| bench_service(&rt, &mut rare, n))
        });
        let mut all = sampled(LoggingLayer::new("sum"));
        g.bench_function("every_call_blocking", |b| {
            b.iter_custom(|n| bench_service(&rt, &mut all, n))
        });
    });
    with_subscriber(Builder::new(), || {
        let mut all = sampled(LoggingLayer::new("sum"));
        g.bench_function("every_call_non_blocking", |b| {
            b.iter_custom(|n| bench_service(&rt, &mut all, n))
        });
    });
    with_subscriber(
        Builder::new().format(Format::Json).non_blocking(false),
        || {
            let mut all = sampled(LoggingLayer::new("sum"));
            g.bench_function("every_call_json_blocking", |b| {
                b.iter_custom(|n| bench_service(&rt, &mut all, n))
            });
        },
    );
    g.finish();
}

fn main() {
    let mut c = criterion();
    bench_logging(&mut c);
    c.final_summary();
    report(
        "endpoint logging layer vs a bare call (logfmt to io::sink)",
        "logging/bare",
        &[
            "logging/sampled_out",
            "logging/sampled_1_in_1000",
            "logging/every_call_blocking",
            "logging/every_call_non_blocking",
            "logging/every_call_json_blocking",
        ],
    );
}
