//! `MemoryStore`: every set in memory, for tests and ephemeral use.

use std::collections::HashMap;
use std::future::Future;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, RwLock};

use bytes::Bytes;

use super::{KeyEntries, Store, StoreError, validate};
use crate::crdt::{DEFAULT_MAX_SIZE, Event, Kind, Query, Set, State};

/// How many independently locked shards the keys are spread over.
const SHARDS: usize = 32;

type Shard = RwLock<HashMap<Bytes, Set>>;

/// Every key's [`Set`] in memory, in lock-sharded hash maps. Nothing
/// survives a restart. Cheap to clone (clones share the data).
///
/// Writes and reads take a shard's lock for the time of a hash lookup and a
/// few B-tree steps, and never across an `.await`, so a plain `RwLock` is
/// the right tool.
///
/// ```
/// use stream::crdt::{Event, Query, Score};
/// use stream::store::{MemoryStore, Store};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), stream::store::StoreError> {
/// let store = MemoryStore::new();
/// let ev = Event::new("feed", Score::new(1.0).unwrap(), "hello");
/// assert_eq!(store.insert(vec![ev.clone(), ev]).await?, 1);
/// let got = store.select(vec!["feed".into()], Query::offset(0, 10)).await?;
/// assert_eq!(got[0].1[0].member, "hello");
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct MemoryStore {
    shards: Arc<[Shard]>,
    hasher: RandomState,
    max_size: usize,
}

impl Default for MemoryStore {
    fn default() -> MemoryStore {
        MemoryStore::new()
    }
}

impl MemoryStore {
    /// An empty store with the default bound per key.
    pub fn new() -> MemoryStore {
        MemoryStore::with_max_size(DEFAULT_MAX_SIZE)
    }

    /// An empty store keeping at most `max_size` entries per key.
    pub fn with_max_size(max_size: usize) -> MemoryStore {
        MemoryStore {
            shards: (0..SHARDS).map(|_| RwLock::new(HashMap::new())).collect(),
            hasher: RandomState::new(),
            max_size,
        }
    }

    fn shard(&self, key: &[u8]) -> &Shard {
        let i = self.hasher.hash_one(key) as usize % SHARDS;
        &self.shards[i]
    }

    /// Applies one write now (no `.await`); returns whether it took effect.
    pub fn apply(&self, kind: Kind, event: Event) -> bool {
        let mut shard = self
            .shard(&event.key)
            .write()
            .unwrap_or_else(|e| e.into_inner());
        let max_size = self.max_size;
        let set = shard
            .entry(event.key)
            .or_insert_with(|| Set::with_max_size(max_size));
        set.apply_state(
            &event.member,
            State {
                score: event.score,
                kind,
            },
        )
    }

    /// Runs `f` on `key`'s set (created empty if absent) under its shard's
    /// write lock, so that what `f` does (apply a write, queue the record of
    /// it) is ordered with every other write to that key.
    pub(crate) fn with_set<R>(&self, key: &Bytes, f: impl FnOnce(&mut Set) -> R) -> R {
        let mut shard = self.shard(key).write().unwrap_or_else(|e| e.into_inner());
        let max_size = self.max_size;
        let set = shard
            .entry(key.clone())
            .or_insert_with(|| Set::with_max_size(max_size));
        f(set)
    }

    /// A copy of one key's set, if it has one.
    pub fn get(&self, key: &[u8]) -> Option<Set> {
        let shard = self.shard(key).read().unwrap_or_else(|e| e.into_inner());
        shard.get(key).cloned()
    }

    /// How many keys have a set.
    pub fn len_keys(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.read().unwrap_or_else(|e| e.into_inner()).len())
            .sum()
    }
}

impl Store for MemoryStore {
    fn write(
        &self,
        kind: Kind,
        events: Vec<Event>,
    ) -> impl Future<Output = Result<usize, StoreError>> + Send {
        let result = validate(&events).map(|()| {
            events
                .into_iter()
                .map(|e| self.apply(kind, e))
                .filter(|&applied| applied)
                .count()
        });
        std::future::ready(result)
    }

    fn select(
        &self,
        keys: Vec<Bytes>,
        query: Query,
    ) -> impl Future<Output = Result<Vec<KeyEntries>, StoreError>> + Send {
        let results = keys
            .into_iter()
            .map(|key| {
                let shard = self.shard(&key).read().unwrap_or_else(|e| e.into_inner());
                let entries = shard
                    .get(&key)
                    .map(|set| set.select(&query))
                    .unwrap_or_default();
                drop(shard);
                (key, entries)
            })
            .collect();
        std::future::ready(Ok(results))
    }
}
