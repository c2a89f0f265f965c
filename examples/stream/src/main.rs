//! `stream`: the event index service, roshi-server's drop-in on an
//! embedded durable store, serving HTTP (Roshi's API, REST) and gRPC.
//!
//! Run with `cargo run --release -p stream`, then:
//!
//! ```sh
//! curl -XPOST localhost:6302/ -d '[{"key":"Zm9v","score":1.5,"member":"YmFy"}]'
//! curl -XGET  localhost:6302/ -d '["Zm9v"]'
//! curl localhost:6302/v1/streams/foo
//! ```
//!
//! Flags follow roshi-server's where they overlap (`-http.address`,
//! `-max.size`, …); Go-style single-dash flags work, as do `--flags`.
//! `--help` lists them all.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};

/// mimalloc rather than glibc's malloc: allocation was a quarter of the
/// CPU this server spends per request (measured with callgrind on a select).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::num::{NonZeroU32, NonZeroU64};
use std::sync::Arc;

use bytes::Bytes;
use kit_circuitbreaker::{CircuitBreakerLayer, Config as BreakerConfig};
use kit_endpoint::{DeadlineLayer, Endpoint, Request};
use kit_log::LoggingLayer;
use kit_metrics::RequestMetrics;
use kit_metrics::hooks::{BreakerMetrics, LimiterMetrics};
use kit_ratelimit::adaptive::{AdaptiveLimitLayer, AdaptiveLimiter, Gradient2};
use kit_ratelimit::{Quota, RateLimitLayer, RateLimiter};
use kit_tracing::{Setup, Telemetry, TraceLayer, TracePropagator};
use kit_transport::grpc::GrpcServerOptions;
use kit_transport::health::Readiness;
use kit_transport::http::ServerOptions;
use kit_transport::serve::{RunningServer, Server};
use opentelemetry_sdk::trace::SdkTracer;
use prometheus_client::registry::Registry;
use stream::api;
use stream::api::feed::Changes;
use stream::endpoints::Endpoints;
use stream::flags::{go_flags, parse_go_duration};
use stream::service::StreamService;
use stream::store::{EmbeddedStore, MemoryStore, Options, SharedStore};
use stream::wire::Limits;
use tower::{Layer, ServiceBuilder, ServiceExt};

/// Where events are kept.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum StoreKind {
    /// The embedded durable store in `-data.dir` (default): every
    /// acknowledged write survives a crash.
    Embedded,
    /// In memory only: lost on exit.
    Memory,
    /// A farm of Redis clusters (`-redis.instances`, `-farm.*`), as
    /// roshi-server.
    #[cfg(feature = "redis")]
    Redis,
}

/// The stream event index: Roshi's API on an embedded durable store, plus
/// REST and gRPC.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Flags {
    /// HTTP listen address: Roshi's API, REST under /v1/streams, /healthz, /readyz.
    #[arg(long = "http.address", default_value = "127.0.0.1:6302")]
    http_address: String,
    /// gRPC listen address (kit.stream.v1.Stream, health, reflection); empty to disable.
    #[arg(long = "grpc.address", default_value = "127.0.0.1:6303")]
    grpc_address: String,
    /// Where events are kept.
    #[arg(long = "store", value_enum, default_value = "embedded")]
    store: StoreKind,
    /// The embedded store's directory.
    #[arg(long = "data.dir", default_value = "stream-data")]
    data_dir: PathBuf,
    /// The most entries kept per key; older ones are dropped, convergently.
    #[cfg(not(feature = "redis"))]
    #[arg(long = "max.size", default_value_t = 10_000)]
    max_size: usize,
    /// The Redis farm's flags (roshi-server's), and `-max.size`.
    #[cfg(feature = "redis")]
    #[command(flatten)]
    farm: stream::farm::FarmConfig,
    /// Register the HTTP address in etcd at these endpoints (comma-separated).
    #[cfg(feature = "etcd")]
    #[arg(long = "etcd.endpoints", value_delimiter = ',')]
    etcd_endpoints: Vec<String>,
    /// The address to register; the HTTP listen address when empty.
    #[cfg(feature = "etcd")]
    #[arg(long = "registry.address", default_value = "")]
    registry_address: String,
    /// The most events in one insert or delete.
    #[arg(long = "max.events", default_value_t = 10_000)]
    max_events: usize,
    /// The most keys in one select.
    #[arg(long = "max.keys", default_value_t = 1_000)]
    max_keys: usize,
    /// The largest request body, in bytes.
    #[arg(long = "max.body", default_value_t = 16 << 20)]
    max_body: usize,
    /// Every request gets at most this long (clients may ask for less).
    #[arg(long = "request.timeout", default_value = "10s", value_parser = parse_go_duration)]
    request_timeout: Duration,
    /// How long in-flight requests get to finish on shutdown.
    #[arg(long = "shutdown.drain", default_value = "10s", value_parser = parse_go_duration)]
    drain: Duration,
    /// Requests a second each endpoint admits (bursts of the same size); 0 for no limit.
    #[arg(long = "rate.limit", default_value_t = 0)]
    rate_limit: u32,
    /// Shed load with an adaptive concurrency limit (Gradient2) per endpoint.
    #[arg(long = "adaptive.limit", default_value_t = false)]
    adaptive_limit: bool,
    /// Log one successful call in this many; 0 logs errors only.
    #[arg(long = "log.successes.one-in", default_value_t = 0)]
    log_one_in: u64,
    /// Export traces over OTLP/gRPC to this collector (e.g. http://127.0.0.1:4317); off when empty.
    #[arg(long = "otlp.endpoint", default_value = "")]
    otlp_endpoint: String,
    /// The fraction of new traces kept (those with a sampled parent always are).
    #[arg(long = "otlp.sample.ratio", default_value_t = 1.0)]
    otlp_sample_ratio: f64,
}

impl Flags {
    fn max_size(&self) -> usize {
        #[cfg(feature = "redis")]
        return self.farm.max_size;
        #[cfg(not(feature = "redis"))]
        return self.max_size;
    }
}

/// The store the flags choose, and the farm when it is one (to let its
/// background writes and repairs settle before exit).
async fn open_store(flags: &Flags) -> Result<(SharedStore, Option<Settle>), String> {
    Ok(match flags.store {
        StoreKind::Memory => (
            SharedStore::new(MemoryStore::with_max_size(flags.max_size())),
            None,
        ),
        StoreKind::Embedded => {
            let options = Options {
                max_size: flags.max_size(),
                ..Options::default()
            };
            let store: EmbeddedStore = EmbeddedStore::open_with(&flags.data_dir, options)
                .map_err(|e| format!("opening the store in {}: {e}", flags.data_dir.display()))?;
            (SharedStore::new(store), None)
        }
        #[cfg(feature = "redis")]
        StoreKind::Redis => {
            let farm = flags
                .farm
                .connect()
                .await
                .map_err(|e| format!("the Redis farm: {e}"))?;
            (SharedStore::new(farm.clone()), Some(farm))
        }
    })
}

#[cfg(feature = "redis")]
type Settle = stream::farm::Farm;
#[cfg(not(feature = "redis"))]
type Settle = std::convert::Infallible;

/// Every endpoint's middleware, outermost first: RED metrics, a trace span
/// (with a collector), a log line (errors always, successes sampled), the
/// deadline, the optional rate and adaptive limits (rejections are
/// `ResourceExhausted` with a retry-after, before the breaker), and a
/// circuit breaker around the store.
struct Middleware {
    metrics: RequestMetrics,
    breakers: BreakerMetrics,
    limiters: LimiterMetrics,
    tracer: Option<SdkTracer>,
    timeout: Duration,
    rate: Option<NonZeroU32>,
    adaptive: bool,
    log_one_in: u64,
}

impl Middleware {
    fn wrap<Req: Send + 'static, Resp: Send + 'static>(
        &self,
        name: &'static str,
        ep: Endpoint<Request<Req>, Resp>,
    ) -> Endpoint<Request<Req>, Resp> {
        let trace = self
            .tracer
            .clone()
            .map(|t| TraceLayer::server(t, name).rpc("grpc", "kit.stream.v1.Stream", name));
        let logging = match NonZeroU64::new(self.log_one_in) {
            None => LoggingLayer::new(name).without_successes(),
            Some(n) => LoggingLayer::new(name).sample_successes(n),
        };
        let rate = self.rate.map(|n| {
            let limiter = RateLimiter::builder(Quota::per_second(n))
                .hooks(self.limiters.limiter(name))
                .build();
            RateLimitLayer::new(limiter)
        });
        let adaptive = self.adaptive.then(|| {
            let limiter = AdaptiveLimiter::builder(Gradient2::new())
                .hooks(self.limiters.limiter(name))
                .build();
            AdaptiveLimitLayer::new(limiter)
        });
        let breaker = BreakerConfig::default().hooks(self.breakers.breaker(name));
        Endpoint::new(
            ServiceBuilder::new()
                .layer(self.metrics.layer(name))
                .option_layer(trace)
                .layer(logging)
                .layer(DeadlineLayer::with_timeout(self.timeout))
                .option_layer(rate)
                .option_layer(adaptive)
                .layer(CircuitBreakerLayer::new(breaker))
                .service(ep),
        )
    }

    /// The live feed (gRPC `Subscribe`, the SSE route): metered and traced
    /// for each subscription's whole life, so `requests_in_flight` counts
    /// the open ones. No deadline, limits or breaker: a subscription is
    /// meant to outlive any deadline.
    fn feed(
        &self,
        feed: Endpoint<Request<Vec<Bytes>>, Changes>,
    ) -> Endpoint<Request<Vec<Bytes>>, Changes> {
        let metered = self.metrics.layer("Subscribe").streaming();
        let feed = match self.tracer.clone() {
            Some(tracer) => Endpoint::new(
                TraceLayer::server(tracer, "Subscribe")
                    .rpc("grpc", "kit.stream.v1.Stream", "Subscribe")
                    .streaming()
                    .layer(feed)
                    .map_response(|changes| Box::pin(changes) as Changes),
            ),
            None => feed,
        };
        Endpoint::new(
            metered
                .layer(feed)
                .map_response(|changes| Box::pin(changes) as Changes),
        )
    }

    fn endpoints(&self, e: Endpoints) -> Endpoints {
        Endpoints {
            insert: self.wrap("Insert", e.insert),
            delete: self.wrap("Delete", e.delete),
            select: self.wrap("Select", e.select),
        }
    }
}

async fn listen(
    name: &str,
    addr: &str,
    server: Server,
    app: axum::Router,
) -> Result<Option<RunningServer>, String> {
    if addr.is_empty() {
        return Ok(None);
    }
    let addr: SocketAddr = addr
        .parse()
        .map_err(|e| format!("{name} address {addr:?}: {e}"))?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("binding {name} to {addr}: {e}"))?;
    let bound = listener.local_addr().map_err(|e| e.to_string())?;
    tracing::info!(transport = name, addr = %bound, "listening");
    // A line for scripts and tests that start the binary on port 0.
    eprintln_listening(name, bound);
    Ok(Some(server.spawn(listener, app)))
}

#[allow(clippy::print_stderr)]
fn eprintln_listening(name: &str, addr: SocketAddr) {
    eprintln!("stream: {name} listening on {addr}");
}

/// Logs (`KIT_LOG`, `KIT_LOG_FORMAT`) and, with a collector, traces.
fn observability(flags: &Flags) -> Result<(Option<Telemetry>, kit_log::LogGuard), String> {
    let logs = kit_log::Builder::from_env().map_err(|e| e.to_string())?;
    if flags.otlp_endpoint.is_empty() {
        return Ok((None, logs.init().map_err(|e| e.to_string())?));
    }
    let (layer, guard) = logs.layer().map_err(|e| e.to_string())?;
    let telemetry = Setup::new("stream")
        .version(env!("CARGO_PKG_VERSION"))
        .endpoint(&flags.otlp_endpoint)
        .sample_ratio(flags.otlp_sample_ratio)
        .build()
        .and_then(|t| t.install_with(layer))
        .map_err(|e| e.to_string())?;
    Ok((Some(telemetry), guard))
}

async fn run(flags: Flags) -> Result<(), String> {
    let (telemetry, _log_guard) = observability(&flags)?;
    let limits = Limits {
        max_events: flags.max_events,
        max_keys: flags.max_keys,
        ..Limits::default()
    };
    let (store, farm) = open_store(&flags).await?;
    let svc = StreamService::with_limits(store, limits.clone());
    let feed = api::feed::endpoint(svc.clone());

    let mut registry = Registry::default();
    let middleware = Middleware {
        metrics: RequestMetrics::register(&mut registry),
        breakers: BreakerMetrics::register(&mut registry),
        limiters: LimiterMetrics::register(&mut registry),
        tracer: telemetry.as_ref().map(Telemetry::tracer),
        timeout: flags.request_timeout,
        rate: NonZeroU32::new(flags.rate_limit),
        adaptive: flags.adaptive_limit,
        log_one_in: flags.log_one_in,
    };
    let endpoints = middleware.endpoints(Endpoints::new(svc));
    let feed = middleware.feed(feed);
    // What the transports refuse before an endpoint (and its metrics) sees it.
    let rejected = kit_metrics::transport::RejectedRequests::register(&mut registry);

    let readiness = Readiness::new();
    let server = Server::new()
        .readiness(readiness.clone())
        .drain_timeout(flags.drain);
    // Trace context is read from requests only when traces are exported.
    let mut options = ServerOptions::new()
        .body_limit(flags.max_body)
        .finalizer(rejected.http());
    let mut grpc_options = GrpcServerOptions::new().finalizer(rejected.grpc());
    if telemetry.is_some() {
        options = options.propagator(TracePropagator::new());
        grpc_options = grpc_options.propagator(TracePropagator::new());
    }
    let http = api::http_app(&endpoints, feed.clone(), limits, options, readiness.clone())
        .route("/metrics", kit_metrics::axum::handler(Arc::new(registry)));
    let grpc =
        api::grpc_app(&endpoints, feed, grpc_options, readiness).map_err(|e| e.to_string())?;

    let mut running = Vec::new();
    running.extend(listen("http", &flags.http_address, server.clone(), http).await?);
    running.extend(listen("grpc", &flags.grpc_address, server, grpc).await?);

    #[cfg(feature = "etcd")]
    let registration = register(&flags).await?;

    shutdown_signal().await;
    tracing::info!("shutting down");
    #[cfg(feature = "etcd")]
    if let Some(registration) = registration {
        // Leave the registry first, so no new work is sent here.
        if let Err(e) = registration.deregister().await {
            tracing::warn!(error = %e, "deregistering from etcd");
        }
    }
    for r in &mut running {
        r.begin_shutdown();
    }
    for r in running {
        r.wait().await.map_err(|e| e.to_string())?;
    }
    #[cfg(feature = "redis")]
    if let Some(farm) = farm {
        farm.settled().await;
    }
    #[cfg(not(feature = "redis"))]
    let _ = farm;
    if let Some(telemetry) = telemetry {
        // Flushing blocks on the exporter, which needs the runtime.
        let flushed = tokio::task::spawn_blocking(move || telemetry.shutdown()).await;
        flushed
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Registers this instance in etcd when `-etcd.endpoints` is given.
#[cfg(feature = "etcd")]
async fn register(flags: &Flags) -> Result<Option<kit_sd::Registration>, String> {
    if flags.etcd_endpoints.is_empty() {
        return Ok(None);
    }
    let address = if flags.registry_address.is_empty() {
        flags.http_address.clone()
    } else {
        flags.registry_address.clone()
    };
    let config = stream::registry::RegistryConfig::new(flags.etcd_endpoints.clone(), address);
    let registration = stream::registry::register(&config)
        .await
        .map_err(|e| format!("registering in etcd: {e}"))?;
    Ok(Some(registration))
}

async fn shutdown_signal() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => return std::future::pending().await,
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

#[tokio::main]
#[allow(clippy::print_stderr)]
async fn main() -> std::process::ExitCode {
    let flags = Flags::parse_from(go_flags(std::env::args()));
    match run(flags).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("stream: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
