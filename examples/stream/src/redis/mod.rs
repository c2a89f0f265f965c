//! The Redis store (feature `redis`): one cluster of Redis instances with
//! keys sharded over them, written by Lua scripts that apply the core's
//! rules exactly, the size bound's watermark included.
//!
//! [`Cluster`] is a [`Store`](crate::store::Store) on its own, and one
//! replica ([`Replica`](crate::farm::Replica)) of a [`Farm`](crate::farm::Farm).
//!
//! # Layout in Redis
//!
//! A key `K` (bytes) lives on one instance, chosen by the cluster's
//! [`Sharding`], in up to three sorted sets:
//!
//! | Redis key | holds | score |
//! |---|---|---|
//! | `K+` | visible members (Roshi's layout) | the event's score |
//! | `K-` | tombstones (Roshi's layout) | the delete's score |
//! | `K~` | the watermark: at most one entry, the highest evicted member | its score |
//!
//! A member is in at most one of `K+` and `K-`. `K~` is new: Roshi caps
//! `K+` and `K-` separately and forgets what it evicts, which is what makes
//! its bound depend on the order of writes (see [`crate::crdt`]). Keeping
//! the watermark as a one-entry sorted set lets Redis hold its score as
//! exactly as the others' (a double), lets the walker find keys by `SCAN
//! … TYPE zset` whatever sets they have (a key with only tombstones
//! included), and lets replicas be compared with `ZRANGE … WITHSCORES`.
//!
//! # Scripts
//!
//! `write.lua` applies a batch of operations (insert, delete, raise the
//! watermark) to any keys of one instance in one call and returns one flag
//! per operation, so the store reports how many took effect. It follows
//! `Set::apply_state` step for step: ignore a write at or below the
//! watermark; apply it if `(score, kind)` is above the member's state;
//! while the key keeps more than `max_size` entries, evict the lowest of
//! `K+` and `K-` by `(score, member)` and make it the watermark. Scores
//! travel as text that parses back to the same `f64` (Lua prints numbers
//! with 14 digits, so the script never prints one), and members are
//! compared byte by byte in Lua (Lua's string order follows the server's
//! locale). While a key cannot outgrow its bound within one call (its
//! entries plus the writes it has left in the call fit), a write takes
//! two commands: `ZSCORE` in the other set (skipped while that set is
//! known to be empty), then `ZADD … GT CH` (Redis 6.2 or later), which
//! applies exactly the rule within one set; the
//! exact count and eviction are kept only when the bound may be reached.
//! `select.lua` reads a cursor range exactly at any depth of
//! equal scores (ranks by `ZCOUNT` and a binary search), and `states.lua`
//! reads member states and the watermark atomically, for repair.
//! `tests/redis_store.rs` checks the scripts against the core with a
//! differential proptest on a real `redis-server`.
//!
//! Scripts are sent by SHA (`EVALSHA`), loaded with `SCRIPT LOAD` by the
//! first request that meets `NOSCRIPT` (after a restart too), up to
//! 128 operations per call, one pipeline per instance per request, and the
//! instances of a request in parallel. Writes of concurrent requests to one
//! instance are sent together (`cluster/coalesce.rs`): whatever arrives
//! while a write is in flight goes in the next pipeline, so a write-heavy
//! load of small batches costs Redis far fewer script calls.
//!
//! # Connections
//!
//! Each instance has a bounded pool of shared, pipelined connections with
//! a circuit breaker (see `pool/`). Small requests that wait for an
//! instance at the same time go out together in rounds, one pipeline each
//! (`pool/rounds.rs`), so a burst of selects costs one write and one read
//! on each side instead of one per request. At most
//! [`ClusterConfig::pool_size`] × [`ClusterConfig::pipeline_depth`]
//! requests wait or are in flight per instance; a request that finds
//! no room fails with `ResourceExhausted` after
//! [`ClusterConfig::pool_timeout`] instead of blocking forever; a
//! connection found dead after a restart is replaced and the request
//! retried once (every command here is idempotent), so no request fails on
//! a stale connection; an open breaker fails requests at once with
//! `Unavailable`. Errors name the instance.
//!
//! # Redis Cluster
//!
//! For users who already run one: [`Cluster::redis_cluster`] (the farm's
//! `-redis.cluster` flag) treats a Redis Cluster as one replica and lets
//! Redis place the keys. A script may only touch keys of one hash slot, so
//! there the sets are named with a hash tag, `{kK}+` and so on (see
//! [`native`]: the tag is never empty and is the same for a key's three
//! sets whatever bytes the key holds); each script call carries one key.
//! That is not Roshi's layout, so a Redis Cluster is a store of its own,
//! not a drop-in for roshi-server's instances. The sharded [`Cluster`] of
//! plain instances stays the default: it batches many keys per script call,
//! and resharding it is a walker pass (see [`shard`]).
//!
//! # Example
//!
//! ```
//! use stream::crdt::{Event, Query, Score};
//! use stream::redis::{Cluster, ClusterConfig};
//! use stream::store::Store;
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let server = kit_testkit::RedisServer::start()?;
//! let instances = format!("127.0.0.1:{}", server.port()).parse::<stream::redis::Instances>()?;
//! let cluster = Cluster::new(&instances.clusters()[0], &ClusterConfig::default())?;
//!
//! let s = |v| Score::new(v).unwrap();
//! let applied = cluster.insert(vec![Event::new("feed", s(2.0), "b"), Event::new("feed", s(1.0), "a")]).await?;
//! assert_eq!(applied, 2);
//! assert_eq!(cluster.delete(vec![Event::new("feed", s(2.0), "b")]).await?, 1); // deletes win ties
//!
//! let got = cluster.select(vec!["feed".into()], Query::offset(0, 10)).await?;
//! assert_eq!(got[0].1.len(), 1);
//! assert_eq!(got[0].1[0].member, "a");
//! # Ok(()) }
//! ```
//!
//! # Layout
//! - [`config`][]: [`Addr`], [`Instances`] (the farm string), [`ClusterConfig`].
//! - [`shard`][]: [`Sharding`]: murmur3, FNV-1, FNV-1a mod N, jump hash.
//! - `pool/`: the bounded pool of shared connections, stale-connection retry, breaker;
//!   `rounds.rs`, concurrent requests sent as one pipeline.
//! - `scripts.rs` and `write.lua`, `select.lua`, `states.lua`.
//! - `cluster/`: [`Cluster`]; `commands.rs`, the per-shard reads and the fan-out;
//!   `coalesce.rs`, the per-instance write queue; [`native`], a Redis Cluster.

use bytes::Bytes;
use redis::Value;

mod cluster;
pub mod config;
mod pool;
mod scripts;
pub mod shard;

pub use cluster::{Cluster, native};
pub use config::{Addr, ClusterConfig, ConfigError, Instances};
pub use shard::Sharding;

/// The three sorted sets of a key, by suffix.
pub const SUFFIXES: [u8; 3] = [b'+', b'-', b'~'];

/// The Redis names of `key`'s sets: adds, tombstones, watermark.
pub fn set_names(key: &[u8]) -> [Vec<u8>; 3] {
    SUFFIXES.map(|s| {
        let mut name = Vec::with_capacity(key.len() + 1);
        name.extend_from_slice(key);
        name.push(s);
        name
    })
}

/// A `SCAN` reply: the next cursor, and the raw keys of the sorted sets it
/// listed (suffix stripped; other names skipped), each once.
fn parse_scan(reply: &Value) -> Option<(u64, Vec<Bytes>)> {
    let Value::Array(parts) = reply else {
        return None;
    };
    let [cursor, Value::Array(names)] = parts.as_slice() else {
        return None;
    };
    let cursor: u64 = std::str::from_utf8(scripts::bytes(cursor)?)
        .ok()?
        .parse()
        .ok()?;
    let mut keys: Vec<Bytes> = Vec::with_capacity(names.len());
    let mut seen = std::collections::HashSet::with_capacity(names.len());
    for name in names {
        let name = scripts::bytes(name)?;
        if let Some((last, key)) = name.split_last()
            && SUFFIXES.contains(last)
            && seen.insert(key)
        {
            keys.push(Bytes::copy_from_slice(key));
        }
    }
    Some((cursor, keys))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_replies() {
        let s = |b: &[u8]| Value::BulkString(b.to_vec());
        let reply = Value::Array(vec![
            s(b"17"),
            Value::Array(vec![
                s(b"a+"),
                s(b"a-"),
                s(b"b~"),
                s(b"other"),
                s(b""),
                s(b"+"),
            ]),
        ]);
        let (cursor, keys) = parse_scan(&reply).unwrap();
        assert_eq!(cursor, 17);
        assert_eq!(
            keys,
            vec![Bytes::from("a"), Bytes::from("b"), Bytes::from("")]
        );
        assert_eq!(parse_scan(&Value::Nil), None);
        assert_eq!(
            parse_scan(&Value::Array(vec![s(b"x"), Value::Array(vec![])])),
            None
        );
    }

    #[test]
    fn set_names_share_the_key() {
        assert_eq!(
            set_names(b"k"),
            [b"k+".to_vec(), b"k-".to_vec(), b"k~".to_vec()]
        );
    }
}
