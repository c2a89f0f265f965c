//! The per-call cost of `TraceLayer`, beside a bare endpoint call: with the
//! sampler off (a parent-based ratio of 0, as `Setup::sample_ratio(0.0)`
//! builds) and at 100% (every span recorded and handed to the batch
//! processor, whose exporter does nothing, so export cost is not measured).
//!
//! Run with `cargo bench -p kit-tracing --bench tracing`.

#![allow(missing_docs, clippy::unwrap_used, clippy::print_stdout)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::Criterion;
use http::HeaderMap;
use kit_endpoint::{Context, Error, Request, endpoint_fn};
use kit_testkit::bench::{criterion, report};
use kit_tracing::{ContextExt, Setup, Telemetry, TraceLayer, TracePropagator};
use opentelemetry::trace::{
    SpanContext, SpanId, TraceContextExt as _, TraceFlags, TraceId, TraceState,
};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use tower::{Layer, Service, ServiceExt};

/// Drops every batch: the cost of recording without the cost of export.
#[derive(Debug)]
struct Discard;

impl SpanExporter for Discard {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        black_box(batch);
        Ok(())
    }
}

fn telemetry(ratio: f64) -> Telemetry {
    Setup::new("bench")
        .sample_ratio(ratio)
        .build_with_exporter(Discard)
        .unwrap()
}

async fn double(req: Request<u64>) -> Result<u64, Error> {
    Ok(black_box(req.body).wrapping_mul(2))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

/// Times `iters` calls inside one `block_on`, each with a fresh request
/// (and so a fresh context), as a transport makes them.
fn bench_service<S>(rt: &tokio::runtime::Runtime, svc: &mut S, iters: u64) -> Duration
where
    S: Service<Request<u64>, Response = u64, Error = Error>,
{
    rt.block_on(async {
        let start = Instant::now();
        for _ in 0..iters {
            let v = svc
                .ready()
                .await
                .unwrap()
                .call(Request::new(black_box(21)))
                .await
                .unwrap();
            black_box(v);
        }
        start.elapsed()
    })
}

fn bench_layer(c: &mut Criterion) {
    let rt = runtime();
    let off = telemetry(0.0);
    let on = telemetry(1.0);
    let mut g = c.benchmark_group("trace_layer");

    let mut bare = endpoint_fn(double);
    g.bench_function("bare", |b| {
        b.iter_custom(|n| bench_service(&rt, &mut bare, n))
    });

    let mut sampled_off = TraceLayer::server(off.tracer(), "bench/Call")
        .grpc("bench", "Call")
        .layer(endpoint_fn(double));
    g.bench_function("sampler_off", |b| {
        b.iter_custom(|n| bench_service(&rt, &mut sampled_off, n))
    });

    let mut sampled_all = TraceLayer::server(on.tracer(), "bench/Call")
        .grpc("bench", "Call")
        .layer(endpoint_fn(double));
    g.bench_function("sampler_100", |b| {
        b.iter_custom(|n| bench_service(&rt, &mut sampled_all, n))
    });
    g.finish();
    drop((off, on));
}

/// One hop's worth of propagation: inject on the client, extract on the server.
fn bench_propagation(c: &mut Criterion) {
    let propagator = TracePropagator::new();
    let mut ctx = Context::new();
    ctx.set_otel_context(
        opentelemetry::Context::new().with_remote_span_context(SpanContext::new(
            TraceId::from(0x4bf92f3577b34da6a3ce929d0e0e4736),
            SpanId::from(0x00f067aa0ba902b7),
            TraceFlags::SAMPLED,
            false,
            TraceState::default(),
        )),
    );
    let mut g = c.benchmark_group("propagation");
    g.bench_function("inject_extract", |b| {
        b.iter(|| {
            let mut headers = HeaderMap::new();
            propagator.inject(black_box(&ctx), &mut headers);
            let mut server = Context::new();
            propagator.extract(&headers, &mut server);
            black_box(server)
        })
    });
    g.finish();
}

fn main() {
    let mut c = criterion();
    bench_layer(&mut c);
    bench_propagation(&mut c);
    c.final_summary();

    report(
        "TraceLayer per call vs a bare endpoint call",
        "trace_layer/bare",
        &["trace_layer/sampler_off", "trace_layer/sampler_100"],
    );
}
