//! The measurement behind kit-metrics' choice of backend: the `metrics`
//! facade with metrics-exporter-prometheus against prometheus-client, each
//! recording one labelled counter increment and one labelled histogram
//! observation per call.
//!
//! Each backend is measured two ways: looking the labelled series up on every
//! call (what the `metrics::counter!` macros and `Family::get_or_create` do),
//! and through handles resolved once beforehand (what kit's Layer does).
//!
//! The `_2_threads` variants time one thread while a second records into
//! the same series at once.
//!
//! Run with `cargo bench -p kit-metrics --bench backend`.

#![allow(missing_docs, clippy::unwrap_used, clippy::print_stdout)]

use std::hint::black_box;
use std::time::Instant;

use criterion::Criterion;
use kit_testkit::bench::{criterion, report};
use metrics::{Key, Label, Recorder};
use metrics_exporter_prometheus::PrometheusBuilder;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

type Labels = [(&'static str, &'static str); 2];
type EndpointLabel = [(&'static str, &'static str); 1];

/// Times `n` iterations of `f`.
fn run(n: u64, mut f: impl FnMut(u64)) -> std::time::Duration {
    let start = Instant::now();
    for i in 0..n {
        f(black_box(i));
    }
    start.elapsed()
}

/// Times `n` iterations of `f` on this thread while a second thread runs
/// `n` iterations of it too: the cost with another core on the same series.
fn run_contended(n: u64, f: impl Fn(u64) + Sync) -> std::time::Duration {
    std::thread::scope(|s| {
        s.spawn(|| run(n, &f));
        run(n, &f)
    })
}

fn seconds(i: u64) -> f64 {
    // 0.1 ms .. 12.8 ms, so observations land in several buckets.
    ((i & 127) + 1) as f64 * 0.0001
}

fn bench_metrics_facade(c: &mut Criterion) {
    let recorder = PrometheusBuilder::new()
        .set_buckets(&BUCKETS)
        .unwrap()
        .build_recorder();
    let handle = recorder.handle();
    let mut g = c.benchmark_group("backend");
    g.bench_function("bare", |b| {
        b.iter_custom(|n| {
            run(n, |i| {
                black_box(seconds(i));
            })
        })
    });
    g.bench_function("metrics_lookup", |b| {
        b.iter_custom(|n| {
            metrics::with_local_recorder(&recorder, || {
                run(n, |i| {
                    metrics::counter!("requests_total", "endpoint" => "sum", "code" => "ok")
                        .increment(1);
                    metrics::histogram!("request_duration_seconds", "endpoint" => "sum")
                        .record(seconds(i));
                })
            })
        })
    });
    static META: metrics::Metadata<'static> =
        metrics::Metadata::new("bench", metrics::Level::INFO, None);
    let counter = recorder.register_counter(
        &Key::from_parts(
            "requests_total",
            vec![Label::new("endpoint", "sum"), Label::new("code", "ok")],
        ),
        &META,
    );
    let histogram = recorder.register_histogram(
        &Key::from_parts(
            "request_duration_seconds",
            vec![Label::new("endpoint", "sum")],
        ),
        &META,
    );
    g.bench_function("metrics_handles", |b| {
        b.iter_custom(|n| {
            let t = run(n, |i| {
                counter.increment(1);
                histogram.record(seconds(i));
            });
            // Drain the queued histogram samples outside the timed loop, as
            // the exporter's upkeep does, so memory stays flat.
            handle.run_upkeep();
            t
        })
    });
    g.bench_function("metrics_handles_2_threads", |b| {
        b.iter_custom(|n| {
            let t = run_contended(n, |i| {
                counter.increment(1);
                histogram.record(seconds(i));
            });
            handle.run_upkeep();
            t
        })
    });
    g.finish();
}

fn bench_prometheus_client(c: &mut Criterion) {
    let mut registry = Registry::default();
    let requests = Family::<Labels, Counter>::default();
    let durations = Family::<EndpointLabel, Histogram>::new_with_constructor(|| {
        Histogram::new(BUCKETS.iter().copied())
    });
    registry.register("requests", "Requests", requests.clone());
    registry.register("request_duration_seconds", "Latency", durations.clone());
    let labels: Labels = [("endpoint", "sum"), ("code", "ok")];
    let endpoint: EndpointLabel = [("endpoint", "sum")];
    let mut g = c.benchmark_group("backend");
    g.bench_function("prometheus_client_lookup", |b| {
        b.iter_custom(|n| {
            run(n, |i| {
                requests.get_or_create(black_box(&labels)).inc();
                durations
                    .get_or_create(black_box(&endpoint))
                    .observe(seconds(i));
            })
        })
    });
    let counter = requests.get_or_create_owned(&labels);
    let histogram = durations.get_or_create_owned(&endpoint);
    g.bench_function("prometheus_client_handles", |b| {
        b.iter_custom(|n| {
            run(n, |i| {
                counter.inc();
                histogram.observe(seconds(i));
            })
        })
    });
    g.bench_function("prometheus_client_handles_2_threads", |b| {
        b.iter_custom(|n| {
            run_contended(n, |i| {
                counter.inc();
                histogram.observe(seconds(i));
            })
        })
    });
    g.finish();
    let mut out = String::new();
    prometheus_client::encoding::text::encode(&mut out, &registry).unwrap();
    assert!(out.contains("requests_total"));
}

fn main() {
    let mut c = criterion();
    bench_metrics_facade(&mut c);
    bench_prometheus_client(&mut c);
    c.final_summary();
    report(
        "a labelled counter + histogram per call, against the loop alone",
        "backend/bare",
        &[
            "backend/metrics_lookup",
            "backend/metrics_handles",
            "backend/prometheus_client_lookup",
            "backend/prometheus_client_handles",
            "backend/metrics_handles_2_threads",
            "backend/prometheus_client_handles_2_threads",
        ],
    );
}
