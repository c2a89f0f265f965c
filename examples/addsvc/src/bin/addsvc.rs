//! addsvc: Go kit's addsvc server, rebuilt with kit.
//!
//! Run with `cargo run --release -p addsvc --bin addsvc`, then
//! `curl -XPOST localhost:8081/sum -d '{"a":1,"b":2}'`.
//!
//! Flags are Go kit's (`-http-addr`, `-grpc-addr`, `-jsonrpc-addr`,
//! `-debug.addr`), but every listener binds 127.0.0.1 by default; an empty
//! address turns a listener off. Go kit's Thrift transport is not offered.
//! As in Go kit, Sum is rate limited to 1/s and Concat to 1/s with bursts
//! of 100 (`-sum.rate`, `-concat.burst`, … raise them); `/metrics` is on the
//! debug address; logs go to stderr as logfmt (`KIT_LOG`, `KIT_LOG_FORMAT`);
//! traces go to an OTLP collector with `-otlp.endpoint`.

use std::net::SocketAddr;
use std::time::Duration;

use std::num::NonZeroU32;
use std::sync::Arc;

use addsvc::flags::go_style;
use addsvc::middleware::{Middleware, Rate};
use addsvc::service::BasicService;
use addsvc::transport::{grpc, http, jsonrpc};
use clap::Parser;

/// mimalloc rather than glibc's malloc, as the stream binary: allocation is
/// a large share of a small request's CPU.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use kit_tracing::{Setup, TracePropagator};
use kit_transport::grpc::GrpcServerOptions;
use kit_transport::grpc::MessageLimitLayer;
use kit_transport::health::{self, Readiness};
use kit_transport::http::ServerOptions;
use kit_transport::serve::{RunningServer, Server};

/// Go kit's addsvc, rebuilt with kit.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Flags {
    /// Debug and metrics listen address (`/metrics`, `/healthz`, `/readyz`).
    #[arg(long = "debug.addr", default_value = "127.0.0.1:8080")]
    debug_addr: String,
    /// HTTP listen address.
    #[arg(long = "http-addr", default_value = "127.0.0.1:8081")]
    http_addr: String,
    /// gRPC listen address.
    #[arg(long = "grpc-addr", default_value = "127.0.0.1:8082")]
    grpc_addr: String,
    /// JSON-RPC over HTTP listen address.
    #[arg(long = "jsonrpc-addr", default_value = "127.0.0.1:8084")]
    jsonrpc_addr: String,
    /// How long in-flight requests get to finish on shutdown.
    #[arg(long = "shutdown.drain", default_value = "10s", value_parser = parse_duration)]
    drain: Duration,
    /// Sum's rate limit, requests a second (Go kit: 1).
    #[arg(long = "sum.rate", default_value_t = 1)]
    sum_rate: u32,
    /// Sum's burst (Go kit: 1).
    #[arg(long = "sum.burst", default_value_t = 1)]
    sum_burst: u32,
    /// Concat's rate limit, requests a second (Go kit: 1).
    #[arg(long = "concat.rate", default_value_t = 1)]
    concat_rate: u32,
    /// Concat's burst (Go kit: 100).
    #[arg(long = "concat.burst", default_value_t = 100)]
    concat_burst: u32,
    /// Log one successful call in this many (errors are always logged).
    #[arg(long = "log.successes.one-in", default_value_t = 1)]
    log_one_in: u32,
    /// Export traces over OTLP/gRPC to this collector (e.g. http://127.0.0.1:4317); off when empty.
    #[arg(long = "otlp.endpoint", default_value = "")]
    otlp_endpoint: String,
    /// The fraction of new traces kept (those with a sampled parent always are).
    #[arg(long = "otlp.sample.ratio", default_value_t = 1.0)]
    otlp_sample_ratio: f64,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let (n, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = n.parse().map_err(|_| format!("invalid duration {s:?}"))?;
    match unit {
        "ms" => Ok(Duration::from_millis(n)),
        "s" | "" => Ok(Duration::from_secs(n)),
        "m" => Ok(Duration::from_secs(n * 60)),
        _ => Err(format!("invalid duration unit in {s:?} (use ms, s or m)")),
    }
}

async fn listen(
    name: &str,
    addr: &str,
    server: Server,
    app: axum::Router,
) -> std::io::Result<Option<RunningServer>> {
    if addr.is_empty() {
        return Ok(None);
    }
    let addr: SocketAddr = addr.parse().map_err(|e| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("{name} address {addr:?}: {e}"),
        )
    })?;
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!(transport = name, addr = %listener.local_addr()?, "listening");
    Ok(Some(server.spawn(listener, app)))
}

fn other(e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let flags = Flags::parse_from(go_style(std::env::args()));

    // Logs (KIT_LOG, KIT_LOG_FORMAT), and traces when a collector is given.
    let logs = kit_log::Builder::from_env().map_err(other)?;
    let (telemetry, _log_guard) = if flags.otlp_endpoint.is_empty() {
        (None, logs.init().map_err(other)?)
    } else {
        let (layer, guard) = logs.layer().map_err(other)?;
        let setup = Setup::new("addsvc")
            .version(env!("CARGO_PKG_VERSION"))
            .endpoint(&flags.otlp_endpoint)
            .sample_ratio(flags.otlp_sample_ratio);
        let telemetry = setup
            .build()
            .map_err(other)?
            .install_with(layer)
            .map_err(other)?;
        (Some(telemetry), guard)
    };

    // Every middleware, per endpoint (see addsvc::middleware for the order).
    let mut registry = prometheus_client::registry::Registry::default();
    let mut middleware = Middleware::new(&mut registry, telemetry.as_ref().map(|t| t.tracer()));
    middleware.sum_rate = Rate::new(flags.sum_rate, flags.sum_burst);
    middleware.concat_rate = Rate::new(flags.concat_rate, flags.concat_burst);
    middleware.log_one_in = NonZeroU32::new(flags.log_one_in).unwrap_or(NonZeroU32::MIN);
    let set = middleware.set(BasicService);
    // What the transports refuse before an endpoint (and its metrics) sees it.
    let rejected = kit_metrics::transport::RejectedRequests::register(&mut registry);

    let readiness = Readiness::new();
    let server = Server::new()
        .readiness(readiness.clone())
        .drain_timeout(flags.drain);
    let debug = health::http_routes(readiness.clone())
        .route("/metrics", kit_metrics::axum::handler(Arc::new(registry)));
    // Trace context is read from requests only when traces are exported.
    let mut http_options = ServerOptions::new().finalizer(rejected.http());
    let mut grpc_options = GrpcServerOptions::new().finalizer(rejected.grpc());
    if telemetry.is_some() {
        http_options = http_options.propagator(TracePropagator::new());
        grpc_options = grpc_options.propagator(TracePropagator::new());
    }
    let grpc_routes =
        tonic::service::Routes::new(grpc::AddServer::new(&set, grpc_options).into_service())
            .add_service(health::grpc_service(readiness.clone(), &["pb.Add"]))
            .add_service(
                kit_transport::grpc::reflection(addsvc::pb::FILE_DESCRIPTOR_SET).map_err(other)?,
            )
            .into_axum_router()
            .layer(MessageLimitLayer);

    let mut running = Vec::new();
    running.extend(listen("debug", &flags.debug_addr, server.clone(), debug).await?);
    let http_app = http::router(&set, http_options.clone());
    running.extend(listen("http", &flags.http_addr, server.clone(), http_app).await?);
    running.extend(listen("grpc", &flags.grpc_addr, server.clone(), grpc_routes).await?);
    let jsonrpc_app = jsonrpc::router(&set, http_options);
    running.extend(listen("jsonrpc", &flags.jsonrpc_addr, server, jsonrpc_app).await?);

    shutdown_signal().await;
    tracing::info!("shutting down");
    for server in &mut running {
        server.begin_shutdown();
    }
    for server in running {
        server.wait().await?;
    }
    if let Some(telemetry) = telemetry {
        // Flushing blocks on the exporter, which needs the runtime.
        tokio::task::spawn_blocking(move || telemetry.shutdown())
            .await
            .map_err(other)?
            .map_err(other)?;
    }
    Ok(())
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => return std::future::pending().await,
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}
