//! The CRDT core: per-key last-writer-wins element sets. No I/O.
//!
//! A key is bytes; each key holds a [`Set`] of members (bytes), each with a
//! [`State`]: `Added(score)` or `Removed(score)`, or absent. A write applies
//! when it is above the member's state in the order of `(score, kind)` with
//! [`Kind::Delete`] above [`Kind::Insert`] at equal scores (see [`State`] for
//! the table). States only grow, so replicas that see the same writes in any
//! order, with duplicates, end in the same state, and [`Set::merge`] is
//! commutative, associative and idempotent. The tests prove it with
//! proptest, with and without the size bound.
//!
//! Reads ([`Set::select`]) return visible members by score, descending,
//! ties broken by member bytes, descending, on every path: by offset, or by
//! exclusive [`Cursor`]s at any depth, through runs of equal scores and
//! negative scores. [`coalesce`] merges several keys into one list and
//! applies offset and limit after the merge.
//!
//! # The size bound, and how it differs from Roshi's
//!
//! Each key keeps at most `max_size` entries (default
//! [`DEFAULT_MAX_SIZE`], roshi-server's `-max.size`), **visible members and
//! tombstones counted together**. When a write makes the set one too big,
//! the lowest entry by position `(score, member)` is evicted and its
//! position becomes the key's **watermark**. Every later write at or below
//! the watermark is ignored, and the watermark only rises.
//!
//! This keeps the CRDT. Let `P(S)` be the positions of the members in the
//! unbounded state after a set of writes `S` (one position per member, its
//! highest score). The kept state is always "the unbounded state, filtered
//! to positions above `W`", where `W` is the `(max_size + 1)`-th highest
//! position of `P(S)`. That `W` depends only on `S`: adding writes can only
//! raise positions or add members, so it is monotone, and an entry evicted
//! early would have been evicted anyway. Ignoring writes below `W` loses
//! nothing the final state would keep: a write below `W` cannot lift its
//! member above `W`. Merging takes the higher watermark and the pointwise
//! maximum of the states, then evicts down to the bound, which yields the
//! state of the union of the writes.
//!
//! Roshi instead caps its `key+` and `key-` sorted sets separately, drops a
//! write below the minimum of a *full* target set, and forgets what it
//! evicts. Its result then depends on the order of the writes:
//! - an evicted tombstone no longer blocks an older insert, so a deleted
//!   member resurfaces;
//! - an evicted member re-inserted at its old score is accepted again once
//!   the set has room (after a delete), so it resurrects;
//! - a delete older than the oldest tombstone of a full `key-` is dropped,
//!   so the member it should hide stays visible;
//! - whether an insert is dropped depends on how full the set was when it
//!   arrived.
//!
//! The price of the watermark: a key with many tombstones shows fewer than
//! `max_size` visible members, and a late write below the watermark is
//! dropped even when it is newer than what the member had (as in Roshi,
//! where a write below a full set's minimum is dropped too; here the rule
//! is the same on every replica whatever the order).
//!
//! # Layout
//! - [`score`][]: [`Score`], a finite `f64` with a total order.
//! - [`state`][]: [`Kind`] and [`State`], the write rule.
//! - [`set`][]: [`Set`], one key's bounded set.
//! - [`select`][]: [`Query`], [`Range`], [`Cursor`], [`Set::select`] and [`coalesce`].

pub mod score;
pub mod select;
pub mod set;
pub mod state;

#[cfg(test)]
mod tests;

pub use score::{NonFiniteScore, Score};
pub use select::{Cursor, Entry, Event, NanCursor, Query, Range, coalesce, coalesce_query};
pub use set::{DEFAULT_MAX_SIZE, Member, Position, Set};
pub use state::{Kind, State};
