//! Read repair: bringing replicas that differ to the winning state, from a
//! bounded, rate-limited queue, with hooks for metrics.
//!
//! A repair of some members of a key reads their states and the key's
//! watermark from every replica ([`Replica::read_states`], atomic per
//! replica), computes the winner by the core's rules (`merge::winner`:
//! the highest watermark, each member's highest state, deletes above
//! inserts at equal scores), and sends every replica that differs the
//! operations that bring it there (`merge::plan`). The winner is a
//! maximum, so it does not depend on the order of the replicas; it is
//! correct for negative scores (there is no "0.0" starting point, unlike
//! Roshi's) and ties; a replica whose read failed gets nothing (it would
//! only get redundant writes, as in Roshi) and is repaired later.
//! Operations go through the same write script as client writes, so a
//! repair that races with newer writes can never undo them.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use futures_util::future::join_all;
use kit_ratelimit::{Quota, RateLimiter};
use tokio::sync::mpsc;

use super::merge;
use super::replica::{KeyOp, Members, Replica};
use super::{Pending, RepairStrategy};

/// Hooks for repair metrics (Roshi's `repair.*` counters, with `written`
/// and `failed` actually reported). Every method has a no-op default.
pub trait RepairHooks: Send + Sync + 'static {
    /// `n` key-members were queued for repair.
    fn on_queued(&self, n: usize) {
        let _ = n;
    }
    /// `n` key-members were dropped: the queue was full.
    fn on_dropped(&self, n: usize) {
        let _ = n;
    }
    /// `n` repair operations were written to a replica.
    fn on_written(&self, n: usize) {
        let _ = n;
    }
    /// `n` repair operations (or reads of a key from a replica) failed.
    fn on_failed(&self, n: usize) {
        let _ = n;
    }
}

/// No hooks.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoRepairHooks;

impl RepairHooks for NoRepairHooks {}

impl<H: RepairHooks> RepairHooks for Arc<H> {
    fn on_queued(&self, n: usize) {
        (**self).on_queued(n);
    }
    fn on_dropped(&self, n: usize) {
        (**self).on_dropped(n);
    }
    fn on_written(&self, n: usize) {
        (**self).on_written(n);
    }
    fn on_failed(&self, n: usize) {
        (**self).on_failed(n);
    }
}

/// Repair hooks that count, for tests and simple exposition.
#[derive(Debug, Default)]
pub struct RepairCounters {
    queued: AtomicU64,
    dropped: AtomicU64,
    written: AtomicU64,
    failed: AtomicU64,
}

impl RepairCounters {
    /// Zeroed counters.
    pub fn new() -> RepairCounters {
        RepairCounters::default()
    }
    /// Key-members queued.
    pub fn queued(&self) -> u64 {
        self.queued.load(Ordering::Relaxed)
    }
    /// Key-members dropped.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
    /// Operations written.
    pub fn written(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }
    /// Operations or reads failed.
    pub fn failed(&self) -> u64 {
        self.failed.load(Ordering::Relaxed)
    }
}

impl RepairHooks for RepairCounters {
    fn on_queued(&self, n: usize) {
        self.queued.fetch_add(n as u64, Ordering::Relaxed);
    }
    fn on_dropped(&self, n: usize) {
        self.dropped.fetch_add(n as u64, Ordering::Relaxed);
    }
    fn on_written(&self, n: usize) {
        self.written.fetch_add(n as u64, Ordering::Relaxed);
    }
    fn on_failed(&self, n: usize) {
        self.failed.fetch_add(n as u64, Ordering::Relaxed);
    }
}

/// What one repair did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RepairOutcome {
    /// Operations written to replicas.
    pub written: usize,
    /// Operations whose write failed, plus key reads that failed.
    pub failed: usize,
}

/// Repairs `keys` (each with the members to repair) on every replica now.
pub(crate) async fn repair<R: Replica>(
    replicas: &[Arc<R>],
    keys: &[(Bytes, Members)],
    hooks: &dyn RepairHooks,
) -> RepairOutcome {
    if keys.is_empty() {
        return RepairOutcome::default();
    }
    let reads = join_all(replicas.iter().map(|r| r.read_states(keys))).await;
    let mut failed = 0;
    let mut ops: Vec<Vec<KeyOp>> = vec![Vec::new(); replicas.len()];
    for (k, (key, _)) in keys.iter().enumerate() {
        let snapshots: Vec<_> = reads
            .iter()
            .map(|r| r.get(k).and_then(|s| s.as_ref().ok()))
            .collect();
        failed += snapshots.iter().filter(|s| s.is_none()).count();
        let winner = merge::winner(snapshots.iter().flatten().copied());
        for (i, snapshot) in snapshots.iter().enumerate() {
            if let Some(snapshot) = snapshot {
                ops[i].extend(merge::plan(key, snapshot, &winner));
            }
        }
    }
    let writes = join_all(replicas.iter().zip(&ops).filter(|(_, o)| !o.is_empty()).map(
        |(r, o)| async move {
            let result = r.apply(o).await;
            if let Err(e) = &result {
                tracing::warn!(replica = r.name(), error = %e, ops = o.len(), "repair write failed");
            }
            (o.len(), result.is_ok())
        },
    ))
    .await;
    let written: usize = writes.iter().filter(|(_, ok)| *ok).map(|(n, _)| n).sum();
    failed += writes
        .iter()
        .filter(|(_, ok)| !*ok)
        .map(|(n, _)| n)
        .sum::<usize>();
    hooks.on_written(written);
    hooks.on_failed(failed);
    RepairOutcome { written, failed }
}

/// The sending side of the repair queue.
#[derive(Clone)]
pub(crate) struct RepairQueue {
    tx: mpsc::Sender<Vec<(Bytes, Members)>>,
    hooks: Arc<dyn RepairHooks>,
    pending: Pending,
}

impl RepairQueue {
    /// Starts the worker (on the current runtime) and returns the queue,
    /// or `None` for [`RepairStrategy::NoRepairs`].
    pub(crate) fn start<R: Replica>(
        replicas: Arc<[Arc<R>]>,
        strategy: RepairStrategy,
        capacity: usize,
        hooks: Arc<dyn RepairHooks>,
        pending: Pending,
    ) -> Option<RepairQueue> {
        let limiter = match strategy {
            RepairStrategy::NoRepairs => return None,
            RepairStrategy::AllRepairs => None,
            RepairStrategy::RateLimitedRepairs { keys_per_second } => {
                let rate = NonZeroU32::new(keys_per_second).unwrap_or(NonZeroU32::MIN);
                Some(RateLimiter::new(Quota::per_second(rate)))
            }
        };
        let (tx, rx) = mpsc::channel(capacity.max(1));
        tokio::spawn(worker(
            replicas,
            rx,
            limiter,
            hooks.clone(),
            pending.clone(),
        ));
        Some(RepairQueue { tx, hooks, pending })
    }

    /// Queues a repair, or drops it (and counts it) if the queue is full.
    pub(crate) fn push(&self, keys: Vec<(Bytes, Members)>) {
        let n: usize = keys.iter().map(|(_, m)| members_len(m)).sum();
        if n == 0 {
            return;
        }
        let guard = self.pending.start();
        match self.tx.try_send(keys) {
            Ok(()) => {
                guard.forget();
                self.hooks.on_queued(n);
            }
            Err(_) => self.hooks.on_dropped(n),
        }
    }
}

fn members_len(m: &Members) -> usize {
    match m {
        Members::All => 1,
        Members::Only(ms) => ms.len(),
    }
}

async fn worker<R: Replica>(
    replicas: Arc<[Arc<R>]>,
    mut rx: mpsc::Receiver<Vec<(Bytes, Members)>>,
    limiter: Option<RateLimiter>,
    hooks: Arc<dyn RepairHooks>,
    pending: Pending,
) {
    while let Some(keys) = rx.recv().await {
        if let Some(limiter) = &limiter {
            // One token per key-member, waiting for the bucket to refill.
            for _ in 0..keys.iter().map(|(_, m)| members_len(m)).sum::<usize>() {
                while let Err(wait) = limiter.check() {
                    tokio::time::sleep(wait).await;
                }
            }
        }
        repair(&replicas, &keys, &*hooks).await;
        pending.finish();
    }
}
