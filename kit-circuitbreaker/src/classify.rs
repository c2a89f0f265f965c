//! Which results count as failures.
//!
//! By default the breaker decides by the error's canonical [`Code`]
//! ([`ByCode`]), so that a request the callee rightly refused (a bad
//! argument, a missing entity, our own rate limiter's `ResourceExhausted`)
//! never opens the breaker: only signs that the callee or the path to it is
//! unhealthy do. Go kit counts every error ([`AnyError`]), which is why, in
//! its addsvc, rate-limit rejections keep the breaker open for 60 s.
//!
//! Any `Fn(Result<&Resp, &Error>) -> Outcome` classifies too, for rules that
//! need the response (an HTTP 503 carried in an `Ok`) or a narrower set of
//! codes.

use kit_endpoint::{Code, Error};

/// What a finished call means for the breaker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// The callee is healthy.
    Success,
    /// The callee or the path to it is unhealthy.
    Failure,
    /// The call says nothing either way (Resilience4j's `ignoreExceptions`):
    /// it is counted nowhere, and in half-open it frees its probe slot
    /// without closing or opening the breaker.
    Ignore,
}

/// Decides the [`Outcome`] of a finished call.
pub trait Classify<Resp> {
    /// The outcome of `result`.
    fn classify(&self, result: Result<&Resp, &Error>) -> Outcome;
}

impl<Resp, F> Classify<Resp> for F
where
    F: Fn(Result<&Resp, &Error>) -> Outcome,
{
    fn classify(&self, result: Result<&Resp, &Error>) -> Outcome {
        self(result)
    }
}

/// The default: by [`Error::code`].
///
/// | result | outcome |
/// |---|---|
/// | `Ok(_)` | success |
/// | `Unavailable`, `DeadlineExceeded`, `Internal`, `Unknown`, `DataLoss` ([`Code::is_server_fault`]) | failure |
/// | `Cancelled` (the caller gave up: nothing is known of the callee) | ignored |
/// | any other code (`InvalidArgument`, `NotFound`, `AlreadyExists`, `PermissionDenied`, `Unauthenticated`, `FailedPrecondition`, `ResourceExhausted`, `Aborted`, `OutOfRange`, `Unimplemented`) | success: the callee answered |
///
/// ```
/// use kit_circuitbreaker::{ByCode, Classify, Outcome};
/// use kit_endpoint::Error;
///
/// let c = ByCode;
/// assert_eq!(Classify::<()>::classify(&c, Err(&Error::unavailable("down"))), Outcome::Failure);
/// assert_eq!(Classify::<()>::classify(&c, Err(&Error::resource_exhausted("rate limit exceeded"))), Outcome::Success);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ByCode;

impl ByCode {
    /// The outcome of an error with this code.
    pub const fn outcome(code: Code) -> Outcome {
        if code.is_server_fault() {
            Outcome::Failure
        } else if matches!(code, Code::Cancelled) {
            Outcome::Ignore
        } else {
            Outcome::Success
        }
    }
}

impl<Resp> Classify<Resp> for ByCode {
    #[inline]
    fn classify(&self, result: Result<&Resp, &Error>) -> Outcome {
        match result {
            Ok(_) => Outcome::Success,
            Err(e) => ByCode::outcome(e.code()),
        }
    }
}

/// Go kit's rule: every error is a failure, every response a success.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AnyError;

impl<Resp> Classify<Resp> for AnyError {
    #[inline]
    fn classify(&self, result: Result<&Resp, &Error>) -> Outcome {
        match result {
            Ok(_) => Outcome::Success,
            Err(_) => Outcome::Failure,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn by_code_matches_the_issue_and_the_endpoint_contract() {
        let failures = [
            Code::Unavailable,
            Code::DeadlineExceeded,
            Code::Internal,
            Code::Unknown,
            Code::DataLoss,
        ];
        let not_failures = [
            Code::InvalidArgument,
            Code::NotFound,
            Code::AlreadyExists,
            Code::PermissionDenied,
            Code::Unauthenticated,
            Code::FailedPrecondition,
            Code::ResourceExhausted,
        ];
        for code in Code::ALL {
            let got = Classify::<()>::classify(&ByCode, Err(&Error::from(code)));
            assert_eq!(got == Outcome::Failure, code.is_server_fault(), "{code}");
            assert_eq!(got == Outcome::Failure, failures.contains(&code), "{code}");
            if not_failures.contains(&code) {
                assert_eq!(got, Outcome::Success, "{code}");
            }
        }
        assert_eq!(ByCode::outcome(Code::Cancelled), Outcome::Ignore);
        assert_eq!(Classify::<u8>::classify(&ByCode, Ok(&1)), Outcome::Success);
    }

    #[test]
    fn any_error_and_closures() {
        let err = Error::invalid_argument("bad");
        assert_eq!(
            Classify::<()>::classify(&AnyError, Err(&err)),
            Outcome::Failure
        );
        let by_status = |r: Result<&u16, &Error>| match r {
            Ok(s) if *s >= 500 => Outcome::Failure,
            Ok(_) => Outcome::Success,
            Err(_) => Outcome::Ignore,
        };
        assert_eq!(by_status.classify(Ok(&503)), Outcome::Failure);
        assert_eq!(by_status.classify(Ok(&200)), Outcome::Success);
        assert_eq!(by_status.classify(Err(&err)), Outcome::Ignore);
    }
}
