//! Test support for kit: the one place tests get real servers.
//!
//! kit's tests run against the real thing: Debian's `redis-server`, `etcd`
//! and `dnsmasq`, each started as a child process on a free loopback port
//! with its own temporary directory, and killed when its handle drops, even
//! if the test panics. The OTLP receiver (feature `otlp`) is an in-process
//! server in the same shape: a free loopback port, stopped on drop. A missing
//! binary is an error that names the Debian package to install; a test never
//! skips quietly.
//!
//! ```no_run
//! use kit_testkit::RedisServer;
//!
//! let redis = RedisServer::start().unwrap();
//! println!("redis at {}", redis.url());
//! // … run the test against redis.addr() …
//! drop(redis); // the process is gone and the port is free again
//! ```
//!
//! # Adding a server
//! A launcher is a [`process::Spec`] (binary, Debian package, arguments, the
//! log line that means "ready") plus a small typed handle like
//! [`RedisServer`] that knows the server's ports and URLs. See `redis.rs`.
//!
//! # Layout
//! - [`process`]: spawning, readiness, kill-on-drop.
//! - [`port`]: free loopback ports.
//! - [`redis`](mod@redis): [`RedisServer`].
//! - [`cluster`]: [`RedisCluster`], Redis Cluster nodes with the slots split between them.
//! - [`etcd`](mod@etcd): [`EtcdServer`] (Debian `etcd-server`).
//! - [`dns`](mod@dns): [`DnsServer`] serving SRV records (Debian `dnsmasq`).
//! - `bench` (feature `bench`): ratios against a baseline from criterion's results.
//! - `echo` (feature `grpc`): the `kit.test.echo.Echo` gRPC service for transport tests.
//! - `otlp` (feature `otlp`): `OtlpReceiver`, an OTLP trace receiver (gRPC and HTTP).

#![forbid(unsafe_code)]
#![deny(missing_docs)]

#[cfg(feature = "bench")]
pub mod bench;
pub mod cluster;
pub mod dns;
#[cfg(feature = "grpc")]
pub mod echo;
pub mod error;
pub mod etcd;
#[cfg(feature = "otlp")]
pub mod otlp;
pub mod port;
pub mod process;
pub mod redis;

pub use cluster::RedisCluster;
pub use dns::{DnsServer, SrvRecord};
pub use error::LaunchError;
pub use etcd::EtcdServer;
#[cfg(feature = "otlp")]
pub use otlp::OtlpReceiver;
pub use port::free_port;
pub use process::ChildServer;
pub use redis::RedisServer;
