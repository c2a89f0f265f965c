//! The little an embedded store needs from a storage engine.

use std::path::Path;

use crate::store::StoreError;

/// Reads and writes inside one write transaction.
pub trait KvWrite {
    /// The value of `key`, seeing this transaction's own writes.
    fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;
    /// Sets `key` to `value`.
    fn put(&mut self, key: &[u8], value: &[u8]) -> Result<(), StoreError>;
    /// Removes `key`.
    fn remove(&mut self, key: &[u8]) -> Result<(), StoreError>;
    /// The first key in `[lo, hi)`, seeing this transaction's own writes.
    fn first(&mut self, lo: &[u8], hi: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;
}

/// A write transaction's body: called once, with the transaction.
pub type TxnBody<'a> = &'a mut dyn FnMut(&mut dyn KvWrite) -> Result<(), StoreError>;

/// A visitor of keys in a scan.
pub type Visit<'a> = &'a mut dyn FnMut(&[u8]) -> Result<(), StoreError>;

/// An ordered, transactional, durable key-value engine, as
/// [`EmbeddedStore`](super::EmbeddedStore) uses one: one writer at a time,
/// readers concurrent with it.
pub trait Engine: Send + Sync + Sized + 'static {
    /// Opens (or creates) the engine's files in `dir`, with a cache of
    /// about `cache_bytes`.
    fn open(dir: &Path, cache_bytes: usize) -> Result<Self, StoreError>;

    /// Runs `body` in one write transaction and commits it durably: when
    /// this returns `Ok`, the writes survive a crash. If `body` fails,
    /// nothing is written.
    fn write_durable(&self, body: TxnBody<'_>) -> Result<(), StoreError>;

    /// Visits the keys in `[lo, hi)` from the highest down, skipping `skip`
    /// and visiting at most `limit`, from one consistent snapshot.
    fn scan_rev(
        &self,
        lo: &[u8],
        hi: &[u8],
        skip: usize,
        limit: usize,
        visit: Visit<'_>,
    ) -> Result<(), StoreError>;
}
