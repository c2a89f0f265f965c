//! The error of a call that failed on every attempt.

use std::fmt;

use kit_endpoint::{Code, Error};

/// Every attempt's error, oldest first: the [source](std::error::Error::source)
/// of the error [`Retry`](super::Retry) returns once it gives up.
///
/// ```
/// use kit_endpoint::{Code, Error};
/// use kit_sd::retry::error::Attempts;
///
/// let err = Attempts::into_error(
///     vec![Error::unavailable("a refused"), Error::unavailable("b refused")],
///     "attempts exhausted",
/// );
/// assert_eq!(err.code(), Code::Unavailable);
/// assert_eq!(
///     err.message(),
///     "attempts exhausted after 2 attempts: #2 unavailable: b refused (previously: #1 unavailable: a refused)"
/// );
/// let attempts = Attempts::of(&err).unwrap();
/// assert_eq!(attempts.errors().len(), 2);
/// ```
#[derive(Debug)]
pub struct Attempts {
    errors: Vec<Error>,
}

impl Attempts {
    /// The errors, oldest first.
    pub fn errors(&self) -> &[Error] {
        &self.errors
    }

    /// The attempts behind a kit error, if it came from [`Retry`](super::Retry).
    pub fn of(err: &Error) -> Option<&Attempts> {
        std::error::Error::source(err)?.downcast_ref::<Attempts>()
    }

    /// A kit error that lists every attempt: the code and retry hint of the
    /// last one (or `DeadlineExceeded` when `why` is the deadline, decided by
    /// the caller through the last error), `why` and each attempt's error in
    /// the message, and this list as its source. An empty list gives an
    /// `Unavailable` error saying only `why`.
    pub fn into_error(errors: Vec<Error>, why: &str) -> Error {
        let Some(last) = errors.last() else {
            return Error::unavailable(why.to_owned());
        };
        let mut message = format!(
            "{why} after {} attempt{}: #{} {last}",
            errors.len(),
            if errors.len() == 1 { "" } else { "s" },
            errors.len()
        );
        if errors.len() > 1 {
            message.push_str(" (previously: ");
            for (i, e) in errors[..errors.len() - 1].iter().enumerate() {
                if i > 0 {
                    message.push_str("; ");
                }
                message.push_str(&format!("#{} {e}", i + 1));
            }
            message.push(')');
        }
        let (code, retry_after) = (last.code(), last.retry_after());
        let mut err = Error::new(code, message);
        if let Some(after) = retry_after {
            err = err.with_retry_after(after);
        }
        err.with_source(Attempts { errors })
    }

    pub(super) fn deadline(errors: Vec<Error>) -> Error {
        Attempts::into_error(errors, "deadline reached").with_code(Code::DeadlineExceeded)
    }
}

impl fmt::Display for Attempts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "#{} {e}", i + 1)?;
        }
        Ok(())
    }
}

impl std::error::Error for Attempts {}
