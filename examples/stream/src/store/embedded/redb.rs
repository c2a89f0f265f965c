//! The redb engine.

use std::path::Path;

use redb::{Database, Durability, ReadableDatabase, ReadableTable, Table, TableDefinition};

use super::engine::{Engine, KvWrite, TxnBody, Visit};
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

struct Txn<'a, 't>(&'a mut Table<'t, &'static [u8], &'static [u8]>);

impl KvWrite for Txn<'_, '_> {
    fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.0.get(key).map_err(e)?.map(|v| v.value().to_vec()))
    }

    fn put(&mut self, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        self.0.insert(key, value).map_err(e)?;
        Ok(())
    }

    fn remove(&mut self, key: &[u8]) -> Result<(), StoreError> {
        self.0.remove(key).map_err(e)?;
        Ok(())
    }

    fn first(&mut self, lo: &[u8], hi: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let mut range = self.0.range::<&[u8]>(lo..hi).map_err(e)?;
        match range.next() {
            Some(item) => Ok(Some(item.map_err(e)?.0.value().to_vec())),
            None => Ok(None),
        }
    }
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

    fn write_durable(&self, body: TxnBody<'_>) -> Result<(), StoreError> {
        let mut txn = self.db.begin_write().map_err(e)?;
        txn.set_durability(Durability::Immediate).map_err(e)?;
        {
            let mut table = txn.open_table(TABLE).map_err(e)?;
            body(&mut Txn(&mut table))?;
        }
        txn.commit().map_err(e)
    }

    fn scan_rev(
        &self,
        lo: &[u8],
        hi: &[u8],
        skip: usize,
        limit: usize,
        visit: Visit<'_>,
    ) -> Result<(), StoreError> {
        let txn = self.db.begin_read().map_err(e)?;
        let table = txn.open_table(TABLE).map_err(e)?;
        for item in table
            .range::<&[u8]>(lo..hi)
            .map_err(e)?
            .rev()
            .skip(skip)
            .take(limit)
        {
            visit(item.map_err(e)?.0.value())?;
        }
        Ok(())
    }
}
