//! `Cluster`: keys sharded over Redis instances; one replica of a farm,
//! and a [`Store`] on its own.

use std::sync::Arc;

use bytes::Bytes;
use kit_circuitbreaker::Breaker;
use redis::Pipeline;

use super::Sharding;
use super::config::{Addr, ClusterConfig};
use super::pool::Pool;
use super::scripts;
use crate::crdt::{Entry, Event, Kind, Query};
use crate::farm::{KeyOp, KeyStates, Members, Replica};
use crate::store::{KeyEntries, Store, StoreError, validate};

mod coalesce;
mod commands;
pub mod native;

use coalesce::Coalescer;
use commands::per_shard;

/// The most operations one script call carries: Redis runs a script to
/// the end before it serves anyone else, so a batch of 10,000 is split.
const OPS_PER_CALL: usize = 128;
/// The most keys one cursor-select or states call carries.
const KEYS_PER_CALL: usize = 64;

/// One Redis cluster: keys sharded over its instances by a [`Sharding`],
/// each key in three sorted sets on its instance (`key+` adds, `key-`
/// tombstones, `key~` the watermark), written by Lua scripts that apply
/// the core's rules. See the [module docs](super).
pub struct Cluster {
    name: String,
    pools: Vec<Arc<Pool>>,
    /// Each instance's write queue, in instance order.
    writers: Vec<Arc<Coalescer>>,
    /// A Redis Cluster instead of instances of our own (no pools then).
    native: Option<native::Native>,
    sharding: Sharding,
    max_size: usize,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("name", &self.name)
            .field("instances", &self.pools)
            .field("sharding", &self.sharding)
            .field("max_size", &self.max_size)
            .finish()
    }
}

impl Cluster {
    /// A cluster of `instances`, in order (the order is part of the
    /// placement). Connects lazily: a down instance fails only the
    /// requests for its keys.
    pub fn new(instances: &[Addr], config: &ClusterConfig) -> Result<Cluster, StoreError> {
        if instances.is_empty() {
            return Err(StoreError::Invalid("a cluster needs an instance".into()));
        }
        let pools = instances
            .iter()
            .map(|a| Pool::new(a.clone(), config).map(Arc::new))
            .collect::<Result<Vec<_>, _>>()?;
        let writers = pools
            .iter()
            .map(|p| Arc::new(Coalescer::new(p.clone(), config.max_size)))
            .collect();
        let list: Vec<String> = instances.iter().map(Addr::to_string).collect();
        Ok(Cluster {
            name: list.join(","),
            pools,
            writers,
            native: None,
            sharding: config.sharding,
            max_size: config.max_size,
        })
    }

    /// A Redis Cluster reached through `seeds`, for users who already run
    /// one: Redis places the keys (see [`native`] for the layout). Lists
    /// the cluster's primaries for the walker now; the data connection is
    /// made by the first request.
    pub async fn redis_cluster(
        seeds: &[Addr],
        config: &ClusterConfig,
    ) -> Result<Cluster, StoreError> {
        if seeds.is_empty() {
            return Err(StoreError::Invalid(
                "a Redis Cluster needs a seed node".into(),
            ));
        }
        let native = native::Native::connect(seeds, config).await?;
        let list: Vec<String> = seeds.iter().map(Addr::to_string).collect();
        Ok(Cluster {
            name: format!("redis cluster {}", list.join(",")),
            pools: Vec::new(),
            writers: Vec::new(),
            native: Some(native),
            sharding: config.sharding,
            max_size: config.max_size,
        })
    }

    /// Renames the cluster, for logs ("cluster 1").
    pub fn with_name(mut self, name: impl Into<String>) -> Cluster {
        self.name = format!("{} ({})", name.into(), self.name);
        self
    }

    /// The instance that holds `key`; `None` on a Redis Cluster, where
    /// Redis places keys.
    pub fn instance_of(&self, key: &[u8]) -> Option<&Addr> {
        if self.pools.is_empty() {
            return None;
        }
        Some(self.pools[self.shard_of(key)].addr())
    }

    /// Each instance's circuit breaker, in instance order.
    pub fn breakers(&self) -> impl Iterator<Item = (&Addr, &Breaker)> {
        self.pools.iter().map(|p| (p.addr(), p.breaker()))
    }

    fn shard_of(&self, key: &[u8]) -> usize {
        self.sharding.index(key, self.pools.len())
    }

    /// Indices of `keys` grouped by shard, in order within each group.
    fn by_shard<'a>(&self, keys: impl Iterator<Item = &'a [u8]>) -> Vec<Vec<usize>> {
        let mut groups = vec![Vec::new(); self.pools.len()];
        for (i, k) in keys.enumerate() {
            groups[self.shard_of(k)].push(i);
        }
        groups
    }
}

impl Replica for Cluster {
    fn name(&self) -> &str {
        &self.name
    }

    async fn apply(&self, ops: &[KeyOp]) -> Result<Vec<bool>, StoreError> {
        if let Some(native) = &self.native {
            return native.apply(ops).await;
        }
        per_shard(
            self,
            ops,
            |op| &op.key,
            |shard, batch| async move {
                let ops = batch.into_iter().cloned().collect();
                self.writers[shard].apply(ops).await
            },
        )
        .await
        .into_iter()
        .collect()
    }

    async fn select_each(
        &self,
        keys: &[Bytes],
        query: &Query,
    ) -> Vec<Result<Vec<Entry>, StoreError>> {
        if let Some(native) = &self.native {
            return native.select_each(keys, query).await;
        }
        per_shard(
            self,
            keys,
            |k| k,
            |shard, batch| async move { self.select_shard(shard, &batch, query).await },
        )
        .await
    }

    async fn read_states(&self, keys: &[(Bytes, Members)]) -> Vec<Result<KeyStates, StoreError>> {
        if let Some(native) = &self.native {
            return native.read_states(keys).await;
        }
        per_shard(
            self,
            keys,
            |(k, _)| k,
            |shard, batch| async move { self.states_shard(shard, &batch).await },
        )
        .await
    }

    fn shards(&self) -> usize {
        match &self.native {
            Some(native) => native.nodes().len(),
            None => self.pools.len(),
        }
    }

    fn shard_name(&self, shard: usize) -> String {
        if let Some(native) = &self.native {
            return native
                .nodes()
                .get(shard)
                .map(Addr::to_string)
                .unwrap_or_default();
        }
        self.pools
            .get(shard)
            .map(|p| p.addr().to_string())
            .unwrap_or_default()
    }

    async fn scan(
        &self,
        shard: usize,
        cursor: u64,
        count: usize,
    ) -> Result<(u64, Vec<Bytes>), StoreError> {
        if let Some(native) = &self.native {
            return native.scan(shard, cursor, count).await;
        }
        let pool = self
            .pools
            .get(shard)
            .ok_or_else(|| StoreError::Invalid(format!("no shard {shard}")))?;
        let mut pipe = Pipeline::new();
        pipe.ignore_errors();
        pipe.cmd("SCAN")
            .arg(cursor)
            .arg("COUNT")
            .arg(count.max(1))
            .arg("TYPE")
            .arg("zset");
        let values = pool.query(&pipe).await?;
        let reply = values
            .first()
            .ok_or_else(|| StoreError::Corrupt("no SCAN reply".into()))?;
        super::parse_scan(reply).ok_or_else(|| scripts::corrupt("SCAN", reply))
    }
}

impl Store for Cluster {
    async fn write(&self, kind: Kind, events: Vec<Event>) -> Result<usize, StoreError> {
        validate(&events)?;
        let ops: Vec<KeyOp> = events
            .into_iter()
            .map(|e| KeyOp::write(e.key, kind, e.score, e.member))
            .collect();
        let applied = Replica::apply(self, &ops).await?;
        Ok(applied.into_iter().filter(|&a| a).count())
    }

    async fn select(&self, keys: Vec<Bytes>, query: Query) -> Result<Vec<KeyEntries>, StoreError> {
        let results = self.select_each(&keys, &query).await;
        keys.into_iter()
            .zip(results)
            .map(|(k, r)| r.map(|entries| (k, entries)))
            .collect()
    }
}
