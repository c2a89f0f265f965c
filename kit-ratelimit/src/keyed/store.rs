//! A keyed state store for governor with a hard cap on the number of keys.
//!
//! governor's own keyed stores (`DashMap`, `Mutex<HashMap>`) grow with every
//! new key until someone calls `retain_recent`; a flood of distinct keys
//! grows them without bound. governor lets a crate bring its own store
//! through the [`StateStore`] trait, and this is kit's:
//!
//! - **Sharded.** 64 shards (fewer for caps under 4096 keys), each a
//!   `Mutex<hashbrown::HashTable>`, so threads on different keys rarely meet.
//!   The key is hashed once with a per-process random SipHash key
//!   ([`RandomState`]): keys come from clients, and a flood of colliding keys
//!   must not turn lookups linear. Bits 32.. of that hash choose the shard;
//!   the table uses the low bits and the top seven, so the two never
//!   correlate.
//! - **Capped.** Each shard holds at most `max_keys / shards` keys, so the
//!   whole store holds at most `max_keys` (and at least `max_keys - 63`),
//!   whatever the traffic. A new key is refused when *its* shard is full;
//!   with random hashes, shards fill evenly.
//! - **Swept.** A key whose GCRA state lies in the past is indistinguishable
//!   from a key never seen, so forgetting it changes no decision. A shard
//!   drops such idle keys when a new key finds it full (if any can be idle
//!   yet: the shard tracks the earliest moment one can) and every
//!   `sweep_interval` when new keys arrive.
//! - **Full.** When a new key finds its shard full of active keys,
//!   [`OnFull`] decides: refuse the new key (the default), or evict the
//!   eighth of the shard's keys closest to idle (an amortised O(1) cost per
//!   new key).
//!
//! A refusal must travel back through governor, whose `measure_and_replace`
//! can only return the closure's own outcome. The store's key type is
//! therefore a `Probe`: the caller's key plus a cell that the store sets
//! when it refused the key; the closure's outcome for that call is
//! discarded.

use std::cell::Cell;
use std::hash::{BuildHasher, Hash, Hasher, RandomState};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use governor::clock::{Clock, Reference};
use governor::nanos::Nanos;
use governor::state::StateStore;
use governor::state::keyed::ShrinkableKeyedStateStore;
use hashbrown::HashTable;

/// What a keyed limiter does with a new key when it already tracks as many
/// keys as it may and none of them is idle.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum OnFull {
    /// Reject the request with `ResourceExhausted` (reason
    /// [`TooManyKeys`](crate::hooks::Reason::TooManyKeys)), retryable when
    /// the first tracked key goes idle. Known keys keep their limits, so a
    /// flood of new keys can neither reset the limits of known clients nor
    /// get through unlimited itself. The default.
    #[default]
    Reject,
    /// Forget the eighth of the shard's keys whose limits are closest to
    /// fresh, then admit the new key. New clients are never refused, but a
    /// flood of new keys makes the limiter forget, so evicted clients get a
    /// fresh burst.
    EvictIdlest,
}

/// The key of the store: the caller's key, and the answer to "was it
/// refused because the store is full?", with the retry-after hint.
#[derive(Clone, Debug)]
pub(crate) struct Probe<K> {
    pub(crate) key: K,
    pub(crate) refused: Cell<Option<Duration>>,
}

impl<K> Probe<K> {
    pub(crate) fn new(key: K) -> Probe<K> {
        Probe {
            key,
            refused: Cell::new(None),
        }
    }
}

impl<K: PartialEq> PartialEq for Probe<K> {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl<K: Eq> Eq for Probe<K> {}

impl<K: Hash> Hash for Probe<K> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.key.hash(state);
    }
}

/// The most shards a store has.
const MAX_SHARDS: usize = 64;
/// The fewest keys a shard holds, when the cap allows.
const MIN_PER_SHARD: usize = 64;

pub(crate) struct Store<K, C: Clock> {
    shards: Box<[Mutex<Shard<K>>]>,
    hasher: RandomState,
    per_shard: usize,
    on_full: OnFull,
    clock: C,
    start: C::Instant,
    /// Nanoseconds per token (GCRA's `t`): a key idle for this long past its
    /// theoretical arrival time is surely fresh.
    t: u64,
    sweep_every: u64,
}

struct Shard<K> {
    table: HashTable<Entry<K>>,
    /// When (store nanos) the shard was last swept.
    last_sweep: u64,
    /// No entry can be idle before this (store nanos): a lower bound kept
    /// on insert and made exact by each sweep. `u64::MAX` when empty.
    idle_from: u64,
}

struct Entry<K> {
    key: K,
    hash: u64,
    /// The GCRA theoretical arrival time, in nanos since governor's start;
    /// never zero once stored.
    tat: u64,
}

impl<K: Hash + Eq + Clone, C: Clock> Store<K, C> {
    pub(crate) fn new(
        max_keys: usize,
        on_full: OnFull,
        t: Duration,
        sweep_every: Duration,
        clock: C,
    ) -> Self {
        let max_keys = max_keys.max(1);
        // A power of two, with at least MIN_PER_SHARD keys in each shard so
        // that rounding loses little and the shards fill evenly.
        let shards = 1usize << (max_keys / MIN_PER_SHARD).clamp(1, MAX_SHARDS).ilog2();
        let start = clock.now();
        Store {
            shards: (0..shards)
                .map(|_| {
                    Mutex::new(Shard {
                        table: HashTable::new(),
                        last_sweep: 0,
                        idle_from: u64::MAX,
                    })
                })
                .collect(),
            hasher: RandomState::new(),
            per_shard: max_keys / shards,
            on_full,
            start,
            clock,
            t: nanos(t).max(1),
            sweep_every: nanos(sweep_every),
        }
    }

    /// The most keys the store holds.
    pub(crate) fn max_keys(&self) -> usize {
        self.per_shard * self.shards.len()
    }

    /// Bytes allocated by the shards' tables.
    #[cfg(test)]
    pub(crate) fn allocation_size(&self) -> usize {
        (0..self.shards.len())
            .map(|i| self.shard(i).table.allocation_size())
            .sum()
    }

    fn shard(&self, i: usize) -> MutexGuard<'_, Shard<K>> {
        // A panic in user code (K's Hash or Eq) cannot leave a table of
        // plain numbers inconsistent: carry on with it.
        self.shards[i]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn now(&self) -> u64 {
        nanos(self.clock.now().duration_since(self.start).into())
    }

    fn insert_new<T, F, E>(
        &self,
        shard: &mut Shard<K>,
        hash: u64,
        probe: &Probe<K>,
        f: F,
    ) -> Result<T, E>
    where
        F: Fn(Option<Nanos>) -> Result<(T, Nanos), E>,
    {
        let now = self.now();
        let full = shard.table.len() >= self.per_shard;
        let due = now.saturating_sub(shard.last_sweep) >= self.sweep_every;
        if (full && now >= shard.idle_from) || due {
            shard.sweep(now, self.t);
        }
        if shard.table.len() >= self.per_shard {
            match self.on_full {
                OnFull::Reject => {
                    let wait = shard.idle_from.saturating_sub(now).max(1);
                    probe.refused.set(Some(Duration::from_nanos(wait)));
                    return f(None).map(|(out, _)| out);
                }
                OnFull::EvictIdlest => shard.evict(self.per_shard.div_ceil(8), self.t),
            }
        }
        let (out, tat) = f(None)?;
        let tat = u64::from(tat).max(1);
        shard.idle_from = shard.idle_from.min(tat.saturating_add(self.t));
        let key = probe.key.clone();
        shard
            .table
            .insert_unique(hash, Entry { key, hash, tat }, |e| e.hash);
        Ok(out)
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

impl<K> Shard<K> {
    /// Drops every entry idle at `now`.
    fn sweep(&mut self, now: u64, t: u64) {
        self.retain_recent(now.saturating_sub(t), t);
        self.last_sweep = now;
    }

    /// Drops entries whose arrival time is at most `drop_below`.
    fn retain_recent(&mut self, drop_below: u64, t: u64) {
        let mut min = u64::MAX;
        self.table.retain(|e| {
            let keep = e.tat > drop_below;
            if keep {
                min = min.min(e.tat);
            }
            keep
        });
        self.idle_from = min.saturating_add(t);
        self.shrink();
    }

    /// Evicts the `k` entries closest to idle (the smallest arrival times).
    fn evict(&mut self, k: usize, t: u64) {
        let mut tats: Vec<u64> = self.table.iter().map(|e| e.tat).collect();
        let k = k.min(tats.len());
        if k == 0 {
            return;
        }
        let threshold = *tats.select_nth_unstable(k - 1).1;
        let below = tats.iter().filter(|&&tat| tat < threshold).count();
        let mut ties = k - below;
        let mut min = u64::MAX;
        self.table.retain(|e| {
            let evict = e.tat < threshold || (e.tat == threshold && ties > 0);
            if e.tat == threshold && evict {
                ties -= 1;
            }
            if !evict {
                min = min.min(e.tat);
            }
            !evict
        });
        self.idle_from = min.saturating_add(t);
    }

    /// Gives memory back after a sweep emptied most of the table.
    fn shrink(&mut self) {
        let len = self.table.len();
        if self.table.capacity() > 4 * len.max(16) {
            self.table.shrink_to(2 * len, |e| e.hash);
        }
    }
}

impl<K: Hash + Eq + Clone, C: Clock> StateStore for Store<K, C> {
    type Key = Probe<K>;

    fn measure_and_replace<T, F, E>(&self, probe: &Probe<K>, f: F) -> Result<T, E>
    where
        F: Fn(Option<Nanos>) -> Result<(T, Nanos), E>,
    {
        let hash = self.hasher.hash_one(&probe.key);
        let mut shard = self.shard((hash >> 32) as usize & (self.shards.len() - 1));
        if let Some(entry) = shard.table.find_mut(hash, |e| e.key == probe.key) {
            let (out, tat) = f(Some(Nanos::from(entry.tat)))?;
            entry.tat = u64::from(tat).max(1);
            return Ok(out);
        }
        self.insert_new(&mut shard, hash, probe, f)
    }
}

impl<K: Hash + Eq + Clone, C: Clock> ShrinkableKeyedStateStore<Probe<K>> for Store<K, C> {
    fn retain_recent(&self, drop_below: Nanos) {
        for i in 0..self.shards.len() {
            self.shard(i).retain_recent(drop_below.into(), self.t);
        }
    }

    fn shrink_to_fit(&self) {
        for i in 0..self.shards.len() {
            self.shard(i).table.shrink_to_fit(|e| e.hash);
        }
    }

    fn len(&self) -> usize {
        (0..self.shards.len())
            .map(|i| self.shard(i).table.len())
            .sum()
    }

    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests;
