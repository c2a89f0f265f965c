//! The fjall engine (feature `fjall`), kept so the engine benchmark can be
//! rerun.

use std::path::Path;

use fjall::{
    KeyspaceCreateOptions, PersistMode, Readable, SingleWriterTxDatabase, SingleWriterTxKeyspace,
};

use super::engine::{Engine, KvWrite, TxnBody, Visit};
use crate::store::StoreError;

/// [fjall](https://docs.rs/fjall): an LSM-tree with a journal, in a
/// directory, with single-writer transactions.
pub struct Fjall {
    db: SingleWriterTxDatabase,
    ks: SingleWriterTxKeyspace,
}

impl std::fmt::Debug for Fjall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fjall").finish_non_exhaustive()
    }
}

fn e(err: fjall::Error) -> StoreError {
    StoreError::engine(err)
}

struct Txn<'a, 'd> {
    tx: &'a mut fjall::SingleWriterWriteTx<'d>,
    ks: &'a SingleWriterTxKeyspace,
}

impl KvWrite for Txn<'_, '_> {
    fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.tx.get(self.ks, key).map_err(e)?.map(|v| v.to_vec()))
    }

    fn put(&mut self, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        self.tx.insert(self.ks, key, value);
        Ok(())
    }

    fn remove(&mut self, key: &[u8]) -> Result<(), StoreError> {
        self.tx.remove(self.ks, key);
        Ok(())
    }

    fn first(&mut self, lo: &[u8], hi: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        match self.tx.range(self.ks, lo..hi).next() {
            Some(guard) => Ok(Some(guard.key().map_err(e)?.to_vec())),
            None => Ok(None),
        }
    }
}

impl Engine for Fjall {
    fn open(dir: &Path, cache_bytes: usize) -> Result<Fjall, StoreError> {
        let db = SingleWriterTxDatabase::builder(dir)
            .cache_size(u64::try_from(cache_bytes).unwrap_or(u64::MAX))
            .open()
            .map_err(e)?;
        let ks = db
            .keyspace("stream", KeyspaceCreateOptions::default)
            .map_err(e)?;
        Ok(Fjall { db, ks })
    }

    fn write_durable(&self, body: TxnBody<'_>) -> Result<(), StoreError> {
        let mut tx = self.db.write_tx().durability(Some(PersistMode::SyncAll));
        body(&mut Txn {
            tx: &mut tx,
            ks: &self.ks,
        })?;
        tx.commit().map_err(e)
    }

    fn scan_rev(
        &self,
        lo: &[u8],
        hi: &[u8],
        skip: usize,
        limit: usize,
        visit: Visit<'_>,
    ) -> Result<(), StoreError> {
        let snapshot = self.db.read_tx();
        for guard in snapshot
            .range(&self.ks, lo..hi)
            .rev()
            .skip(skip)
            .take(limit)
        {
            visit(&guard.key().map_err(e)?)?;
        }
        Ok(())
    }
}
