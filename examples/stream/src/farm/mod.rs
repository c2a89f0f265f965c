//! The farm (feature `redis`): N independent replicas (Redis clusters)
//! written to a quorum, read by strategy, repaired on read and walked for
//! anti-entropy. Roshi's design, converging.
//!
//! Every replica holds the same CRDT (see [`crate::crdt`]), so replicas
//! that received the same writes, in any order, with duplicates, hold the
//! same state, and any two can be brought together by sending each the
//! other's states: the winner is a maximum, whichever replica it came from.
//! The farm relies on that everywhere:
//!
//! - **Writes** ([`Farm::apply`], and the [`Store`] methods) go to every
//!   replica at once and are acknowledged when `write_quorum` replicas
//!   applied them ([`Quorum`]: a number, or a percentage rounded up). The
//!   others finish in the background, at most `max_in_flight` per replica.
//!   A write that misses a replica is not lost: repair brings it there.
//! - **Reads** follow the [`ReadStrategy`]: one replica (keys it fails go
//!   to the next), all replicas (the union, where replicas differ resolved
//!   by reading the members' states: a delete beats an add at equal score,
//!   a member at or below a watermark is gone), or the first complete
//!   answer with the others collected for repair (`SendVarReadFirstLinger`
//!   asks every replica only while a [`kit_ratelimit`] bucket of keys a
//!   second has tokens, and it refills). A key that no replica could read
//!   fails the select with `Unavailable`; it is never an empty answer.
//!   As in Roshi, each replica answers its own page and the pages are
//!   merged, so while replicas differ an offset page past the first can
//!   miss members that only a deeper page of some replica holds (cursor
//!   pages do not: each replica's page starts at the same position).
//! - **Read repair** ([`repair`] module): members that differ between
//!   replicas are queued (bounded; a full queue drops and counts), rate
//!   limited with a refilling limit, and written to every replica that
//!   differs, by the core's rules, whatever the replicas' order, for
//!   negative scores, ties and watermarks alike. [`RepairHooks`] count
//!   queued, dropped, written and failed.
//! - **The walker** ([`walker`] module, and the `stream-walker` binary)
//!   scans every key of every replica, tombstone-only keys included, and
//!   repairs each one whole: rate limited, resumable from a checkpoint,
//!   reporting progress, skipping unreachable instances with backoff.
//!
//! # Example
//!
//! Two replicas of one instance each, from roshi-style flags; a write, a
//! read, a divergence and its repair:
//!
//! ```
//! use clap::Parser;
//! use stream::crdt::{Event, Kind, Query, Score};
//! use stream::farm::{FarmConfig, KeyOp, Replica};
//! use stream::store::Store;
//!
//! #[derive(Parser)]
//! struct Flags {
//!     #[command(flatten)]
//!     farm: FarmConfig,
//! }
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let (a, b) = (kit_testkit::RedisServer::start()?, kit_testkit::RedisServer::start()?);
//! let instances = format!("127.0.0.1:{};127.0.0.1:{}", a.port(), b.port());
//! let flags = Flags::try_parse_from(stream::farm::go_flags([
//!     "stream", "-redis.instances", &instances, "-farm.write.quorum", "100%",
//!     "-farm.read.strategy", "SendAllReadAll", "-farm.repair.strategy", "AllRepairs",
//! ]))?;
//! let farm = flags.farm.connect().await?;
//!
//! let s = |v| Score::new(v).unwrap();
//! farm.insert(vec![Event::new("feed", s(1.0), "a")]).await?;
//! // A delete that reached only the second replica...
//! farm.replicas()[1].apply(&[KeyOp::write("feed", Kind::Delete, s(1.0), "a")]).await?;
//! // ...wins the read (deletes beat inserts at equal scores) and is repaired.
//! let got = farm.select(vec!["feed".into()], Query::offset(0, 10)).await?;
//! assert!(got[0].1.is_empty());
//! farm.settled().await;
//! let first = farm.replicas()[0].select_each(&["feed".into()], &Query::offset(0, 10)).await;
//! assert!(first[0].as_ref().unwrap().is_empty());
//! # Ok(()) }
//! ```
//!
//! # Layout
//! - [`replica`][]: the [`Replica`] trait, [`KeyOp`], [`KeyStates`].
//! - [`options`][]: [`Quorum`], [`ReadStrategy`], [`RepairStrategy`], [`FarmOptions`].
//! - [`config`][]: [`FarmConfig`], roshi-server's flags, and [`go_flags`].
//! - `write.rs`, `read.rs`: the quorum write and the read strategies.
//! - `merge.rs`: union, difference, winner and repair plan (pure).
//! - [`repair`][]: the queue, [`RepairHooks`], [`RepairCounters`].
//! - [`walker`][]: [`Walker`].

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use kit_ratelimit::{Quota, RateLimiter};
use tokio::sync::Semaphore;

use crate::crdt::{Event, Kind, Query};
use crate::redis::{Cluster, ConfigError};
use crate::store::{KeyEntries, Store, StoreError, validate};

pub mod config;
mod merge;
pub mod options;
mod pending;
mod read;
pub mod repair;
pub mod replica;
pub mod walker;
mod write;

#[cfg(test)]
mod tests;

pub use config::{FarmConfig, go_flags};
pub use options::{FarmOptions, Quorum, ReadStrategy, RepairStrategy};
pub use repair::{NoRepairHooks, RepairCounters, RepairHooks, RepairOutcome};
pub use replica::{KeyOp, KeyStates, Members, Op, Replica};
pub use walker::{Walker, WalkerOptions};

use pending::Pending;
use repair::RepairQueue;

/// N replicas of the key space, written to a quorum, read by strategy and
/// repaired. Cheap to clone (clones share everything). A [`Store`].
///
/// Must be created inside a tokio runtime: it starts the repair worker.
pub struct Farm<R: Replica = Cluster> {
    inner: Arc<Inner<R>>,
}

struct Inner<R> {
    replicas: Arc<[Arc<R>]>,
    quorum: usize,
    read: ReadStrategy,
    /// `SendVarReadFirstLinger`'s permits: keys a second sent to all.
    send_all_permits: Option<RateLimiter>,
    /// Round robin for reads from one replica.
    next: AtomicUsize,
    /// Per replica, the writes it may have in flight.
    in_flight: Vec<Arc<Semaphore>>,
    max_in_flight: usize,
    repairs: Option<RepairQueue>,
    hooks: Arc<dyn RepairHooks>,
    pending: Pending,
}

impl<R: Replica> Clone for Farm<R> {
    fn clone(&self) -> Self {
        Farm {
            inner: self.inner.clone(),
        }
    }
}

impl<R: Replica> std::fmt::Debug for Farm<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Farm")
            .field(
                "replicas",
                &self
                    .inner
                    .replicas
                    .iter()
                    .map(|r| r.name())
                    .collect::<Vec<_>>(),
            )
            .field("quorum", &self.inner.quorum)
            .field("read", &self.inner.read)
            .field("pending", &self.inner.pending.count())
            .finish()
    }
}

impl<R: Replica> Farm<R> {
    /// A farm of `replicas` (at least one). Starts the repair worker on the
    /// current tokio runtime; `hooks` see every repair.
    pub fn new(
        replicas: Vec<R>,
        options: FarmOptions,
        hooks: Arc<dyn RepairHooks>,
    ) -> Result<Farm<R>, ConfigError> {
        let n = replicas.len();
        if n == 0 {
            return Err(ConfigError::EmptyCluster(0));
        }
        let quorum = options.write_quorum.of(n)?;
        let replicas: Arc<[Arc<R>]> = replicas.into_iter().map(Arc::new).collect();
        let send_all_permits = match options.read_strategy {
            ReadStrategy::SendVarReadFirstLinger { rate, .. } => {
                let rate = std::num::NonZeroU32::new(rate).ok_or_else(|| {
                    ConfigError::Invalid("SendVarReadFirstLinger needs a rate above 0".into())
                })?;
                Some(RateLimiter::new(Quota::per_second(rate)))
            }
            _ => None,
        };
        let pending = Pending::default();
        let repairs = RepairQueue::start(
            replicas.clone(),
            options.repair_strategy,
            options.repair_queue,
            hooks.clone(),
            pending.clone(),
        );
        let max_in_flight = options.max_in_flight.max(1);
        Ok(Farm {
            inner: Arc::new(Inner {
                in_flight: (0..n)
                    .map(|_| Arc::new(Semaphore::new(max_in_flight)))
                    .collect(),
                replicas,
                quorum,
                read: options.read_strategy,
                send_all_permits,
                next: AtomicUsize::new(0),
                max_in_flight,
                repairs,
                hooks,
                pending,
            }),
        })
    }

    /// The replicas, in order.
    pub fn replicas(&self) -> &[Arc<R>] {
        &self.inner.replicas
    }

    /// How many replicas acknowledge a write.
    pub fn quorum(&self) -> usize {
        self.inner.quorum
    }

    /// Repairs `keys` on every replica now (no queue, no rate limit), as
    /// the walker does; reports to the farm's repair hooks.
    pub async fn repair(&self, keys: &[(Bytes, Members)]) -> RepairOutcome {
        repair::repair(&self.inner.replicas, keys, &*self.inner.hooks).await
    }

    /// A walker over this farm.
    pub fn walker(&self, options: WalkerOptions) -> Result<Walker<R>, ConfigError> {
        Walker::new(self.clone(), options)
    }

    /// Waits until every write past its quorum, every lingering read and
    /// every queued repair has finished: for tests, and before shutdown.
    pub async fn settled(&self) {
        self.inner.pending.idle().await;
    }

    fn queue_repair(&self, keys: Vec<(Bytes, Members)>) {
        if let Some(q) = &self.inner.repairs {
            q.push(keys);
        }
    }

    fn next_replica(&self) -> usize {
        self.inner.next.fetch_add(1, Ordering::Relaxed) % self.inner.replicas.len()
    }
}

impl<R: Replica> Store for Farm<R> {
    async fn write(&self, kind: Kind, events: Vec<Event>) -> Result<usize, StoreError> {
        validate(&events)?;
        if events.is_empty() {
            return Ok(0);
        }
        let ops = events
            .into_iter()
            .map(|e| KeyOp::write(e.key, kind, e.score, e.member))
            .collect();
        self.apply(ops).await
    }

    async fn select(&self, keys: Vec<Bytes>, query: Query) -> Result<Vec<KeyEntries>, StoreError> {
        self.read(keys, query).await
    }
}
