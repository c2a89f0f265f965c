//! `Endpoints`: one published snapshot of an Endpointer.

use std::sync::Arc;

use kit_endpoint::Error;

use crate::Instance;

/// The endpoints an [`Endpointer`](super::Endpointer) serves at one moment,
/// in instance order, and why there are none when it has been invalidated.
#[derive(Debug)]
pub struct Endpoints<S> {
    pub(super) entries: Vec<(Instance, S)>,
    pub(super) error: Option<Arc<Error>>,
    pub(super) stale: bool,
}

impl<S> Default for Endpoints<S> {
    fn default() -> Self {
        Endpoints {
            entries: Vec::new(),
            error: None,
            stale: false,
        }
    }
}

impl<S> Endpoints<S> {
    /// How many endpoints there are.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The endpoint at `index` (instance order).
    pub fn get(&self, index: usize) -> Option<&S> {
        self.entries.get(index).map(|(_, s)| s)
    }

    /// The instance at `index`.
    pub fn instance(&self, index: usize) -> Option<&Instance> {
        self.entries.get(index).map(|(i, _)| i)
    }

    /// The instances and their endpoints.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&Instance, &S)> {
        self.entries.iter().map(|(i, s)| (i, s))
    }

    /// The instances.
    pub fn instances(&self) -> impl ExactSizeIterator<Item = &Instance> {
        self.entries.iter().map(|(i, _)| i)
    }

    /// Whether these are the last good set kept while the registry fails.
    pub fn is_stale(&self) -> bool {
        self.stale
    }

    /// The registry's error: set while the set is stale, and after the
    /// Endpointer gave up on it.
    pub fn registry_error(&self) -> Option<&Error> {
        self.error.as_deref()
    }

    /// The error a caller gets when there is no endpoint: `Unavailable`,
    /// naming the registry's error when there is one.
    pub fn no_endpoint_error(&self) -> Error {
        match &self.error {
            Some(e) => Error::unavailable(format!("no endpoints: the registry failed: {e}")),
            None => Error::unavailable("no endpoints available"),
        }
    }
}
