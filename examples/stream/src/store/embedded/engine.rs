//! The little an embedded store needs from a storage engine: durable
//! batches of puts and deletes, and one scan at open.

use std::path::Path;

use crate::store::StoreError;

/// One change to a row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Record {
    /// Set a row.
    Put(Vec<u8>, Vec<u8>),
    /// Remove a row.
    Delete(Vec<u8>),
}

/// A visitor of `(key, value)` rows.
pub type Visit<'a> = &'a mut dyn FnMut(&[u8], &[u8]) -> Result<(), StoreError>;

/// A durable, ordered key-value engine, as
/// [`EmbeddedStore`](super::EmbeddedStore) uses one.
pub trait Engine: Send + Sync + Sized + 'static {
    /// Opens (or creates) the engine's files in `dir`, with a cache of
    /// about `cache_bytes`.
    fn open(dir: &Path, cache_bytes: usize) -> Result<Self, StoreError>;

    /// Writes `records` in order, atomically, not yet durably: if it fails,
    /// none of them may be applied.
    fn write(&self, records: &[Record]) -> Result<(), StoreError>;

    /// Makes every write that returned before this call durable: when it
    /// returns `Ok`, they survive a crash. It may run while another thread
    /// is in [`write`](Engine::write).
    fn sync(&self) -> Result<(), StoreError>;

    /// [`write`](Engine::write), then [`sync`](Engine::sync).
    fn write_durable(&self, records: &[Record]) -> Result<(), StoreError> {
        self.write(records)?;
        self.sync()
    }

    /// Visits every row, in key order.
    fn scan(&self, visit: Visit<'_>) -> Result<(), StoreError>;
}
