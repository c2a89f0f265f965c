//! Why a load run could not be set up or finished.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

/// Why a load run, a server launch or an input could not be used.
///
/// The load itself never fails a run: refused connections, I/O errors,
/// timeouts and error statuses are counted in the [`Report`](crate::Report).
/// An `Error` means the run could not be set up (bad input, a missing
/// binary, a server that never came up) or its figures could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An input (URL, duration, header, body, scenario…) is not valid.
    #[error("invalid {what}: {message}")]
    Invalid {
        /// What was being read, e.g. `"duration"`.
        what: &'static str,
        /// Why it was rejected, quoting the input.
        message: String,
    },
    /// An operating-system call failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// A server under test did not accept connections in time.
    #[error("server `{program}` did not accept connections on {addr} within {waited:?}")]
    NotReady {
        /// The server's program.
        program: String,
        /// The address that was polled.
        addr: SocketAddr,
        /// How long it was given.
        waited: Duration,
    },
    /// A server under test exited before it accepted connections.
    #[error("server `{program}` exited before accepting connections on {addr}: {status}")]
    Exited {
        /// The server's program.
        program: String,
        /// The address that was polled.
        addr: SocketAddr,
        /// How it exited.
        status: std::process::ExitStatus,
    },
    /// `wrk` failed, or printed figures that could not be read.
    #[error("wrk: {0}")]
    Wrk(String),
    /// A load-generator thread panicked: a bug in kit-load.
    #[error("a load-generator thread panicked")]
    Panicked,
}

impl Error {
    /// An [`Error::Invalid`] for `what`.
    pub(crate) fn invalid(what: &'static str, message: impl Into<String>) -> Error {
        Error::Invalid {
            what,
            message: message.into(),
        }
    }

    /// An [`Error::Io`] saying what was being done.
    pub(crate) fn io(what: impl Into<String>, source: io::Error) -> Error {
        Error::Io {
            what: what.into(),
            source,
        }
    }
}
