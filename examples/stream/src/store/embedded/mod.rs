//! `EmbeddedStore`: the default store, durable, in a data directory.
//!
//! # Engine
//!
//! ENGINE_CHOICE
//!
//! # Durability
//!
//! Every write goes through one writer thread with **group commit** (see
//! the `writer` module): concurrent batches share one transaction and one
//! fsync, and a caller's `write` returns only after the transaction that
//! holds its batch is durably committed. So every acknowledged write
//! survives `kill -9` and power loss (as far as the disk honours fsync);
//! `tests/crash.rs` kills a writer process mid-load and checks it.
//! A batch is all-or-nothing: it is in one transaction.
//!
//! # Reads
//!
//! A select is a reverse range scan per key over one consistent snapshot,
//! at most `offset + limit` rows long. Scans run on the calling task: they
//! are short, bounded, and served from the engine's cache when hot, which
//! costs less than a hop to a blocking thread.
//!
//! # Layout
//! - `layout`: how sets map onto one ordered table.
//! - [`engine`][]: the [`Engine`] trait, [`Redb`], and `Fjall` (feature `fjall`).
//! - `writer`: the writer thread, group commit, the write rule on disk.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::Sender;
use std::thread::JoinHandle;

use bytes::Bytes;
use tokio::sync::oneshot;

use super::{KeyEntries, Store, StoreError, validate};
use crate::crdt::select::{cursor_bounds, ordered};
use crate::crdt::{DEFAULT_MAX_SIZE, Entry, Event, Kind, Query, Range};

pub mod engine;
#[cfg(feature = "fjall")]
mod fjall;
mod layout;
mod redb;
mod writer;

pub use engine::Engine;
#[cfg(feature = "fjall")]
pub use fjall::Fjall;
pub use redb::Redb;

/// Settings of an [`EmbeddedStore`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// The bound on entries per key (default 10,000, Roshi's `-max.size`).
    pub max_size: usize,
    /// The engine's cache, in bytes (default 256 MiB).
    pub cache_bytes: usize,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            max_size: DEFAULT_MAX_SIZE,
            cache_bytes: 256 << 20,
        }
    }
}

/// The durable store, on the engine `E` (by default [`Redb`]). Cheap to
/// clone; the last clone dropped stops the writer and closes the files.
///
/// ```
/// use stream::crdt::{Event, Query, Score};
/// use stream::store::{EmbeddedStore, Store};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), stream::store::StoreError> {
/// let dir = tempfile::tempdir().unwrap();
/// let store: EmbeddedStore = EmbeddedStore::open(dir.path())?;
/// store.insert(vec![Event::new("feed", Score::new(2.0).unwrap(), "b")]).await?;
/// drop(store);
/// let store: EmbeddedStore = EmbeddedStore::open(dir.path())?; // reopened
/// let got = store.select(vec!["feed".into()], Query::offset(0, 10)).await?;
/// assert_eq!(got[0].1[0].member, "b");
/// # Ok(()) }
/// ```
pub struct EmbeddedStore<E: Engine = Redb> {
    inner: Arc<Inner<E>>,
}

struct Inner<E> {
    engine: Arc<E>,
    dir: PathBuf,
    /// `None` only while dropping.
    queue: Option<Sender<writer::WriteRequest>>,
    /// Joined on drop, so the files are closed when the store is gone.
    writer: Option<JoinHandle<()>>,
}

impl<E> Drop for Inner<E> {
    fn drop(&mut self) {
        // Closing the queue ends the writer's loop once it has answered
        // what was queued.
        self.queue.take();
        if let Some(handle) = self.writer.take() {
            let _ = handle.join();
        }
    }
}

impl<E: Engine> Clone for EmbeddedStore<E> {
    fn clone(&self) -> Self {
        EmbeddedStore {
            inner: self.inner.clone(),
        }
    }
}

impl<E: Engine> std::fmt::Debug for EmbeddedStore<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedStore")
            .field("engine", &std::any::type_name::<E>())
            .field("dir", &self.inner.dir)
            .finish()
    }
}

impl<E: Engine> EmbeddedStore<E> {
    /// Opens (or creates) the store in `dir` with default [`Options`].
    pub fn open(dir: impl AsRef<Path>) -> Result<EmbeddedStore<E>, StoreError> {
        EmbeddedStore::open_with(dir, Options::default())
    }

    /// Opens (or creates) the store in `dir`.
    pub fn open_with(
        dir: impl AsRef<Path>,
        options: Options,
    ) -> Result<EmbeddedStore<E>, StoreError> {
        let dir = dir.as_ref().to_path_buf();
        let engine = Arc::new(E::open(&dir, options.cache_bytes)?);
        let (queue, writer) = writer::spawn(engine.clone(), options.max_size)?;
        Ok(EmbeddedStore {
            inner: Arc::new(Inner {
                engine,
                dir,
                queue: Some(queue),
                writer: Some(writer),
            }),
        })
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// The engine, to read from directly.
    pub fn get_ref(&self) -> &E {
        &self.inner.engine
    }

    fn select_key(&self, key: &[u8], query: &Query) -> Result<Vec<Entry>, StoreError> {
        let prefix = layout::prefix(key);
        let (lo, hi, skip) = match &query.range {
            Range::Offset(offset) => {
                let (lo, hi) = layout::tag_range(&prefix, layout::VISIBLE);
                (lo, hi, *offset)
            }
            Range::Cursor { start, stop } => {
                let Some((lower, upper)) = cursor_bounds(start.as_ref(), stop.as_ref()) else {
                    return Ok(Vec::new());
                };
                if !ordered(&lower, &upper) {
                    return Ok(Vec::new());
                }
                let (mut lo, mut hi) = layout::tag_range(&prefix, layout::VISIBLE);
                if let std::ops::Bound::Excluded((s, m)) = lower {
                    // The smallest row strictly above the stop position.
                    lo = layout::index_row(&prefix, Kind::Insert, s, &m);
                    lo.push(0);
                }
                if let std::ops::Bound::Excluded((s, m)) = upper {
                    hi = layout::index_row(&prefix, Kind::Insert, s, &m);
                }
                (lo, hi, 0)
            }
        };
        let mut entries = Vec::new();
        if lo >= hi || query.limit == 0 {
            return Ok(entries);
        }
        self.inner
            .engine
            .scan_rev(&lo, &hi, skip, query.limit, &mut |row| {
                let (score, member) = layout::decode_index(prefix.len(), row)?;
                entries.push(Entry { score, member });
                Ok(())
            })?;
        Ok(entries)
    }
}

impl<E: Engine> Store for EmbeddedStore<E> {
    fn write(
        &self,
        kind: Kind,
        events: Vec<Event>,
    ) -> impl Future<Output = Result<usize, StoreError>> + Send {
        let queued = validate(&events).and_then(|()| {
            let (reply, answer) = oneshot::channel();
            let queue = self.inner.queue.as_ref().ok_or(StoreError::Closed)?;
            queue
                .send(writer::WriteRequest {
                    kind,
                    events,
                    reply,
                })
                .map_err(|_| StoreError::Closed)?;
            Ok(answer)
        });
        async move { queued?.await.map_err(|_| StoreError::Closed)? }
    }

    fn select(
        &self,
        keys: Vec<Bytes>,
        query: Query,
    ) -> impl Future<Output = Result<Vec<KeyEntries>, StoreError>> + Send {
        let result = keys
            .into_iter()
            .map(|key| {
                let entries = self.select_key(&key, &query)?;
                Ok((key, entries))
            })
            .collect();
        std::future::ready(result)
    }
}
