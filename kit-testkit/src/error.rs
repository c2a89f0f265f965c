//! Why a server could not be started.

use std::fmt;
use std::time::Duration;

/// Why a test server could not be started.
///
/// `Debug` prints the same text as `Display`, so `RedisServer::start().unwrap()`
/// fails a test with a message that says what to do.
pub enum LaunchError {
    /// The server's binary is not installed.
    Missing {
        /// The binary looked for.
        binary: &'static str,
        /// The Debian package that provides it.
        package: &'static str,
    },
    /// The process could not be spawned, or a file for it written.
    Io {
        /// What was being done.
        what: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The process exited or did not become ready in time.
    NotReady {
        /// The binary.
        binary: &'static str,
        /// How long it was given.
        waited: Duration,
        /// The last lines it logged.
        log: String,
    },
}

impl fmt::Display for LaunchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LaunchError::Missing { binary, package } => write!(
                f,
                "`{binary}` was not found on PATH or in /usr/sbin: install the Debian package \
                 `{package}` (apt-get install -y {package}), or run ./scripts/test, which installs it"
            ),
            LaunchError::Io { what, source } => write!(f, "{what}: {source}"),
            LaunchError::NotReady {
                binary,
                waited,
                log,
            } => write!(
                f,
                "`{binary}` did not become ready within {waited:?}; its last log lines:\n{log}"
            ),
        }
    }
}

impl fmt::Debug for LaunchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for LaunchError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LaunchError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}
