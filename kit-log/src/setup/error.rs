//! Why logging could not be set up.

/// Why [`Builder`](super::Builder) could not build or install a subscriber.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SetupError {
    /// The filter (`KIT_LOG`, or [`Builder::filter`](super::Builder::filter))
    /// is not valid `EnvFilter` syntax.
    #[error("bad log filter {filter:?}: {source}")]
    Filter {
        /// The filter as given.
        filter: String,
        /// What tracing-subscriber said about it.
        #[source]
        source: tracing_subscriber::filter::ParseError,
    },
    /// The format (`KIT_LOG_FORMAT`) is not `logfmt`, `json` or `pretty`.
    #[error("bad log format {0:?}: expected logfmt, json or pretty")]
    Format(String),
    /// A global subscriber was already installed.
    #[error("a global tracing subscriber is already installed")]
    AlreadyInstalled(#[source] tracing::subscriber::SetGlobalDefaultError),
}
