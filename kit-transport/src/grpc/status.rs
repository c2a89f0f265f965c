//! kit `Error` ↔ `tonic::Status`.
//!
//! The code is the same number both ways. A retry hint travels as
//! `grpc-retry-pushback-ms` metadata, the header gRPC's retry design
//! (gRFC A6) uses for "retry after this long".

use std::time::Duration;

use kit_endpoint::Error;
use tonic::Status;
use tonic::metadata::MetadataValue;

use crate::codes::{code_for_grpc, grpc_code};

/// The metadata key of the retry hint.
pub const RETRY_PUSHBACK_MS: &str = "grpc-retry-pushback-ms";

/// The status a kit error is sent as.
pub fn to_status(err: &Error) -> Status {
    let mut status = Status::new(grpc_code(err.code()), err.message());
    if let Some(after) = err.retry_after() {
        let ms = after.as_millis().min(u128::from(u32::MAX)) as u32;
        status
            .metadata_mut()
            .insert(RETRY_PUSHBACK_MS, MetadataValue::from(ms));
    }
    status
}

/// The kit error a status stands for. `OK` is not an error and maps to
/// `Unknown`.
pub fn from_status(status: &Status) -> Error {
    let mut err = Error::new(code_for_grpc(status.code()), status.message().to_owned());
    if let Some(ms) = status
        .metadata()
        .get(RETRY_PUSHBACK_MS)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
    {
        err = err.with_retry_after(Duration::from_millis(ms));
    }
    err
}

#[cfg(test)]
mod tests {
    use super::*;
    use kit_endpoint::Code;

    #[test]
    fn every_code_round_trips_with_its_hint() {
        for code in Code::ALL {
            let err = Error::new(code, "nope").with_retry_after(Duration::from_millis(1234));
            let status = to_status(&err);
            assert_eq!(status.code() as i32, code.as_i32());
            let back = from_status(&status);
            assert_eq!(back.code(), code);
            assert_eq!(back.message(), "nope");
            assert_eq!(back.retry_after(), Some(Duration::from_millis(1234)));
        }
    }

    #[test]
    fn garbage_pushback_is_ignored() {
        let mut status = Status::unavailable("down");
        status
            .metadata_mut()
            .insert(RETRY_PUSHBACK_MS, MetadataValue::from_static("-5"));
        assert_eq!(from_status(&status).retry_after(), None);
        assert_eq!(from_status(&Status::ok("")).code(), Code::Unknown);
    }
}
