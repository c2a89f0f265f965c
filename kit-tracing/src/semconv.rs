//! The OpenTelemetry semantic conventions kit's spans follow: attribute
//! names, and which outcomes mark a span as an error.
//!
//! The names are those of the RPC and HTTP conventions as of semantic
//! conventions 1.36 (`rpc.system`, `rpc.grpc.status_code`,
//! `http.request.method`, …). They are spelled out here rather than taken
//! from the `opentelemetry-semantic-conventions` crate, whose newest
//! releases follow the renamed, still-experimental RPC attributes
//! (`rpc.system.name`, `rpc.response.status_code`) that backends do not yet
//! read; a dozen constants are cheaper than that dependency.
//!
//! # Span status
//!
//! Instrumentation leaves the status of a successful call **unset**, never
//! `Ok`. A failed call follows the gRPC conventions, whose table the HTTP
//! conventions agree with under kit's code → status mapping:
//!
//! | kit code | client span | server span | HTTP status (kit-transport) |
//! |---|---|---|---|
//! | `Unknown`, `Internal`, `DataLoss` | error | error | 500 |
//! | `DeadlineExceeded` | error | error | 504 |
//! | `Unimplemented` | error | error | 501 |
//! | `Unavailable` | error | error | 503 |
//! | any other (`InvalidArgument`, `NotFound`, `PermissionDenied`, `ResourceExhausted`, `Cancelled`, …) | error | unset | 4xx |
//!
//! A client that got `InvalidArgument` failed, and its span says so; the
//! server that answered `InvalidArgument` did its job (the caller was
//! wrong), and its span stays unset, exactly as an HTTP server span stays
//! unset on a 4xx. The code is recorded either way
//! (`rpc.grpc.status_code`, `http.response.status_code`), and every span
//! marked as an error also gets `error.type` (the kit code, e.g.
//! `unavailable`) and the error's message as the status description.

use kit_endpoint::Code;
use opentelemetry::trace::SpanKind;

/// `rpc.system`: the RPC system (`grpc`, …).
pub const RPC_SYSTEM: &str = "rpc.system";
/// `rpc.service`: the full name of the service (`kit.test.echo.Echo`).
pub const RPC_SERVICE: &str = "rpc.service";
/// `rpc.method`: the method name (`Unary`).
pub const RPC_METHOD: &str = "rpc.method";
/// `rpc.grpc.status_code`: the numeric gRPC status code (0 is OK).
pub const RPC_GRPC_STATUS_CODE: &str = "rpc.grpc.status_code";
/// `http.request.method`: the HTTP method (`GET`, `POST`, …).
pub const HTTP_REQUEST_METHOD: &str = "http.request.method";
/// `http.response.status_code`: the HTTP status code.
pub const HTTP_RESPONSE_STATUS_CODE: &str = "http.response.status_code";
/// `http.route`: the matched route template on a server (`/users/{id}`).
pub const HTTP_ROUTE: &str = "http.route";
/// `url.full`: the absolute URL a client calls.
pub const URL_FULL: &str = "url.full";
/// `server.address`: the server's host name or address.
pub const SERVER_ADDRESS: &str = "server.address";
/// `server.port`: the server's port.
pub const SERVER_PORT: &str = "server.port";
/// `error.type`: the class of error a failed operation ended with; kit
/// records the canonical code (`deadline_exceeded`).
pub const ERROR_TYPE: &str = "error.type";

/// `service.name`, a resource attribute.
pub const SERVICE_NAME: &str = "service.name";
/// `service.version`, a resource attribute.
pub const SERVICE_VERSION: &str = "service.version";
/// `service.instance.id`, a resource attribute.
pub const SERVICE_INSTANCE_ID: &str = "service.instance.id";

/// Whether a call of this kind that failed with `code` marks its span as
/// an error. See the [module docs](self) for the table.
///
/// ```
/// use kit_endpoint::Code;
/// use kit_tracing::semconv::is_error;
/// use opentelemetry::trace::SpanKind;
///
/// assert!(is_error(&SpanKind::Client, Code::InvalidArgument));
/// assert!(!is_error(&SpanKind::Server, Code::InvalidArgument));
/// assert!(is_error(&SpanKind::Server, Code::Unavailable));
/// ```
pub fn is_error(kind: &SpanKind, code: Code) -> bool {
    match kind {
        SpanKind::Server => matches!(
            code,
            Code::Unknown
                | Code::DeadlineExceeded
                | Code::Unimplemented
                | Code::Internal
                | Code::Unavailable
                | Code::DataLoss
        ),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_an_error_on_the_client() {
        for code in Code::ALL {
            assert!(is_error(&SpanKind::Client, code), "{code}");
            assert!(is_error(&SpanKind::Internal, code), "{code}");
        }
    }

    #[cfg(feature = "transport")]
    #[test]
    fn server_errors_are_exactly_the_5xx_codes() {
        for code in Code::ALL {
            let status = kit_transport::codes::http_status(code);
            assert_eq!(
                is_error(&SpanKind::Server, code),
                status.is_server_error(),
                "{code} -> {status}"
            );
        }
    }
}
