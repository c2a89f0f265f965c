//! The fjall engine, the default.

use std::path::Path;

use fjall::{Database, Keyspace, KeyspaceCreateOptions, PersistMode};

use super::engine::{Engine, Record, Visit};
use crate::store::StoreError;

/// The largest memtable (fjall's default is 64 MiB).
const MEMTABLE_BYTES: u64 = 16 << 20;

/// [fjall](https://docs.rs/fjall): an LSM-tree with a journal, in a
/// directory.
pub struct Fjall {
    db: Database,
    ks: Keyspace,
}

impl std::fmt::Debug for Fjall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fjall").finish_non_exhaustive()
    }
}

fn e(err: fjall::Error) -> StoreError {
    StoreError::engine(err)
}

impl Engine for Fjall {
    fn open(dir: &Path, cache_bytes: usize) -> Result<Fjall, StoreError> {
        let db = Database::builder(dir)
            .cache_size(u64::try_from(cache_bytes).unwrap_or(u64::MAX))
            .open()
            .map_err(e)?;
        // Memtables hold what is not yet flushed to tables; reads come from
        // the in-memory sets, so small memtables only cost more flushes.
        let options = || KeyspaceCreateOptions::default().max_memtable_size(MEMTABLE_BYTES);
        let ks = db.keyspace("stream", options).map_err(e)?;
        Ok(Fjall { db, ks })
    }

    fn write(&self, records: &[Record]) -> Result<(), StoreError> {
        let mut batch = self.db.batch().durability(None);
        for record in records {
            match record {
                Record::Put(k, v) => batch.insert(&self.ks, k.as_slice(), v.as_slice()),
                Record::Delete(k) => batch.remove(&self.ks, k.as_slice()),
            }
        }
        batch.commit().map_err(e)
    }

    fn sync(&self) -> Result<(), StoreError> {
        self.db.persist(PersistMode::SyncData).map_err(e)
    }

    fn scan(&self, visit: Visit<'_>) -> Result<(), StoreError> {
        for guard in self.ks.iter() {
            let (k, v) = guard.into_inner().map_err(e)?;
            visit(&k, &v)?;
        }
        Ok(())
    }
}
