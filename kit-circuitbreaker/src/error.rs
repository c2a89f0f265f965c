//! The error a breaker returns when it refuses a call.
//!
//! A refusal is a kit [`Error`] with code `Unavailable`, so transports and
//! retries treat it like any unavailable callee, and with a [`Rejected`] as
//! its source, so code that must tell "the breaker refused" from "the callee
//! said unavailable" (a retry that should try another instance at once) can
//! check `err.source().is_some_and(|s| s.is::<Rejected>())`.

use std::fmt;
use std::time::Duration;

use kit_endpoint::Error;

use crate::State;

/// The source of a refusal: the state that refused, and when the breaker
/// will probe again if it knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rejected {
    /// Milliseconds until the probe, rounded up; `NO_RETRY` when unknown.
    /// Kept to 16 bytes in all, so refusals move cheaply.
    retry_in_ms: u64,
    probes: u32,
    state: State,
}

const NO_RETRY: u64 = u64::MAX;

impl Rejected {
    pub(crate) fn open(retry_in: Duration) -> Rejected {
        // Round up to the millisecond so the message never says "0ns" while open.
        let ms = retry_in.as_nanos().div_ceil(1_000_000);
        Rejected {
            retry_in_ms: u64::try_from(ms).unwrap_or(NO_RETRY - 1).min(NO_RETRY - 1),
            probes: 0,
            state: State::Open,
        }
    }

    pub(crate) fn probing(probes: u32) -> Rejected {
        Rejected {
            retry_in_ms: NO_RETRY,
            probes,
            state: State::HalfOpen,
        }
    }

    pub(crate) fn forced() -> Rejected {
        Rejected {
            retry_in_ms: NO_RETRY,
            probes: 0,
            state: State::ForcedOpen,
        }
    }

    /// The state that refused the call: open, half-open (every probe slot
    /// taken) or forced open.
    pub fn state(&self) -> State {
        self.state
    }

    /// How long until the breaker admits a probe, when it is open.
    pub fn retry_in(&self) -> Option<Duration> {
        (self.retry_in_ms != NO_RETRY).then(|| Duration::from_millis(self.retry_in_ms))
    }

    /// The kit error for this refusal: `Unavailable`, with a retry-after
    /// hint when open, and `self` as its source.
    pub fn into_error(self) -> Error {
        let err = Error::unavailable(self.to_string());
        let err = match self.retry_in() {
            Some(after) => err.with_retry_after(after),
            None => err,
        };
        err.with_source(self)
    }
}

impl fmt::Display for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.state, self.retry_in()) {
            (State::Open, Some(after)) => {
                write!(
                    f,
                    "circuit breaker is open; it will probe again in {after:?}"
                )
            }
            (State::HalfOpen, _) => write!(
                f,
                "circuit breaker is half-open and its {} probe slot(s) are in use",
                self.probes
            ),
            _ => f.write_str("circuit breaker is forced open"),
        }
    }
}

impl std::error::Error for Rejected {}

impl From<Rejected> for Error {
    fn from(r: Rejected) -> Error {
        r.into_error()
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use kit_endpoint::Code;

    use super::*;

    #[test]
    fn open_says_when_it_will_probe() {
        let err = Rejected::open(Duration::from_micros(4_999_001)).into_error();
        assert_eq!(err.code(), Code::Unavailable);
        assert_eq!(
            err.message(),
            "circuit breaker is open; it will probe again in 5s"
        );
        assert_eq!(err.retry_after(), Some(Duration::from_secs(5)));
        let source = err.source().and_then(|s| s.downcast_ref::<Rejected>());
        assert_eq!(source.map(Rejected::state), Some(State::Open));
    }

    #[test]
    fn other_refusals() {
        let err = Error::from(Rejected::probing(2));
        assert_eq!(
            err.message(),
            "circuit breaker is half-open and its 2 probe slot(s) are in use"
        );
        assert_eq!(err.retry_after(), None);
        let err = Error::from(Rejected::forced());
        assert_eq!(err.message(), "circuit breaker is forced open");
        assert!(
            Rejected::open(Duration::from_nanos(1))
                .to_string()
                .ends_with("1ms")
        );
    }
}
