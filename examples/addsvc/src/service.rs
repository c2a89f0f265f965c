//! The service: plain business logic, as Go kit's `addservice` package.
//!
//! Go kit: `pkg/addservice/service.go`.

use std::fmt;
use std::future::Future;

/// Go kit's `addservice.Service`: the business API, with no transport or
/// endpoint types in sight. [`BasicService`] implements it; so does the
/// endpoint [`Set`](crate::endpoints::Set), which makes any client a
/// `Service` too.
pub trait Service: Send + Sync {
    /// Sums two integers.
    fn sum(&self, a: i64, b: i64) -> impl Future<Output = Result<i64, ServiceError>> + Send;
    /// Concatenates two strings.
    fn concat(&self, a: &str, b: &str)
    -> impl Future<Output = Result<String, ServiceError>> + Send;
}

/// The longest result Concat allows, in bytes.
pub const MAX_CONCAT_LEN: usize = 10;

/// A business error, or (for clients) the transport failure that kept the
/// call from reaching the service. Business errors travel inside responses,
/// never as transport failures, so breakers and retries do not count them.
#[derive(Debug)]
pub enum ServiceError {
    /// Sum of 0 and 0.
    TwoZeroes,
    /// A sum outside the int32 range.
    IntOverflow,
    /// A concatenation longer than [`MAX_CONCAT_LEN`].
    MaxSizeExceeded,
    /// Any other error a remote service reported, by its text.
    Other(String),
    /// The call failed below the service: rate limited, breaker open,
    /// unreachable, deadline passed…
    Transport(kit_endpoint::Error),
}

impl PartialEq for ServiceError {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (ServiceError::Transport(a), ServiceError::Transport(b)) => {
                a.code() == b.code() && a.message() == b.message()
            }
            (ServiceError::Transport(_), _) | (_, ServiceError::Transport(_)) => false,
            (a, b) => a.to_string() == b.to_string(),
        }
    }
}

impl ServiceError {
    /// The error a message on the wire stands for.
    pub fn from_message(message: &str) -> ServiceError {
        match message {
            "can't sum two zeroes" => ServiceError::TwoZeroes,
            "integer overflow" => ServiceError::IntOverflow,
            "result exceeds maximum size" => ServiceError::MaxSizeExceeded,
            other => ServiceError::Other(other.to_owned()),
        }
    }
}

impl fmt::Display for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServiceError::TwoZeroes => f.write_str("can't sum two zeroes"),
            ServiceError::IntOverflow => f.write_str("integer overflow"),
            ServiceError::MaxSizeExceeded => f.write_str("result exceeds maximum size"),
            ServiceError::Other(message) => f.write_str(message),
            ServiceError::Transport(err) => fmt::Display::fmt(err, f),
        }
    }
}

impl std::error::Error for ServiceError {}

/// The service's implementation, with Go kit's rules.
#[derive(Clone, Copy, Debug, Default)]
pub struct BasicService;

impl BasicService {
    /// Sum, synchronously.
    pub fn sum_now(a: i64, b: i64) -> Result<i64, ServiceError> {
        if a == 0 && b == 0 {
            return Err(ServiceError::TwoZeroes);
        }
        let v = a.checked_add(b).ok_or(ServiceError::IntOverflow)?;
        if i32::try_from(v).is_err() {
            return Err(ServiceError::IntOverflow);
        }
        Ok(v)
    }

    /// Concat, synchronously.
    pub fn concat_now(a: &str, b: &str) -> Result<String, ServiceError> {
        if a.len() + b.len() > MAX_CONCAT_LEN {
            return Err(ServiceError::MaxSizeExceeded);
        }
        Ok(format!("{a}{b}"))
    }
}

impl Service for BasicService {
    async fn sum(&self, a: i64, b: i64) -> Result<i64, ServiceError> {
        BasicService::sum_now(a, b)
    }

    async fn concat(&self, a: &str, b: &str) -> Result<String, ServiceError> {
        BasicService::concat_now(a, b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn go_kit_rules() {
        assert_eq!(BasicService::sum_now(1, 2), Ok(3));
        assert_eq!(BasicService::sum_now(0, 0), Err(ServiceError::TwoZeroes));
        assert_eq!(BasicService::sum_now(0, 1), Ok(1));
        assert_eq!(
            BasicService::sum_now(i64::from(i32::MAX), 0),
            Ok(i64::from(i32::MAX))
        );
        assert_eq!(
            BasicService::sum_now(i64::from(i32::MAX), 1),
            Err(ServiceError::IntOverflow)
        );
        assert_eq!(
            BasicService::sum_now(i64::from(i32::MIN), -1),
            Err(ServiceError::IntOverflow)
        );
        assert_eq!(
            BasicService::sum_now(i64::MAX, 1),
            Err(ServiceError::IntOverflow)
        );
        assert_eq!(BasicService::concat_now("ab", "cd").as_deref(), Ok("abcd"));
        assert_eq!(
            BasicService::concat_now("12345", "67890").as_deref(),
            Ok("1234567890")
        );
        assert_eq!(
            BasicService::concat_now("12345", "678901"),
            Err(ServiceError::MaxSizeExceeded)
        );
        // bytes, as Go's len(), not characters
        assert_eq!(
            BasicService::concat_now("ééééé", "é"),
            Err(ServiceError::MaxSizeExceeded)
        );
    }

    #[test]
    fn messages_round_trip() {
        for e in [
            ServiceError::TwoZeroes,
            ServiceError::IntOverflow,
            ServiceError::MaxSizeExceeded,
        ] {
            assert_eq!(ServiceError::from_message(&e.to_string()), e);
        }
        assert_eq!(
            ServiceError::from_message("boom"),
            ServiceError::Other("boom".into())
        );
    }

    proptest! {
        #[test]
        fn sum_is_int32_or_an_error(a in any::<i64>(), b in any::<i64>()) {
            match BasicService::sum_now(a, b) {
                Ok(v) => {
                    prop_assert_eq!(Some(v), a.checked_add(b));
                    prop_assert!(i32::try_from(v).is_ok());
                }
                Err(ServiceError::TwoZeroes) => prop_assert!(a == 0 && b == 0),
                Err(ServiceError::IntOverflow) => {
                    prop_assert!(a.checked_add(b).is_none_or(|v| i32::try_from(v).is_err()));
                }
                Err(e) => prop_assert!(false, "unexpected {e}"),
            }
        }
    }
}
