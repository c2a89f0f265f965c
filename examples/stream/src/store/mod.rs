//! Stores: where the sets live. One async [`Store`] trait, an in-memory
//! store and the embedded durable store.
//!
//! The trait is the seam between the service and its storage. It is small
//! on purpose, so that a Redis store (sets in Redis, one Lua script per
//! write) and a replicated farm (N stores, write quorum, read strategies)
//! can implement it too:
//! - [`Store::write`] applies a batch of inserts or deletes and returns how
//!   many took effect; [`Store::insert`] and [`Store::delete`] call it.
//! - [`Store::select`] reads each key (offset or cursor mode);
//!   [`Store::select_coalesced`] merges keys, with a default built on
//!   `select`.
//!
//! A batch with one invalid event is refused whole before anything is
//! written. Past that, each event is its own CRDT operation, as in Roshi: a
//! batch is not a transaction, and one that fails (or, in the embedded
//! store, is cut by a crash before it is acknowledged) may be partly
//! applied. Replaying it is always safe: writes are idempotent.
//!
//! Two ways to hold a store: generically (`S: Store`, zero cost), or as a
//! [`SharedStore`] (`Arc<dyn DynStore>`) when the kind is chosen at run time,
//! e.g. by a command-line flag.
//!
//! # Layout
//! - [`memory`][]: [`MemoryStore`].
//! - [`embedded`][]: [`EmbeddedStore`], durable, with group commit.
//! - [`error`][]: [`StoreError`].
//! - [`shared`][]: [`DynStore`] and [`SharedStore`].

use std::future::Future;

use bytes::Bytes;

use crate::crdt::{Entry, Event, Kind, Query, coalesce, coalesce_query};

pub mod embedded;
pub mod error;
pub mod memory;
pub mod shared;

#[cfg(test)]
mod tests;

pub use embedded::{EmbeddedStore, Options};
pub use error::StoreError;
pub use memory::MemoryStore;
pub use shared::{DynStore, SharedStore};

/// One key's select result: the key and its entries, highest first.
pub type KeyEntries = (Bytes, Vec<Entry>);

/// Storage for per-key LWW-element-sets.
///
/// Implementations must be safe to share between tasks (`&self` methods,
/// `Send + Sync`) and must follow [`crate::crdt`]'s rules exactly, so that
/// every store, and every replica of a farm, converges.
pub trait Store: Send + Sync + 'static {
    /// Applies `events` as inserts or deletes (by `kind`), in order, and
    /// returns how many took effect. When it returns `Ok`, the writes are
    /// as durable as the store promises (the embedded store: on disk).
    ///
    /// Stores may apply the writes when `write` is called and use the
    /// future only to wait for durability (both stores here do), so a
    /// dropped future does not undo them, as a cancelled request to Redis
    /// does not.
    fn write(
        &self,
        kind: Kind,
        events: Vec<Event>,
    ) -> impl Future<Output = Result<usize, StoreError>> + Send;

    /// Reads each of `keys` (in order; callers pass distinct keys) with
    /// `query`: visible members, score descending, member descending.
    fn select(
        &self,
        keys: Vec<Bytes>,
        query: Query,
    ) -> impl Future<Output = Result<Vec<KeyEntries>, StoreError>> + Send;

    /// Inserts `events`; returns how many took effect.
    fn insert(&self, events: Vec<Event>) -> impl Future<Output = Result<usize, StoreError>> + Send {
        self.write(Kind::Insert, events)
    }

    /// Deletes `events` (leaves tombstones); returns how many took effect.
    fn delete(&self, events: Vec<Event>) -> impl Future<Output = Result<usize, StoreError>> + Send {
        self.write(Kind::Delete, events)
    }

    /// Reads `keys` and merges them into one list, offset and limit applied
    /// after the merge (Roshi's `coalesce`).
    fn select_coalesced(
        &self,
        keys: Vec<Bytes>,
        query: Query,
    ) -> impl Future<Output = Result<Vec<Event>, StoreError>> + Send {
        async move {
            let (per_key, offset) = coalesce_query(&query);
            let limit = query.limit;
            let results = self.select(keys, per_key).await?;
            Ok(coalesce(results, offset, limit))
        }
    }
}

/// Checks a batch before anything is written: keys must fit the stores'
/// key encoding (at most `u16::MAX` bytes).
pub(crate) fn validate(events: &[Event]) -> Result<(), StoreError> {
    match events.iter().find(|e| e.key.len() > usize::from(u16::MAX)) {
        Some(e) => Err(StoreError::Invalid(format!(
            "a key of {} bytes is longer than the limit of {} bytes",
            e.key.len(),
            u16::MAX
        ))),
        None => Ok(()),
    }
}
