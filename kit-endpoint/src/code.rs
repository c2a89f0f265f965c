//! The canonical error codes shared by every kit crate.

use std::fmt;
use std::str::FromStr;

/// A canonical error code: the gRPC status codes, without `OK`.
///
/// Every kit crate decides by code rather than by error type: a circuit
/// breaker counts [`Code::Unavailable`] but not [`Code::InvalidArgument`], a
/// limiter rejects with [`Code::ResourceExhausted`], a transport maps the code
/// to an HTTP status or a gRPC status with one table. The numbers are gRPC's,
/// so the mapping to gRPC is the identity.
///
/// `OK` is left out on purpose: an [`Error`](crate::Error) always means
/// failure, so there is no way to build an error that claims success.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
#[repr(i32)]
pub enum Code {
    /// The operation was cancelled, typically by the caller.
    Cancelled = 1,
    /// An error with no better code; also what unknown numbers map to.
    Unknown = 2,
    /// The client sent a request that can never succeed as it is.
    InvalidArgument = 3,
    /// The deadline passed before the operation could complete.
    DeadlineExceeded = 4,
    /// A requested entity was not found.
    NotFound = 5,
    /// The entity a client tried to create already exists.
    AlreadyExists = 6,
    /// The caller is known but not allowed to do this.
    PermissionDenied = 7,
    /// A quota, rate or capacity ran out; retry later (see `retry_after`).
    ResourceExhausted = 8,
    /// The system is not in a state that allows the operation.
    FailedPrecondition = 9,
    /// The operation was aborted, typically by a concurrency conflict.
    Aborted = 10,
    /// The operation went past a valid range.
    OutOfRange = 11,
    /// The operation is not implemented or not supported.
    Unimplemented = 12,
    /// An invariant the system relies on was broken.
    Internal = 13,
    /// The service is unavailable right now; a retry may succeed.
    Unavailable = 14,
    /// Unrecoverable data loss or corruption.
    DataLoss = 15,
    /// The request has no valid credentials.
    Unauthenticated = 16,
}

impl Code {
    /// Every code, in numeric order.
    pub const ALL: [Code; 16] = [
        Code::Cancelled,
        Code::Unknown,
        Code::InvalidArgument,
        Code::DeadlineExceeded,
        Code::NotFound,
        Code::AlreadyExists,
        Code::PermissionDenied,
        Code::ResourceExhausted,
        Code::FailedPrecondition,
        Code::Aborted,
        Code::OutOfRange,
        Code::Unimplemented,
        Code::Internal,
        Code::Unavailable,
        Code::DataLoss,
        Code::Unauthenticated,
    ];

    /// The gRPC number of this code.
    pub const fn as_i32(self) -> i32 {
        self as i32
    }

    /// The code for a gRPC number. Numbers that are not an error code
    /// (including `0`, gRPC's `OK`) map to [`Code::Unknown`]; this never panics.
    pub const fn from_i32(n: i32) -> Code {
        match n {
            1 => Code::Cancelled,
            3 => Code::InvalidArgument,
            4 => Code::DeadlineExceeded,
            5 => Code::NotFound,
            6 => Code::AlreadyExists,
            7 => Code::PermissionDenied,
            8 => Code::ResourceExhausted,
            9 => Code::FailedPrecondition,
            10 => Code::Aborted,
            11 => Code::OutOfRange,
            12 => Code::Unimplemented,
            13 => Code::Internal,
            14 => Code::Unavailable,
            15 => Code::DataLoss,
            16 => Code::Unauthenticated,
            _ => Code::Unknown,
        }
    }

    /// The snake_case name used on the wire in JSON error bodies,
    /// e.g. `"invalid_argument"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Code::Cancelled => "cancelled",
            Code::Unknown => "unknown",
            Code::InvalidArgument => "invalid_argument",
            Code::DeadlineExceeded => "deadline_exceeded",
            Code::NotFound => "not_found",
            Code::AlreadyExists => "already_exists",
            Code::PermissionDenied => "permission_denied",
            Code::ResourceExhausted => "resource_exhausted",
            Code::FailedPrecondition => "failed_precondition",
            Code::Aborted => "aborted",
            Code::OutOfRange => "out_of_range",
            Code::Unimplemented => "unimplemented",
            Code::Internal => "internal",
            Code::Unavailable => "unavailable",
            Code::DataLoss => "data_loss",
            Code::Unauthenticated => "unauthenticated",
        }
    }

    /// Whether a failure with this code says the callee (or the path to it)
    /// is unhealthy, as opposed to the request being wrong.
    ///
    /// This is the default failure classification of kit's circuit breaker
    /// and retry: `Unavailable`, `DeadlineExceeded`, `Internal`, `Unknown`
    /// and `DataLoss`.
    pub const fn is_server_fault(self) -> bool {
        matches!(
            self,
            Code::Unavailable
                | Code::DeadlineExceeded
                | Code::Internal
                | Code::Unknown
                | Code::DataLoss
        )
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error returned when a string names no [`Code`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseCodeError(());

impl fmt::Display for ParseCodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not a canonical error code name")
    }
}

impl std::error::Error for ParseCodeError {}

impl FromStr for Code {
    type Err = ParseCodeError;

    /// Parses a code name in snake_case (`invalid_argument`), gRPC's
    /// upper case (`INVALID_ARGUMENT`) or CamelCase (`InvalidArgument`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Code::ALL
            .into_iter()
            .find(|c| {
                let name = c.as_str();
                name.eq_ignore_ascii_case(s)
                    || (s.len() < name.len()
                        && !s.contains('_')
                        && name.replace('_', "").eq_ignore_ascii_case(s))
            })
            .ok_or(ParseCodeError(()))
    }
}

impl From<Code> for i32 {
    fn from(code: Code) -> i32 {
        code.as_i32()
    }
}

impl From<i32> for Code {
    fn from(n: i32) -> Code {
        Code::from_i32(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn numbers_round_trip() {
        for code in Code::ALL {
            assert_eq!(Code::from_i32(code.as_i32()), code);
        }
        let numbers: Vec<i32> = Code::ALL.iter().map(|c| c.as_i32()).collect();
        assert_eq!(numbers, (1..=16).collect::<Vec<_>>());
    }

    #[test]
    fn ok_and_out_of_range_numbers_are_unknown() {
        for n in [0, 17, -1, i32::MIN, i32::MAX] {
            assert_eq!(Code::from_i32(n), Code::Unknown);
        }
    }

    #[test]
    fn names_parse_in_every_spelling() {
        for code in Code::ALL {
            assert_eq!(code.as_str().parse::<Code>(), Ok(code));
            assert_eq!(code.as_str().to_uppercase().parse::<Code>(), Ok(code));
            let camel = format!("{code:?}");
            assert_eq!(camel.parse::<Code>(), Ok(code));
        }
    }

    #[test]
    fn garbage_names_are_rejected() {
        for s in [
            "",
            "ok",
            "OK",
            "invalid",
            "invalid__argument",
            "_",
            "x".repeat(100).as_str(),
        ] {
            assert!(s.parse::<Code>().is_err(), "{s:?} parsed");
        }
    }

    proptest! {
        #[test]
        fn any_number_maps_without_panic(n in any::<i32>()) {
            let code = Code::from_i32(n);
            if (1..=16).contains(&n) {
                prop_assert_eq!(code.as_i32(), n);
            } else {
                prop_assert_eq!(code, Code::Unknown);
            }
        }

        #[test]
        fn any_string_parses_without_panic(s in ".*") {
            if let Ok(code) = s.parse::<Code>() {
                prop_assert_eq!(code.as_str().replace('_', ""), s.to_lowercase().replace('_', ""));
            }
        }
    }
}
