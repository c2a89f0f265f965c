//! The one error type every kit crate shares.

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use crate::Code;

/// A type-erased error, as tower uses for middleware errors.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The error of every kit endpoint: a canonical [`Code`], a message, an
/// optional source and an optional retry-after hint.
///
/// Middleware and transports decide by [`Error::code`], never by downcasting
/// an inner error type: that keeps the concrete errors of one layer from
/// leaking through the generic layers around it.
///
/// The error is one pointer wide, so `Result<T, Error>` costs no more than
/// `Result<T, Box<_>>` on the success path.
///
/// ```
/// use kit_endpoint::{Code, Error};
/// use std::time::Duration;
///
/// let err = Error::resource_exhausted("rate limit exceeded")
///     .with_retry_after(Duration::from_millis(250));
/// assert_eq!(err.code(), Code::ResourceExhausted);
/// assert_eq!(err.retry_after(), Some(Duration::from_millis(250)));
/// assert_eq!(err.to_string(), "resource_exhausted: rate limit exceeded");
/// ```
pub struct Error {
    inner: Box<Inner>,
}

struct Inner {
    code: Code,
    message: Cow<'static, str>,
    source: Option<BoxError>,
    retry_after: Option<Duration>,
}

macro_rules! constructors {
    ($($(#[$doc:meta])* $name:ident => $code:ident,)*) => {
        $(
            $(#[$doc])*
            pub fn $name(message: impl Into<Cow<'static, str>>) -> Error {
                Error::new(Code::$code, message)
            }
        )*
    };
}

impl Error {
    /// An error with this code and message.
    pub fn new(code: Code, message: impl Into<Cow<'static, str>>) -> Error {
        Error {
            inner: Box::new(Inner {
                code,
                message: message.into(),
                source: None,
                retry_after: None,
            }),
        }
    }

    /// Wraps any error under a code, keeping it as the [`source`](std::error::Error::source)
    /// and taking its text as the message.
    pub fn from_source(code: Code, source: impl Into<BoxError>) -> Error {
        let source = source.into();
        let mut err = Error::new(code, source.to_string());
        err.inner.source = Some(source);
        err
    }

    constructors! {
        /// A [`Code::Cancelled`] error.
        cancelled => Cancelled,
        /// A [`Code::Unknown`] error.
        unknown => Unknown,
        /// A [`Code::InvalidArgument`] error.
        invalid_argument => InvalidArgument,
        /// A [`Code::DeadlineExceeded`] error.
        deadline_exceeded => DeadlineExceeded,
        /// A [`Code::NotFound`] error.
        not_found => NotFound,
        /// A [`Code::AlreadyExists`] error.
        already_exists => AlreadyExists,
        /// A [`Code::PermissionDenied`] error.
        permission_denied => PermissionDenied,
        /// A [`Code::ResourceExhausted`] error.
        resource_exhausted => ResourceExhausted,
        /// A [`Code::FailedPrecondition`] error.
        failed_precondition => FailedPrecondition,
        /// A [`Code::Aborted`] error.
        aborted => Aborted,
        /// A [`Code::OutOfRange`] error.
        out_of_range => OutOfRange,
        /// A [`Code::Unimplemented`] error.
        unimplemented => Unimplemented,
        /// A [`Code::Internal`] error.
        internal => Internal,
        /// A [`Code::Unavailable`] error.
        unavailable => Unavailable,
        /// A [`Code::DataLoss`] error.
        data_loss => DataLoss,
        /// A [`Code::Unauthenticated`] error.
        unauthenticated => Unauthenticated,
    }

    /// The canonical code.
    pub fn code(&self) -> Code {
        self.inner.code
    }

    /// The message, without the code.
    pub fn message(&self) -> &str {
        &self.inner.message
    }

    /// How long the caller should wait before retrying, when the callee knows
    /// (limiters set it; transports send it as `Retry-After`).
    pub fn retry_after(&self) -> Option<Duration> {
        self.inner.retry_after
    }

    /// Sets the retry-after hint.
    pub fn with_retry_after(mut self, after: Duration) -> Error {
        self.inner.retry_after = Some(after);
        self
    }

    /// Sets the source error.
    pub fn with_source(mut self, source: impl Into<BoxError>) -> Error {
        self.inner.source = Some(source.into());
        self
    }

    /// Replaces the code, keeping message, source and hint.
    pub fn with_code(mut self, code: Code) -> Error {
        self.inner.code = code;
        self
    }

    /// Converts a type-erased middleware error (tower's `BoxError`) into a kit
    /// error: a boxed kit `Error` comes back as itself, known tower and std
    /// errors get their natural code, and anything else becomes `Unknown`
    /// with the original kept as the source.
    pub fn from_boxed(err: BoxError) -> Error {
        let err = match err.downcast::<Error>() {
            Ok(err) => return *err,
            Err(err) => err,
        };
        let err = match err.downcast::<std::io::Error>() {
            Ok(err) => return Error::from(*err),
            Err(err) => err,
        };
        let code = if err.is::<tower::timeout::error::Elapsed>() {
            Code::DeadlineExceeded
        } else if err.is::<tower::load_shed::error::Overloaded>() {
            Code::ResourceExhausted
        } else {
            Code::Unknown
        };
        Error::from_source(code, err)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.inner.code, self.inner.message)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("code", &self.inner.code)
            .field("message", &self.inner.message);
        if let Some(after) = self.inner.retry_after {
            d.field("retry_after", &after);
        }
        if let Some(source) = &self.inner.source {
            d.field("source", source);
        }
        d.finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner
            .source
            .as_ref()
            .map(|s| s.as_ref() as &(dyn std::error::Error + 'static))
    }
}

impl From<BoxError> for Error {
    fn from(err: BoxError) -> Error {
        Error::from_boxed(err)
    }
}

impl From<std::io::Error> for Error {
    fn from(err: std::io::Error) -> Error {
        use std::io::ErrorKind as K;
        let code = match err.kind() {
            K::NotFound => Code::NotFound,
            K::PermissionDenied => Code::PermissionDenied,
            K::AlreadyExists => Code::AlreadyExists,
            K::InvalidInput | K::InvalidData => Code::InvalidArgument,
            K::TimedOut => Code::DeadlineExceeded,
            K::Interrupted => Code::Cancelled,
            K::ConnectionRefused
            | K::ConnectionReset
            | K::ConnectionAborted
            | K::NotConnected
            | K::BrokenPipe
            | K::AddrNotAvailable
            | K::HostUnreachable
            | K::NetworkUnreachable
            | K::NetworkDown
            | K::WouldBlock => Code::Unavailable,
            K::OutOfMemory | K::StorageFull | K::QuotaExceeded | K::FileTooLarge => {
                Code::ResourceExhausted
            }
            K::Unsupported => Code::Unimplemented,
            K::UnexpectedEof => Code::DataLoss,
            _ => Code::Internal,
        };
        Error::from_source(code, err)
    }
}

impl From<std::convert::Infallible> for Error {
    fn from(never: std::convert::Infallible) -> Error {
        match never {}
    }
}

macro_rules! invalid_argument_from {
    ($($ty:ty),*) => {
        $(
            impl From<$ty> for Error {
                fn from(err: $ty) -> Error {
                    Error::from_source(Code::InvalidArgument, err)
                }
            }
        )*
    };
}

invalid_argument_from!(
    std::num::ParseIntError,
    std::num::ParseFloatError,
    std::num::TryFromIntError,
    std::str::Utf8Error,
    std::string::FromUtf8Error,
    std::str::ParseBoolError
);

impl From<Code> for Error {
    /// An error with the code and the code's name as its message.
    fn from(code: Code) -> Error {
        Error::new(code, code.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn display_names_the_code() {
        assert_eq!(
            Error::unavailable("breaker open").to_string(),
            "unavailable: breaker open"
        );
        assert_eq!(
            Error::from(Code::NotFound).to_string(),
            "not_found: not_found"
        );
    }

    #[test]
    fn question_mark_converts_std_errors() {
        fn parse(s: &str) -> Result<i64, Error> {
            Ok(s.parse::<i64>()?)
        }
        let err = parse("x").unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument);
        assert!(err.source().is_some());

        fn io() -> Result<(), Error> {
            Err(std::io::Error::from(std::io::ErrorKind::ConnectionRefused))?
        }
        assert_eq!(io().unwrap_err().code(), Code::Unavailable);
    }

    #[test]
    fn boxed_kit_errors_come_back_unchanged() {
        let boxed: BoxError = Box::new(
            Error::resource_exhausted("slow down").with_retry_after(Duration::from_secs(2)),
        );
        let err = Error::from(boxed);
        assert_eq!(err.code(), Code::ResourceExhausted);
        assert_eq!(err.message(), "slow down");
        assert_eq!(err.retry_after(), Some(Duration::from_secs(2)));
    }

    #[test]
    fn boxed_tower_errors_get_their_codes() {
        let elapsed: BoxError = Box::new(tower::timeout::error::Elapsed::new());
        assert_eq!(Error::from(elapsed).code(), Code::DeadlineExceeded);
        let overloaded: BoxError = Box::new(tower::load_shed::error::Overloaded::new());
        assert_eq!(Error::from(overloaded).code(), Code::ResourceExhausted);
        let other: BoxError = "something odd".into();
        let err = Error::from(other);
        assert_eq!(err.code(), Code::Unknown);
        assert_eq!(err.message(), "something odd");
    }

    #[test]
    fn builders_keep_every_field() {
        let err = Error::internal("boom")
            .with_source(std::io::Error::other("disk"))
            .with_retry_after(Duration::from_millis(5))
            .with_code(Code::Unavailable);
        assert_eq!(err.code(), Code::Unavailable);
        assert_eq!(err.message(), "boom");
        assert_eq!(err.source().map(|s| s.to_string()).as_deref(), Some("disk"));
        assert_eq!(err.retry_after(), Some(Duration::from_millis(5)));
        let debug = format!("{err:?}");
        assert!(
            debug.contains("Unavailable") && debug.contains("boom"),
            "{debug}"
        );
    }

    #[test]
    fn error_is_one_pointer_wide() {
        assert_eq!(std::mem::size_of::<Error>(), std::mem::size_of::<usize>());
    }
}
