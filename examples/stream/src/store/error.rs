//! `StoreError`.

/// A store failure. Cheap to clone, so one failure can answer many callers.
#[derive(Clone, Debug, thiserror::Error)]
pub enum StoreError {
    /// The request can never succeed as it is (e.g. a key too long for the
    /// store's encoding).
    #[error("{0}")]
    Invalid(String),
    /// The storage engine failed (I/O, a full disk, a lock held by another
    /// process).
    #[error("storage engine: {0}")]
    Engine(#[source] std::sync::Arc<dyn std::error::Error + Send + Sync>),
    /// Stored data that does not decode: corruption, or another program's
    /// data directory.
    #[error("corrupt data: {0}")]
    Corrupt(String),
    /// The store was closed, or its writer stopped.
    #[error("store is closed")]
    Closed,
    /// A remote backend (Redis) failed or refused the request; the code
    /// says how: `Unavailable` (down, or its circuit breaker is open),
    /// `DeadlineExceeded` (no reply in time), `ResourceExhausted` (no free
    /// connection in time), `Internal` (it answered with an error).
    #[error("{message}")]
    Backend {
        /// The canonical code the error maps to.
        code: kit_endpoint::Code,
        /// What failed, naming the instance.
        message: std::sync::Arc<str>,
    },
}

impl StoreError {
    /// A [`StoreError::Backend`] error.
    pub fn backend(
        code: kit_endpoint::Code,
        message: impl Into<std::sync::Arc<str>>,
    ) -> StoreError {
        StoreError::Backend {
            code,
            message: message.into(),
        }
    }

    /// Wraps an engine's error.
    pub fn engine(err: impl std::error::Error + Send + Sync + 'static) -> StoreError {
        StoreError::Engine(std::sync::Arc::new(err))
    }
}

impl From<StoreError> for kit_endpoint::Error {
    /// `Invalid` is the client's fault (`InvalidArgument`); an engine
    /// failure or a closed store may pass (`Unavailable`); corrupt data is
    /// `DataLoss`.
    fn from(err: StoreError) -> kit_endpoint::Error {
        use kit_endpoint::{Code, Error};
        match err {
            StoreError::Invalid(m) => Error::invalid_argument(m),
            StoreError::Corrupt(_) => Error::from_source(Code::DataLoss, err),
            StoreError::Engine(_) | StoreError::Closed => {
                Error::from_source(Code::Unavailable, err)
            }
            StoreError::Backend { code, message } => Error::new(code, message.to_string()),
        }
    }
}
