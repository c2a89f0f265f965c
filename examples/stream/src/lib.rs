//! Roshi's CRDT event index, rebuilt on kit: time-ordered events per key
//! in last-writer-wins element sets, with Roshi's defects fixed.
//!
//! SoundCloud's Roshi indexes time-stamped events per key (the activity
//! streams behind feeds): insert and delete `(key, score, member)` events,
//! read a key's newest members by score. Each key is a CRDT, so replicas
//! that see the same writes in any order, with duplicates, agree. This crate
//! is everything below the transport:
//!
//! - [`crdt`][]: the sets and the write rule, no I/O; a size bound per key
//!   that keeps convergence (Roshi's does not).
//! - [`store`][]: the [`Store`](store::Store) trait, an in-memory store, and
//!   the default embedded durable store (sets in memory, states on disk,
//!   group commit).
//! - [`wire`][]: roshi-server's HTTP JSON format, byte for byte, as pure
//!   functions.
//! - [`service`] and [`endpoints`]: the service and one kit endpoint per
//!   operation.
//! - [`api`]: the transports: roshi-server's HTTP API, a REST API with live
//!   updates, and a gRPC API with a streaming Subscribe.
//! - `redis` (feature `redis`): the Redis store, one cluster of sharded
//!   instances written by Lua scripts that apply the core's rules,
//!   watermark included.
//! - `farm` (feature `redis`): N Redis clusters written to a quorum, read
//!   by strategy, with read repair and the walker (`stream-walker`); built
//!   from roshi-server's flags by `farm::FarmConfig::connect`.
//! - `registry` (feature `etcd`): registration in etcd through kit-sd.
//! - `src/main.rs`: the `stream` binary, the README's main job.
//!
//! # Example
//!
//! A Roshi request's body decoded, written through the insert endpoint into
//! the durable store, read back and encoded as roshi-server answers:
//!
//! ```
//! use std::time::Duration;
//! use kit_endpoint::Request;
//! use stream::endpoints::Endpoints;
//! use stream::service::{SelectRequest, Selection, StreamService};
//! use stream::store::EmbeddedStore;
//! use stream::wire::{self, Limits};
//! use tower::ServiceExt;
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), kit_endpoint::Error> {
//! let dir = tempfile::tempdir().unwrap();
//! let store: EmbeddedStore = EmbeddedStore::open(dir.path())?;
//! let endpoints = Endpoints::new(StreamService::new(store));
//!
//! // POST / [{"key":"Zm9v","score":1.05,"member":"YmFy"},…]
//! let body = br#"[{"key":"Zm9v","score":1.05,"member":"YmFy"},{"key":"Zm9v","score":1.99,"member":"YmF6"}]"#;
//! let events = wire::decode_events(body, &Limits::default())?;
//! let out = endpoints.insert.clone().oneshot(Request::new(events)).await?;
//! assert_eq!(out.requested, 2);
//!
//! // GET /?limit=10 ["Zm9v"]
//! let keys = wire::decode_keys(br#"["Zm9v"]"#, &Limits::default())?;
//! let params = wire::parse_select_query("limit=10", &Limits::default())?;
//! let req = SelectRequest { keys, query: params.query, coalesce: params.coalesce };
//! let Selection::PerKey(per_key) = endpoints.select.oneshot(Request::new(req)).await? else {
//!     unreachable!("not coalesced")
//! };
//! assert_eq!(
//!     wire::encode_selected(&per_key, Duration::from_nanos(213_030)),
//!     "{\"duration\":\"213.03µs\",\"records\":{\"foo\":[\
//!      {\"key\":\"Zm9v\",\"score\":1.99,\"member\":\"YmF6\"},\
//!      {\"key\":\"Zm9v\",\"score\":1.05,\"member\":\"YmFy\"}]}}\n",
//! );
//! # Ok(()) }
//! ```
//!
//! # Roshi's defects, and what this crate does instead
//!
//! | Roshi | here |
//! |---|---|
//! | `max.size` evicts without a trace: deleted members resurface, results depend on write order | a per-key watermark keeps the bound convergent ([`crdt`]) |
//! | equal scores come back in random order on the default read path | always (score desc, member desc) |
//! | cursor paging fails past ~100–250 equal scores; default cursors hide negative scores | exact range walks at any depth; missing cursors are unbounded |
//! | a negative `offset`/`limit` follows Redis's negative indices or fails quietly | a 400 |
//! | a malformed query string is a 500 | a 400 |
//! | NaN/infinite scores are not checked | rejected |
//! | needs Redis | embedded durable store; every acknowledged write survives `kill -9` |
//! | farm repair depends on cluster order, skips negative scores, never walks tombstone-only keys | order-free, by the core's rules, every sorted set walked (feature `redis`) |
//! | the repair rate limit never refills; an exhausted pool blocks forever; stale connections fail a request after a restart | kit-ratelimit's refilling limits; `ResourceExhausted` after a timeout; a dropped connection is replaced and the request retried (feature `redis`) |
//!
//! # Layout
//! - [`crdt`][]: `score`, `state`, `set`, `select`.
//! - [`store`][]: `memory`, `embedded` (`engine`, `layout`, `writer`: writer and syncer threads), `shared`, `error`.
//! - [`wire`][]: `scan`, `reader`, `base64go`, `body`, `query`, `cursor`, `encode`.
//! - [`service`][]: [`StreamService`](service::StreamService).
//! - [`endpoints`][]: [`Endpoints`](endpoints::Endpoints).
//! - `redis` (feature `redis`): `config`, `shard`, `pool`, `scripts` (+ `*.lua`), `cluster`.
//! - `farm` (feature `redis`): `replica`, `options`, `config`, `write`, `read`, `merge`, `repair`, `walker`.
//! - `registry` (feature `etcd`).
//! - `src/bin/stream-crashtest.rs`: test-only writer that `tests/crash.rs` kills.
//! - `src/bin/stream-walker.rs` (feature `redis`): roshi-walker.
//! - `benches/`: `engines` (redb against fjall), `footprint` (bytes per event), `redis` (the Redis store beside raw Redis).
//! - `fuzz/`: cargo-fuzz targets for the body decoders, cursors and queries.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod api;
pub mod crdt;
pub mod endpoints;
#[cfg(feature = "redis")]
pub mod farm;
pub mod flags;
#[cfg(feature = "redis")]
pub mod redis;
#[cfg(feature = "etcd")]
pub mod registry;
pub mod service;
pub mod store;
pub mod wire;

/// The gRPC API's messages and service, generated from `proto/stream.proto`.
#[allow(missing_docs, unreachable_pub, clippy::all, clippy::pedantic)]
pub mod pb {
    include!(concat!(env!("OUT_DIR"), "/kit.stream.v1.rs"));

    /// The encoded `FileDescriptorSet`, for gRPC reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/stream_descriptor.bin"));
}
