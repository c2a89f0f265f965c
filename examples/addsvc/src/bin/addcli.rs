//! addcli: a client for addsvc (kit's or Go kit's) over HTTP, gRPC or
//! JSON-RPC, like Go kit's `addcli`.
//!
//! Run with `cargo run -p addsvc --bin addcli -- -http-addr 127.0.0.1:8081 -method sum 1 2`.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::process::ExitCode;
use std::time::Duration;

use addsvc::endpoints::Set;
use addsvc::flags::go_style;
use addsvc::middleware::{Middleware, Rate};
use addsvc::service::Service;
use addsvc::transport::{grpc, http, jsonrpc};
use clap::Parser;

/// Calls addsvc's Sum or Concat over one transport.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Flags {
    /// HTTP address of addsvc (host:port).
    #[arg(long = "http-addr", default_value = "")]
    http_addr: String,
    /// gRPC address of addsvc (host:port).
    #[arg(long = "grpc-addr", default_value = "")]
    grpc_addr: String,
    /// JSON-RPC address of addsvc (host:port).
    #[arg(long = "jsonrpc-addr", default_value = "")]
    jsonrpc_addr: String,
    /// sum or concat.
    #[arg(long, default_value = "sum")]
    method: String,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 5)]
    timeout: u64,
    /// The two operands.
    #[arg(num_args = 2, allow_hyphen_values = true)]
    args: Vec<String>,
}

/// The transport's client endpoints, wrapped in the same middleware as the
/// server's: a limiter (100/s, as Go kit's clients), a breaker, logs.
fn with_middleware(set: Set) -> Set {
    let mut registry = prometheus_client::registry::Registry::default();
    let mut middleware = Middleware::new(&mut registry, None);
    middleware.sum_rate = Rate::new(100, 100);
    middleware.concat_rate = Rate::new(100, 100);
    middleware.wrap_set(set)
}

fn client(flags: &Flags) -> Result<Set, String> {
    let result = if !flags.http_addr.is_empty() {
        http::client(&format!("http://{}", flags.http_addr), Default::default())
    } else if !flags.grpc_addr.is_empty() {
        grpc::client(&format!("http://{}", flags.grpc_addr))
    } else if !flags.jsonrpc_addr.is_empty() {
        jsonrpc::client(
            &format!("http://{}/", flags.jsonrpc_addr),
            Default::default(),
        )
    } else {
        return Err("no remote address specified (-http-addr, -grpc-addr or -jsonrpc-addr)".into());
    };
    result.map(with_middleware).map_err(|e| e.to_string())
}

async fn run(flags: Flags) -> Result<String, String> {
    let set = client(&flags)?;
    let (a, b) = (&flags.args[0], &flags.args[1]);
    let call = async {
        match flags.method.as_str() {
            "sum" => {
                let a: i64 = a.parse().map_err(|e| format!("{a:?}: {e}"))?;
                let b: i64 = b.parse().map_err(|e| format!("{b:?}: {e}"))?;
                let v = set.sum(a, b).await.map_err(|e| e.to_string())?;
                Ok(format!("{a} + {b} = {v}"))
            }
            "concat" => {
                let v = set.concat(a, b).await.map_err(|e| e.to_string())?;
                Ok(format!("{a:?} + {b:?} = {v:?}"))
            }
            other => Err(format!("invalid method {other:?}")),
        }
    };
    tokio::time::timeout(Duration::from_secs(flags.timeout), call)
        .await
        .map_err(|_| "timed out".to_string())?
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let flags = Flags::parse_from(go_style(std::env::args()));
    match run(flags).await {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
