//! `Replica`: what the farm needs of one replica (one Redis cluster), and
//! the operations and snapshots that travel between them.

use std::future::Future;

use bytes::Bytes;

use crate::crdt::{Entry, Kind, Position, Query, Score, Set, State};
use crate::store::StoreError;

/// One operation on one key, as replicas apply them: a write of a state,
/// or a raise of the key's watermark (what repair sends so that a replica
/// that missed evictions drops what the others dropped).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// Insert or delete `member` at `state.score`, by the core's rule.
    Write {
        /// The member.
        member: Bytes,
        /// The state the write asks for.
        state: State,
    },
    /// Raise the watermark to `(score, member)` and drop every entry at or
    /// below it ([`Set::raise_watermark`]).
    Watermark {
        /// The watermark's score.
        score: Score,
        /// The watermark's member.
        member: Bytes,
    },
}

/// An [`Op`] on a key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyOp {
    /// The key.
    pub key: Bytes,
    /// The operation.
    pub op: Op,
}

impl KeyOp {
    /// A write of `kind` at `score`.
    pub fn write(
        key: impl Into<Bytes>,
        kind: Kind,
        score: Score,
        member: impl Into<Bytes>,
    ) -> KeyOp {
        KeyOp {
            key: key.into(),
            op: Op::Write {
                member: member.into(),
                state: State { score, kind },
            },
        }
    }

    /// A raise of the watermark to `(score, member)`.
    pub fn watermark(key: impl Into<Bytes>, score: Score, member: impl Into<Bytes>) -> KeyOp {
        KeyOp {
            key: key.into(),
            op: Op::Watermark {
                score,
                member: member.into(),
            },
        }
    }

    /// Applies the operation to a core [`Set`] (the reference the Redis
    /// scripts are tested against); returns whether it took effect.
    pub fn apply_to(&self, set: &mut Set) -> bool {
        match &self.op {
            Op::Write { member, state } => set.apply_state(member, *state),
            Op::Watermark { score, member } => {
                let w: Position = (*score, member[..].into());
                if set.watermark().is_some_and(|cur| *cur >= w) {
                    return false;
                }
                set.raise_watermark(w, &mut Vec::new());
                true
            }
        }
    }
}

/// Which members of a key to read the states of.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Members {
    /// Every member the key keeps (visible and tombstones).
    All,
    /// These members.
    Only(Vec<Bytes>),
}

/// A key's watermark and the states of some or all of its members, read
/// from one replica in one atomic step.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyStates {
    /// The highest evicted position, if any.
    pub watermark: Option<(Score, Bytes)>,
    /// The states of the members asked for that have one.
    pub states: Vec<(Bytes, State)>,
}

/// A replica of the whole key space: one Redis cluster (keys sharded over
/// its instances), or a test double.
///
/// Every method must follow the core's rules exactly ([`KeyOp::apply_to`]
/// is the reference), so that replicas converge.
pub trait Replica: Send + Sync + 'static {
    /// A short name for logs ("cluster 1 (a:1,b:2)").
    fn name(&self) -> &str;

    /// Applies `ops` in order; per op, whether it took effect.
    fn apply(&self, ops: &[KeyOp]) -> impl Future<Output = Result<Vec<bool>, StoreError>> + Send;

    /// Reads each key with `query`; one result per key, in order, so that
    /// one unreachable shard fails only its keys.
    fn select_each(
        &self,
        keys: &[Bytes],
        query: &Query,
    ) -> impl Future<Output = Vec<Result<Vec<Entry>, StoreError>>> + Send;

    /// Reads the watermark and member states of each key; one result per
    /// key, in order.
    fn read_states(
        &self,
        keys: &[(Bytes, Members)],
    ) -> impl Future<Output = Vec<Result<KeyStates, StoreError>>> + Send;

    /// How many shards (instances) the replica has, for the walker.
    fn shards(&self) -> usize;

    /// A name for one shard, for logs and checkpoints.
    fn shard_name(&self, shard: usize) -> String;

    /// One step of a scan over `shard`'s keys: the next cursor (0 when
    /// done) and the raw keys seen, each once per step.
    fn scan(
        &self,
        shard: usize,
        cursor: u64,
        count: usize,
    ) -> impl Future<Output = Result<(u64, Vec<Bytes>), StoreError>> + Send;
}
