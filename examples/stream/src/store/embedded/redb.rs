//! The redb engine (feature `redb`), kept so the engine benchmark can be
//! rerun.

use std::path::Path;

use redb::{Database, Durability, ReadableDatabase, ReadableTable, TableDefinition};

use super::engine::{Engine, Record, Visit};
use crate::store::StoreError;

const TABLE: TableDefinition<'static, &'static [u8], &'static [u8]> =
    TableDefinition::new("stream");

/// The file, inside the data directory.
const FILE: &str = "stream.redb";

/// [redb](https://docs.rs/redb): a copy-on-write B-tree in one file, with
/// durable commits.
pub struct Redb {
    db: Database,
}

impl std::fmt::Debug for Redb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redb").finish_non_exhaustive()
    }
}

fn e(err: impl Into<redb::Error>) -> StoreError {
    StoreError::engine(err.into())
}

impl Engine for Redb {
    fn open(dir: &Path, cache_bytes: usize) -> Result<Redb, StoreError> {
        std::fs::create_dir_all(dir).map_err(StoreError::engine)?;
        let db = Database::builder()
            .set_cache_size(cache_bytes)
            .create(dir.join(FILE))
            .map_err(e)?;
        let txn = db.begin_write().map_err(e)?;
        txn.open_table(TABLE).map_err(e)?;
        txn.commit().map_err(e)?;
        Ok(Redb { db })
    }

    fn write(&self, records: &[Record]) -> Result<(), StoreError> {
        let mut txn = self.db.begin_write().map_err(e)?;
        txn.set_durability(Durability::None).map_err(e)?;
        {
            let mut table = txn.open_table(TABLE).map_err(e)?;
            for record in records {
                match record {
                    Record::Put(k, v) => {
                        table.insert(k.as_slice(), v.as_slice()).map_err(e)?;
                    }
                    Record::Delete(k) => {
                        table.remove(k.as_slice()).map_err(e)?;
                    }
                }
            }
        }
        txn.commit().map_err(e)
    }

    /// An empty commit with `Durability::Immediate` makes every earlier
    /// non-durable commit durable.
    fn sync(&self) -> Result<(), StoreError> {
        let mut txn = self.db.begin_write().map_err(e)?;
        txn.set_durability(Durability::Immediate).map_err(e)?;
        txn.commit().map_err(e)
    }

    fn scan(&self, visit: Visit<'_>) -> Result<(), StoreError> {
        let txn = self.db.begin_read().map_err(e)?;
        let table = txn.open_table(TABLE).map_err(e)?;
        for item in table.iter().map_err(e)? {
            let (k, v) = item.map_err(e)?;
            visit(k.value(), v.value())?;
        }
        Ok(())
    }
}
