//! kit-load: the load harness behind kit's throughput figures.
//!
//! kit's claims are ratios: the kit HTTP server against raw axum, the kit
//! gRPC server against raw tonic, the stream service against a raw handler.
//! On a shared 2-core machine only a ratio measured in one run means
//! anything, so kit-load runs a list of named scenarios in one go
//! (interleaved, `A B, B A, A B …`, to cancel drift) and prints each one's figures
//! beside its baseline's:
//!
//! - **HTTP/1.1** closed-loop load over N keep-alive connections, one
//!   request in flight each, like `wrk -t1 -c64` (the settings Go kit's
//!   reference figures were taken with); **HTTP/2** (h2c) with M streams
//!   per connection; **gRPC** unary calls over tonic with pre-encoded
//!   protobuf bytes ([`BytesCodec`]), N channels × M calls.
//! - Per run: requests, outcomes by HTTP status / gRPC code plus connect,
//!   I/O and timeout errors, req/s, latency p50/p90/p99/max from an HDR
//!   histogram, and the CPU per request of the server (by PID) and of the
//!   load generator itself, from `/proc/<pid>/stat`.
//! - `wrk` itself as an engine ([`Load::Wrk`]), to cross-check kit-load or
//!   quote figures taken exactly as the references were.
//! - [`ServerProcess`]: servers under test in their own process, killed on
//!   drop, so their CPU figure is theirs alone.
//!
//! # Example
//!
//! A server under test in a child process, measured for a moment:
//!
//! ```no_run
//! use std::net::SocketAddr;
//! use std::process::Command;
//! use std::time::Duration;
//! use kit_load::{Comparison, HttpLoad, Load, Scenario, ServerProcess, Settings, free_port};
//!
//! let port = free_port()?;
//! let addr = SocketAddr::from(([127, 0, 0, 1], port));
//! let mut cmd = Command::new("target/release/kit-load-echo");
//! cmd.arg("--http").arg(addr.to_string());
//! let server = ServerProcess::spawn(cmd, addr)?;
//!
//! let settings = Settings { duration: Duration::from_secs(5), ..Settings::default() };
//! let url = format!("http://{addr}/");
//! let scenario = |name: &str, load| {
//!     Scenario::new(name, load).with_settings(settings.clone()).with_server_pid(server.pid())
//! };
//! let report = Comparison::new("wrk")
//!     .with_scenario(scenario("wrk", Load::Wrk(HttpLoad::new(&url)?)))
//!     .with_scenario(scenario("kit-load", Load::Http(HttpLoad::new(&url)?)))
//!     .with_rounds(2)
//!     .run()?;
//! print!("{report}");
//! # Ok::<(), kit_load::Error>(())
//! ```
//!
//! And the pieces, runnable anywhere:
//!
//! ```
//! use kit_load::{GrpcLoad, HttpLoad, Settings, parse_duration, parse_hex};
//!
//! let http = HttpLoad::new("http://127.0.0.1:8080/sum")?
//!     .with_method(http::Method::POST)
//!     .with_body(r#"{"a":1,"b":2}"#);
//! let grpc = GrpcLoad::new("http://127.0.0.1:8082", "/pb.Add/Sum")?
//!     .with_body(parse_hex("0801 1002")?);
//! let settings = Settings { duration: parse_duration("10s")?, ..Settings::default() };
//! settings.validate()?;
//! assert_eq!((settings.connections, settings.threads), (64, 1));
//! assert!(HttpLoad::new("ftp://example").is_err());
//! # Ok::<(), kit_load::Error>(())
//! ```
//!
//! # Layout
//! - [`settings`]: connections, streams, threads, durations.
//! - `http`, `grpc`: the loads ([`HttpLoad`], [`GrpcLoad`]) and their
//!   connection loops; [`codec`]: the pass-through gRPC codec.
//! - `run`: threads, the window, CPU samples. [`stats`]: counting;
//!   [`cpu`]: `/proc` CPU time.
//! - [`Scenario`], [`Report`], [`Comparison`] and its table; `wrk`: the
//!   wrk engine; [`file`](mod@file): scenario files; [`process`]: servers under test.
//! - Binaries: `kit-load` (the CLI) and `kit-load-echo` (a raw axum / raw
//!   tonic server to measure against).

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod body;
pub mod codec;
mod compare;
pub mod cpu;
mod error;
pub mod file;
mod grpc;
mod http;
pub mod process;
mod report;
mod run;
mod scenario;
pub mod settings;
pub mod stats;
mod wrk;

pub use body::{Bodies, MAX_BODY_BYTES, parse_hex};
pub use codec::BytesCodec;
pub use compare::{Comparison, ComparisonReport, MAX_ROUNDS, Row, Run};
pub use error::Error;
pub use grpc::GrpcLoad;
pub use http::{HttpLoad, parse_header};
pub use process::{ServerProcess, free_port, workspace_binary};
pub use report::{Engine, Report};
pub use scenario::{Load, Scenario};
pub use settings::{Settings, parse_duration};
