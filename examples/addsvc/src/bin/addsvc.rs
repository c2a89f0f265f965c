//! addsvc: Go kit's addsvc server, rebuilt with kit.
//!
//! Run with `cargo run --release -p addsvc --bin addsvc`, then
//! `curl -XPOST localhost:8081/sum -d '{"a":1,"b":2}'`.
//!
//! Flags are Go kit's (`-http-addr`, `-grpc-addr`, `-jsonrpc-addr`,
//! `-debug.addr`), but every listener binds 127.0.0.1 by default; an empty
//! address turns a listener off. Go kit's Thrift transport is not offered.

use std::net::SocketAddr;
use std::time::Duration;

use addsvc::endpoints::Set;
use addsvc::flags::go_style;
use addsvc::service::BasicService;
use addsvc::transport::{grpc, http, jsonrpc};
use clap::Parser;
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

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let flags = Flags::parse_from(go_style(std::env::args()));
    let readiness = Readiness::new();
    let server = Server::new()
        .readiness(readiness.clone())
        .drain_timeout(flags.drain);

    let set = Set::new(BasicService);
    let grpc_routes =
        tonic::service::Routes::new(grpc::AddServer::new(&set, Default::default()).into_service())
            .add_service(health::grpc_service(readiness.clone(), &["pb.Add"]))
            .add_service(
                kit_transport::grpc::reflection(addsvc::pb::FILE_DESCRIPTOR_SET)
                    .map_err(|e| std::io::Error::other(e.to_string()))?,
            )
            .into_axum_router()
            .layer(MessageLimitLayer);

    let mut running = Vec::new();
    running.extend(
        listen(
            "debug",
            &flags.debug_addr,
            server.clone(),
            health::http_routes(readiness.clone()),
        )
        .await?,
    );
    running.extend(
        listen(
            "http",
            &flags.http_addr,
            server.clone(),
            http::router(&set, ServerOptions::new()),
        )
        .await?,
    );
    running.extend(listen("grpc", &flags.grpc_addr, server.clone(), grpc_routes).await?);
    running.extend(
        listen(
            "jsonrpc",
            &flags.jsonrpc_addr,
            server,
            jsonrpc::router(&set, ServerOptions::new()),
        )
        .await?,
    );

    shutdown_signal().await;
    tracing::info!("shutting down");
    for server in &mut running {
        server.begin_shutdown();
    }
    for server in running {
        server.wait().await?;
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
