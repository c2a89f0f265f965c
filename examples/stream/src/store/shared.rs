//! `DynStore` and `SharedStore`: a store chosen at run time.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;

use super::{KeyEntries, Store, StoreError};
use crate::crdt::{Event, Kind, Query};

/// A boxed, `Send` future.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The object-safe form of [`Store`], implemented for every store.
pub trait DynStore: Send + Sync + 'static {
    /// [`Store::write`], boxed.
    fn write_boxed(
        &self,
        kind: Kind,
        events: Vec<Event>,
    ) -> BoxFuture<'_, Result<usize, StoreError>>;
    /// [`Store::select`], boxed.
    fn select_boxed(
        &self,
        keys: Vec<Bytes>,
        query: Query,
    ) -> BoxFuture<'_, Result<Vec<KeyEntries>, StoreError>>;
}

impl<S: Store> DynStore for S {
    fn write_boxed(
        &self,
        kind: Kind,
        events: Vec<Event>,
    ) -> BoxFuture<'_, Result<usize, StoreError>> {
        Box::pin(self.write(kind, events))
    }

    fn select_boxed(
        &self,
        keys: Vec<Bytes>,
        query: Query,
    ) -> BoxFuture<'_, Result<Vec<KeyEntries>, StoreError>> {
        Box::pin(self.select(keys, query))
    }
}

/// Any store behind an `Arc<dyn DynStore>`: cheap to clone, and itself a
/// [`Store`].
///
/// ```
/// use stream::store::{MemoryStore, SharedStore, Store};
///
/// let store = SharedStore::new(MemoryStore::new());
/// let _also: SharedStore = store.clone();
/// ```
#[derive(Clone)]
pub struct SharedStore {
    inner: Arc<dyn DynStore>,
}

impl SharedStore {
    /// Shares `store`.
    pub fn new(store: impl Store) -> SharedStore {
        SharedStore {
            inner: Arc::new(store),
        }
    }
}

impl std::fmt::Debug for SharedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedStore").finish_non_exhaustive()
    }
}

impl Store for SharedStore {
    fn write(
        &self,
        kind: Kind,
        events: Vec<Event>,
    ) -> impl Future<Output = Result<usize, StoreError>> + Send {
        self.inner.write_boxed(kind, events)
    }

    fn select(
        &self,
        keys: Vec<Bytes>,
        query: Query,
    ) -> impl Future<Output = Result<Vec<KeyEntries>, StoreError>> + Send {
        self.inner.select_boxed(keys, query)
    }
}

impl<S: Store> Store for Arc<S> {
    fn write(
        &self,
        kind: Kind,
        events: Vec<Event>,
    ) -> impl Future<Output = Result<usize, StoreError>> + Send {
        (**self).write(kind, events)
    }

    fn select(
        &self,
        keys: Vec<Bytes>,
        query: Query,
    ) -> impl Future<Output = Result<Vec<KeyEntries>, StoreError>> + Send {
        (**self).select(keys, query)
    }
}
