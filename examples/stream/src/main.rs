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
use kit_endpoint::{DeadlineLayer, Endpoint};
use kit_transport::health::Readiness;
use kit_transport::http::ServerOptions;
use kit_transport::serve::{RunningServer, Server};
use stream::api;
use stream::endpoints::Endpoints;
use stream::service::StreamService;
use stream::store::{EmbeddedStore, MemoryStore, Options, SharedStore};
use stream::wire::Limits;
use tower::ServiceBuilder;

/// Where events are kept.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum StoreKind {
    /// The embedded durable store in `-data.dir` (default): every
    /// acknowledged write survives a crash.
    Embedded,
    /// In memory only: lost on exit.
    Memory,
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
    #[arg(long = "max.size", default_value_t = 10_000)]
    max_size: usize,
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
    #[arg(long = "request.timeout", default_value = "10s", value_parser = parse_duration)]
    request_timeout: Duration,
    /// How long in-flight requests get to finish on shutdown.
    #[arg(long = "shutdown.drain", default_value = "10s", value_parser = parse_duration)]
    drain: Duration,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (n, unit) = s.split_at(split);
    let n: u64 = n.parse().map_err(|_| format!("invalid duration {s:?}"))?;
    match unit {
        "ms" => Ok(Duration::from_millis(n)),
        "s" | "" => Ok(Duration::from_secs(n)),
        "m" => Ok(Duration::from_secs(n * 60)),
        _ => Err(format!("invalid duration unit in {s:?} (use ms, s or m)")),
    }
}

/// Go's flag package takes `-name`; clap takes `--name`. Rewrites the first
/// into the second so roshi-server's command lines work unchanged.
fn go_style(args: impl IntoIterator<Item = String>) -> Vec<String> {
    args.into_iter()
        .enumerate()
        .map(|(i, a)| {
            let long = i > 0 && a.len() > 2 && a.starts_with('-') && !a.starts_with("--");
            if long && !a[1..].starts_with(|c: char| c.is_ascii_digit()) {
                format!("-{a}")
            } else {
                a
            }
        })
        .collect()
}

fn open_store(flags: &Flags) -> Result<SharedStore, String> {
    Ok(match flags.store {
        StoreKind::Memory => SharedStore::new(MemoryStore::with_max_size(flags.max_size)),
        StoreKind::Embedded => {
            let options = Options {
                max_size: flags.max_size,
                ..Options::default()
            };
            let store: EmbeddedStore = EmbeddedStore::open_with(&flags.data_dir, options)
                .map_err(|e| format!("opening the store in {}: {e}", flags.data_dir.display()))?;
            SharedStore::new(store)
        }
    })
}

/// Every endpoint gets the same middleware, outermost first: a deadline.
fn with_middleware(endpoints: Endpoints, timeout: Duration) -> Endpoints {
    let deadline = DeadlineLayer::with_timeout(timeout);
    Endpoints {
        insert: Endpoint::new(
            ServiceBuilder::new()
                .layer(deadline)
                .service(endpoints.insert),
        ),
        delete: Endpoint::new(
            ServiceBuilder::new()
                .layer(deadline)
                .service(endpoints.delete),
        ),
        select: Endpoint::new(
            ServiceBuilder::new()
                .layer(deadline)
                .service(endpoints.select),
        ),
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

async fn run(flags: Flags) -> Result<(), String> {
    let limits = Limits {
        max_events: flags.max_events,
        max_keys: flags.max_keys,
        ..Limits::default()
    };
    let store = open_store(&flags)?;
    let svc = StreamService::with_limits(store, limits.clone());
    let feed = api::feed::endpoint(svc.clone());
    let endpoints = with_middleware(Endpoints::new(svc), flags.request_timeout);

    let readiness = Readiness::new();
    let server = Server::new()
        .readiness(readiness.clone())
        .drain_timeout(flags.drain);
    let options = ServerOptions::new().body_limit(flags.max_body);
    let http = api::http_app(&endpoints, feed.clone(), limits, options, readiness.clone());
    let grpc = api::grpc_app(&endpoints, feed, Default::default(), readiness)
        .map_err(|e| e.to_string())?;

    let mut running = Vec::new();
    running.extend(listen("http", &flags.http_address, server.clone(), http).await?);
    running.extend(listen("grpc", &flags.grpc_address, server, grpc).await?);

    shutdown_signal().await;
    tracing::info!("shutting down");
    for r in &mut running {
        r.begin_shutdown();
    }
    for r in running {
        r.wait().await.map_err(|e| e.to_string())?;
    }
    Ok(())
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
    let flags = Flags::parse_from(go_style(std::env::args()));
    match run(flags).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("stream: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
