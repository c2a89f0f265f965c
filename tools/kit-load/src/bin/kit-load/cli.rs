//! The command line: flags, and how they become a [`Comparison`].

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use http::Method;
use kit_load::settings::{MAX_CONNECTIONS, MAX_STREAMS, MAX_THREADS};
use kit_load::{
    Bodies, Comparison, GrpcLoad, HttpLoad, Load, MAX_ROUNDS, Scenario, Settings, parse_duration,
    parse_hex,
};

/// Closed-loop HTTP/1.1, HTTP/2 and gRPC load with figures as ratios
/// against a baseline measured in the same run.
#[derive(Debug, Parser)]
#[command(name = "kit-load", version, about, long_about = LONG_ABOUT)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

const LONG_ABOUT: &str = "\
Closed-loop HTTP/1.1, HTTP/2 and gRPC load with figures as ratios against a \
baseline measured in the same run.

Each connection keeps one request in flight (HTTP/1.1) or --streams requests \
(HTTP/2, gRPC), as wrk does. Requests count if they finish inside the measured \
window, after the warm-up. With --pid, the server's CPU per request comes from \
/proc/<pid>/stat over the window; the load generator's own CPU is always shown.

Examples:
  kit-load http --url http://127.0.0.1:8080/sum -X POST --body '{\"a\":1,\"b\":2}' -c 64 -d 10s
  kit-load http --url http://127.0.0.1:8080/ --vs-wrk --rounds 2
  kit-load grpc --url http://127.0.0.1:8082 --path /pb.Add/Sum --body-hex 0801 1002 -c 64 -d 10s
  kit-load compare tools/kit-load/scenarios/selftest.json";

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Load one URL over HTTP/1.1 (or HTTP/2 with --http2).
    Http(HttpArgs),
    /// Load one unary gRPC method over h2c, with pre-encoded protobuf.
    Grpc(GrpcArgs),
    /// Run a scenario file (JSON): start its servers, run its scenarios,
    /// print the ratio table. The format is in the crate's README.
    Compare(CompareArgs),
}

/// Flags every load shares.
#[derive(Debug, Args)]
pub(crate) struct Common {
    /// Connections (gRPC: channels), each its own TCP connection.
    #[arg(short = 'c', long, default_value = "64", value_parser = count::<MAX_CONNECTIONS>)]
    pub(crate) connections: usize,
    /// Requests in flight per connection (HTTP/2 and gRPC only).
    #[arg(short = 's', long, default_value = "1", value_parser = count::<MAX_STREAMS>)]
    pub(crate) streams: usize,
    /// Load-generator threads, like wrk's -t.
    #[arg(short = 't', long, default_value = "1", value_parser = count::<MAX_THREADS>)]
    pub(crate) threads: usize,
    /// The measured window: 10s, 500ms, 1m…
    #[arg(short = 'd', long, default_value = "10s", value_parser = duration)]
    pub(crate) duration: Duration,
    /// Load before the window, not counted.
    #[arg(short = 'w', long, default_value = "1s", value_parser = duration)]
    pub(crate) warmup: Duration,
    /// A request unanswered this long counts as a timeout.
    #[arg(long, default_value = "2s", value_parser = duration)]
    pub(crate) timeout: Duration,
    /// The server's process id, for its CPU per request.
    #[arg(long)]
    pub(crate) pid: Option<u32>,
    /// The scenario's name in the table.
    #[arg(long)]
    pub(crate) name: Option<String>,
    /// Items per request (e.g. events in a batch), for an items/s column.
    #[arg(long, default_value = "1", value_parser = count::<{ u32::MAX as usize }>)]
    pub(crate) items: usize,
    /// Runs per scenario, merged into one row.
    #[arg(long, default_value = "1", value_parser = count::<MAX_ROUNDS>)]
    pub(crate) rounds: usize,
    /// Also write JSON lines to this file; `-` prints them on stdout
    /// instead of the table (which then goes to stderr).
    #[arg(long, value_name = "PATH|-")]
    pub(crate) json: Option<PathBuf>,
}

impl Common {
    pub(crate) fn settings(&self) -> Settings {
        Settings {
            connections: self.connections,
            streams: self.streams,
            threads: self.threads,
            duration: self.duration,
            warmup: self.warmup,
            timeout: self.timeout,
        }
    }

    fn scenario(&self, default_name: &str, load: Load) -> Scenario {
        let mut s = Scenario::new(self.name.as_deref().unwrap_or(default_name), load)
            .with_settings(self.settings())
            .with_items_per_request(self.items as u64);
        if let Some(pid) = self.pid {
            s = s.with_server_pid(pid);
        }
        s
    }
}

#[derive(Debug, Args)]
pub(crate) struct HttpArgs {
    /// The URL: http://host:port/path?query (no TLS).
    #[arg(long)]
    pub(crate) url: String,
    /// The method.
    #[arg(short = 'X', long, default_value = "GET", value_parser = method)]
    pub(crate) method: Method,
    /// A header, `Name: value`; repeat for more.
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE")]
    pub(crate) headers: Vec<String>,
    /// The body of every request.
    #[arg(long, group = "bodies")]
    pub(crate) body: Option<String>,
    /// A file whose contents are the body.
    #[arg(long, group = "bodies")]
    pub(crate) body_file: Option<PathBuf>,
    /// A file with one body per line, rotated through.
    #[arg(long, group = "bodies")]
    pub(crate) bodies_file: Option<PathBuf>,
    /// Speak HTTP/2 with prior knowledge (h2c).
    #[arg(long)]
    pub(crate) http2: bool,
    /// Also run the same load with wrk (interleaved) and show kit-load's
    /// figure as a ratio to wrk's.
    #[arg(long)]
    pub(crate) vs_wrk: bool,
    #[command(flatten)]
    pub(crate) common: Common,
}

impl HttpArgs {
    pub(crate) fn comparison(&self) -> Result<Comparison, kit_load::Error> {
        let mut load = HttpLoad::new(&self.url)?
            .with_method(self.method.clone())
            .with_http2(self.http2);
        for line in &self.headers {
            let (name, value) = line.split_once(':').ok_or_else(|| bad_header(line))?;
            load = load.with_header(name, value)?;
        }
        if let Some(body) = &self.body {
            load = load.with_body(body.clone());
        } else if let Some(path) = &self.body_file {
            let bytes = std::fs::read(path).map_err(|e| kit_load::Error::Io {
                what: format!("reading {}", path.display()),
                source: e,
            })?;
            load = load.with_bodies(Bodies::rotate([bytes.into()])?);
        } else if let Some(path) = &self.bodies_file {
            load = load.with_bodies(Bodies::from_lines_file(path)?);
        }
        let ours = self.common.scenario("kit-load", Load::Http(load.clone()));
        let mut comparison =
            Comparison::new(ours.name().to_owned()).with_rounds(self.common.rounds);
        if self.vs_wrk {
            comparison = Comparison::new("wrk")
                .with_rounds(self.common.rounds)
                .with_scenario(
                    self.common
                        .scenario("wrk", Load::Wrk(load))
                        .with_baseline("wrk"),
                );
        }
        let comparison = comparison.with_scenario(ours);
        comparison.validate()?;
        Ok(comparison)
    }
}

fn bad_header(line: &str) -> kit_load::Error {
    kit_load::Error::Invalid {
        what: "header",
        message: format!("{line:?}: expected `Name: value`"),
    }
}

#[derive(Debug, Args)]
pub(crate) struct GrpcArgs {
    /// The server: http://host:port.
    #[arg(long)]
    pub(crate) url: String,
    /// The method: /package.Service/Method.
    #[arg(long)]
    pub(crate) path: String,
    /// The request message in hex; several values are joined, so
    /// `--body-hex 0801 1002` is the message {a: 1, b: 2}.
    #[arg(long, num_args = 1.., value_name = "HEX", group = "bodies")]
    pub(crate) body_hex: Vec<String>,
    /// A file with one hex message per line, rotated through.
    #[arg(long, group = "bodies")]
    pub(crate) bodies_hex_file: Option<PathBuf>,
    /// Metadata, `name: value`; repeat for more.
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE")]
    pub(crate) headers: Vec<String>,
    #[command(flatten)]
    pub(crate) common: Common,
}

impl GrpcArgs {
    pub(crate) fn comparison(&self) -> Result<Comparison, kit_load::Error> {
        let mut load = GrpcLoad::new(&self.url, &self.path)?;
        for line in &self.headers {
            let (name, value) = line.split_once(':').ok_or_else(|| bad_header(line))?;
            load = load.with_header(name, value)?;
        }
        if !self.body_hex.is_empty() {
            load = load.with_body(parse_hex(&self.body_hex.join(""))?);
        } else if let Some(path) = &self.bodies_hex_file {
            load = load.with_bodies(Bodies::from_hex_lines_file(path)?);
        }
        let scenario = self.common.scenario("kit-load-grpc", Load::Grpc(load));
        let comparison = Comparison::new(scenario.name().to_owned())
            .with_rounds(self.common.rounds)
            .with_scenario(scenario);
        comparison.validate()?;
        Ok(comparison)
    }
}

#[derive(Debug, Args)]
pub(crate) struct CompareArgs {
    /// The scenario file (JSON).
    pub(crate) file: PathBuf,
    /// Override the file's rounds.
    #[arg(long, value_parser = count::<MAX_ROUNDS>)]
    pub(crate) rounds: Option<usize>,
    /// Run each scenario's rounds back to back instead of interleaving.
    #[arg(long)]
    pub(crate) sequential: bool,
    /// Override every scenario's duration (e.g. for a quick smoke run).
    #[arg(short = 'd', long, value_parser = duration)]
    pub(crate) duration: Option<Duration>,
    /// Override every scenario's warm-up.
    #[arg(short = 'w', long, value_parser = duration)]
    pub(crate) warmup: Option<Duration>,
    /// Also write JSON lines to this file; `-` prints them on stdout
    /// instead of the table (which then goes to stderr).
    #[arg(long, value_name = "PATH|-")]
    pub(crate) json: Option<PathBuf>,
}

/// A count in `1..=MAX`.
fn count<const MAX: usize>(text: &str) -> Result<usize, String> {
    let n: usize = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a whole number"))?;
    if n == 0 || n > MAX {
        return Err(format!("{n} is not in 1..={MAX}"));
    }
    Ok(n)
}

fn duration(text: &str) -> Result<Duration, String> {
    parse_duration(text).map_err(|e| e.to_string())
}

fn method(text: &str) -> Result<Method, String> {
    let valid = !text.is_empty() && text.bytes().all(|b| b.is_ascii_alphabetic() || b == b'-');
    valid
        .then(|| Method::from_bytes(text.as_bytes()).ok())
        .flatten()
        .ok_or_else(|| format!("{text:?} is not an HTTP method"))
}

#[cfg(test)]
#[path = "cli_tests.rs"]
mod tests;
