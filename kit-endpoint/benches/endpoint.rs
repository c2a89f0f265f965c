//! The cost of kit's endpoint abstraction, beside a bare async fn.
//!
//! Run with `cargo bench -p kit-endpoint --bench endpoint`.

#![allow(missing_docs, clippy::unwrap_used, clippy::print_stdout)]

use std::hint::black_box;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use criterion::Criterion;
use kit_endpoint::{Endpoint, Error, endpoint_fn};
use kit_testkit::bench::{criterion, mean_ns, report};
use tower::{Layer, Service, ServiceBuilder, ServiceExt};

async fn double(x: u64) -> Result<u64, Error> {
    Ok(black_box(x).wrapping_mul(2))
}

/// A middleware that does nothing: the floor of what a layer costs.
#[derive(Clone)]
struct Noop<S>(S);

#[derive(Clone)]
struct NoopLayer;

impl<S> Layer<S> for NoopLayer {
    type Service = Noop<S>;
    fn layer(&self, inner: S) -> Noop<S> {
        Noop(inner)
    }
}

impl<S: Service<R>, R> Service<R> for Noop<S> {
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.0.poll_ready(cx)
    }
    fn call(&mut self, req: R) -> S::Future {
        self.0.call(req)
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

async fn call<S: Service<u64, Response = u64, Error = Error>>(svc: &mut S, x: u64) -> u64 {
    svc.ready().await.unwrap().call(x).await.unwrap()
}

/// Times `iters` calls of `svc` inside one `block_on`, so the runtime's cost
/// is paid once per sample rather than per call.
fn bench_service<S>(rt: &tokio::runtime::Runtime, svc: &mut S, iters: u64) -> Duration
where
    S: Service<u64, Response = u64, Error = Error>,
{
    rt.block_on(async {
        let start = Instant::now();
        for _ in 0..iters {
            black_box(call(svc, black_box(21)).await);
        }
        start.elapsed()
    })
}

fn bench_call(c: &mut Criterion) {
    let rt = runtime();
    let mut g = c.benchmark_group("endpoint");
    g.bench_function("bare_async_fn", |b| {
        b.iter_custom(|n| {
            rt.block_on(async {
                let start = Instant::now();
                for _ in 0..n {
                    black_box(double(black_box(21)).await.unwrap());
                }
                start.elapsed()
            })
        })
    });
    let mut unboxed = endpoint_fn(double);
    g.bench_function("endpoint_fn", |b| {
        b.iter_custom(|n| bench_service(&rt, &mut unboxed, n))
    });
    // Hand the boxed endpoint through black_box so the call stays dynamic.
    let mut boxed: Endpoint<u64, u64> = black_box(Endpoint::new(endpoint_fn(double)));
    g.bench_function("endpoint_boxed", |b| {
        b.iter_custom(|n| bench_service(&rt, &mut boxed, n))
    });
    g.finish();
}

fn bench_layers(c: &mut Criterion) {
    let rt = runtime();
    let mut g = c.benchmark_group("layers");
    let mut l0 = endpoint_fn(double);
    let mut l1 = ServiceBuilder::new()
        .layer(NoopLayer)
        .service(endpoint_fn(double));
    let mut l5 = ServiceBuilder::new()
        .layer(NoopLayer)
        .layer(NoopLayer)
        .layer(NoopLayer)
        .layer(NoopLayer)
        .layer(NoopLayer)
        .service(endpoint_fn(double));
    let mut l10 = ServiceBuilder::new()
        .layer(NoopLayer)
        .layer(NoopLayer)
        .layer(NoopLayer)
        .layer(NoopLayer)
        .layer(NoopLayer)
        .layer(NoopLayer)
        .layer(NoopLayer)
        .layer(NoopLayer)
        .layer(NoopLayer)
        .layer(NoopLayer)
        .service(endpoint_fn(double));
    g.bench_function("0", |b| b.iter_custom(|n| bench_service(&rt, &mut l0, n)));
    g.bench_function("1", |b| b.iter_custom(|n| bench_service(&rt, &mut l1, n)));
    g.bench_function("5", |b| b.iter_custom(|n| bench_service(&rt, &mut l5, n)));
    g.bench_function("10", |b| b.iter_custom(|n| bench_service(&rt, &mut l10, n)));
    g.finish();
}

/// Each layer boxed into an `Endpoint`, as when every middleware returns a
/// boxed endpoint the way Go kit's `func(Endpoint) Endpoint` does.
fn boxed_stack(n: usize) -> Endpoint<u64, u64> {
    let mut ep = Endpoint::new(endpoint_fn(double));
    for _ in 0..n {
        ep = Endpoint::new(NoopLayer.layer(ep));
    }
    black_box(ep)
}

fn bench_boxed_layers(c: &mut Criterion) {
    let rt = runtime();
    let mut g = c.benchmark_group("boxed_layers");
    for n in [0, 1, 5, 10] {
        let mut svc = boxed_stack(n);
        g.bench_function(n.to_string(), |b| {
            b.iter_custom(|iters| bench_service(&rt, &mut svc, iters))
        });
    }
    g.finish();
}

fn main() {
    let mut c = criterion();
    bench_call(&mut c);
    bench_layers(&mut c);
    bench_boxed_layers(&mut c);
    c.final_summary();

    report(
        "a call through Endpoint vs a bare async fn",
        "endpoint/bare_async_fn",
        &["endpoint/endpoint_fn", "endpoint/endpoint_boxed"],
    );
    report(
        "no-op layers (unboxed stack) vs no layer",
        "layers/0",
        &["layers/1", "layers/5", "layers/10"],
    );
    report(
        "no-op layers, each boxed into an Endpoint, vs one boxed endpoint",
        "boxed_layers/0",
        &["boxed_layers/1", "boxed_layers/5", "boxed_layers/10"],
    );
    for group in ["layers", "boxed_layers"] {
        let Some(base) = mean_ns(&format!("{group}/0")) else {
            continue;
        };
        for n in [1u32, 5, 10] {
            if let Some(t) = mean_ns(&format!("{group}/{n}")) {
                println!(
                    "{group}: added per no-op layer, {n} layers: {:.2} ns",
                    (t - base) / f64::from(n)
                );
            }
        }
    }
}
