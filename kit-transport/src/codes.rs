//! The tables between kit's canonical codes and the wire: HTTP statuses
//! and gRPC status codes.
//!
//! kit → HTTP follows the mapping Google APIs and grpc-gateway use.
//! HTTP → kit is its inverse where the status is unambiguous; when a kit
//! server answers, the client reads the exact code from the JSON error body
//! instead (see [`http::json`](crate::http::json)), so no code is lost on a
//! kit-to-kit hop even where two codes share a status (409, 400, 500).

use http::StatusCode;
use kit_endpoint::Code;

/// The HTTP status for a kit code.
pub fn http_status(code: Code) -> StatusCode {
    match code {
        Code::Cancelled => StatusCode::from_u16(499).unwrap_or(StatusCode::BAD_REQUEST),
        Code::Unknown => StatusCode::INTERNAL_SERVER_ERROR,
        Code::InvalidArgument => StatusCode::BAD_REQUEST,
        Code::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
        Code::NotFound => StatusCode::NOT_FOUND,
        Code::AlreadyExists => StatusCode::CONFLICT,
        Code::PermissionDenied => StatusCode::FORBIDDEN,
        Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
        Code::FailedPrecondition => StatusCode::BAD_REQUEST,
        Code::Aborted => StatusCode::CONFLICT,
        Code::OutOfRange => StatusCode::BAD_REQUEST,
        Code::Unimplemented => StatusCode::NOT_IMPLEMENTED,
        Code::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        Code::DataLoss => StatusCode::INTERNAL_SERVER_ERROR,
        Code::Unauthenticated => StatusCode::UNAUTHORIZED,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The kit code for an HTTP status that is not a success, when nothing
/// better is known (no kit error body). `None` for 1xx, 2xx and 3xx.
pub fn code_for_status(status: StatusCode) -> Option<Code> {
    if !(status.is_client_error() || status.is_server_error()) {
        return None;
    }
    Some(match status.as_u16() {
        400 => Code::InvalidArgument,
        401 => Code::Unauthenticated,
        403 => Code::PermissionDenied,
        404 => Code::NotFound,
        408 => Code::DeadlineExceeded,
        409 => Code::Aborted,
        412 => Code::FailedPrecondition,
        413 => Code::ResourceExhausted,
        416 => Code::OutOfRange,
        429 => Code::ResourceExhausted,
        499 => Code::Cancelled,
        501 => Code::Unimplemented,
        502 | 503 => Code::Unavailable,
        504 => Code::DeadlineExceeded,
        s if s < 500 => Code::FailedPrecondition,
        _ => Code::Internal,
    })
}

/// The gRPC code for a kit code: the same number.
#[cfg(feature = "grpc")]
pub fn grpc_code(code: Code) -> tonic::Code {
    tonic::Code::from_i32(code.as_i32())
}

/// The kit code for a gRPC code: the same number; `OK` has no kit code and
/// maps to `Unknown` (a status that says OK is not an error).
#[cfg(feature = "grpc")]
pub fn code_for_grpc(code: tonic::Code) -> Code {
    Code::from_i32(code as i32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_an_error_status() {
        for code in Code::ALL {
            let status = http_status(code);
            assert!(
                status.is_client_error() || status.is_server_error(),
                "{code} -> {status}"
            );
        }
    }

    #[test]
    fn unambiguous_statuses_round_trip() {
        // Codes whose status no other code shares come back from the status alone.
        let unique = [
            Code::Cancelled,
            Code::DeadlineExceeded,
            Code::NotFound,
            Code::PermissionDenied,
            Code::ResourceExhausted,
            Code::Unimplemented,
            Code::Unavailable,
            Code::Unauthenticated,
        ];
        for code in unique {
            assert_eq!(code_for_status(http_status(code)), Some(code), "{code}");
        }
        // The shared ones map to a code with the same status.
        for code in Code::ALL {
            let back = code_for_status(http_status(code)).unwrap();
            assert_eq!(http_status(back), http_status(code), "{code} -> {back}");
        }
    }

    #[test]
    fn successes_are_not_errors() {
        for s in [200, 201, 204, 301, 304] {
            assert_eq!(code_for_status(StatusCode::from_u16(s).unwrap()), None);
        }
        assert_eq!(
            code_for_status(StatusCode::from_u16(418).unwrap()),
            Some(Code::FailedPrecondition)
        );
        assert_eq!(
            code_for_status(StatusCode::from_u16(599).unwrap()),
            Some(Code::Internal)
        );
    }

    #[cfg(feature = "grpc")]
    #[test]
    fn grpc_codes_are_the_identity() {
        for code in Code::ALL {
            assert_eq!(grpc_code(code) as i32, code.as_i32());
            assert_eq!(code_for_grpc(grpc_code(code)), code);
        }
        assert_eq!(code_for_grpc(tonic::Code::Ok), Code::Unknown);
    }
}
