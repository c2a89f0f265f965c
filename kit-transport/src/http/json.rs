//! JSON for the common case: request decoders, response encoders, and the
//! default error encoder with its client-side inverse.
//!
//! Error bodies are `{"error":"<message>","code":"<kit code>"}` with the
//! status from [`super::status_for`] and a `Retry-After` header
//! (whole seconds, rounded up) when the error carries a retry hint. A kit
//! client reads the code back from the body, so it survives the hop exactly.

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};
use kit_endpoint::{Code, Error};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{Body, status_for};
use crate::codes::code_for_status;

const JSON: HeaderValue = HeaderValue::from_static("application/json");

/// Decodes a JSON request body. Malformed JSON or a wrong type is an
/// `InvalidArgument` error naming what is wrong and where.
pub fn decode<T: DeserializeOwned>(_parts: &http::request::Parts, body: Bytes) -> Result<T, Error> {
    serde_json::from_slice(&body)
        .map_err(|e| Error::invalid_argument(format!("invalid JSON body: {e}")))
}

/// Encodes a 200 response with a JSON body.
pub fn encode<T: Serialize>(resp: T) -> Result<http::Response<Body>, Error> {
    let bytes = serde_json::to_vec(&resp)
        .map_err(|e| Error::internal(format!("encoding the JSON response: {e}")))?;
    let mut response = http::Response::new(Body::from(bytes));
    response.headers_mut().insert(header::CONTENT_TYPE, JSON);
    Ok(response)
}

/// The default error encoder: `{"error":..,"code":..}`, the code's status,
/// and `Retry-After` from the error's hint.
pub fn encode_error(err: &Error) -> http::Response<Body> {
    let body = serde_json::json!({ "error": err.message(), "code": err.code().as_str() });
    let mut response = http::Response::new(Body::from(body.to_string()));
    *response.status_mut() = status_for(err);
    response.headers_mut().insert(header::CONTENT_TYPE, JSON);
    if let Some(after) = err.retry_after() {
        let secs = after.as_secs() + u64::from(after.subsec_nanos() > 0);
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

/// Client side: encodes `body` as the JSON request body.
pub fn encode_request<T: Serialize>(req: &mut http::Request<Bytes>, body: T) -> Result<(), Error> {
    let bytes = serde_json::to_vec(&body)
        .map_err(|e| Error::invalid_argument(format!("encoding the JSON request: {e}")))?;
    req.headers_mut().insert(header::CONTENT_TYPE, JSON);
    *req.body_mut() = Bytes::from(bytes);
    Ok(())
}

/// Client side: decodes a 2xx JSON response, or turns any other status into
/// the error it carries (see [`error_from_response`]).
pub fn decode_response<T: DeserializeOwned>(
    parts: http::response::Parts,
    body: Bytes,
) -> Result<T, Error> {
    if !parts.status.is_success() {
        return Err(error_from_response(&parts, &body));
    }
    serde_json::from_slice(&body)
        .map_err(|e| Error::internal(format!("invalid JSON in the response: {e}")))
}

/// Client side: the kit error an error response stands for. A kit error body
/// gives the exact code and message; otherwise the status is mapped through
/// [`code_for_status`] and the message is the start of the body. A
/// `Retry-After` header in seconds becomes the retry hint.
pub fn error_from_response(parts: &http::response::Parts, body: &[u8]) -> Error {
    #[derive(serde::Deserialize)]
    struct ErrorBody {
        error: String,
        code: Option<String>,
    }
    let status = parts.status;
    let parsed = serde_json::from_slice::<ErrorBody>(body).ok();
    let code = parsed
        .as_ref()
        .and_then(|b| b.code.as_deref())
        .and_then(|c| c.parse::<Code>().ok())
        .or_else(|| code_for_status(status))
        .unwrap_or(Code::Unknown);
    let message = match parsed {
        Some(b) => b.error,
        None => summary(status, body),
    };
    let mut err = Error::new(code, message);
    if let Some(secs) = parts
        .headers
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
    {
        err = err.with_retry_after(Duration::from_secs(secs));
    }
    err
}

/// The status and the first 256 characters of a body, for messages.
fn summary(status: StatusCode, body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(1024)]);
    let text: String = text.trim().chars().take(256).collect();
    if text.is_empty() {
        format!("HTTP {status}")
    } else {
        format!("HTTP {status}: {text}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;
    use proptest::prelude::*;

    fn parts() -> http::request::Parts {
        http::Request::new(()).into_parts().0
    }

    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Sum {
        a: i64,
        b: i64,
    }

    #[test]
    fn garbage_is_invalid_argument() {
        for body in [
            &b""[..],
            b"{",
            b"null",
            b"[]",
            b"{\"a\":\"x\",\"b\":1}",
            b"{\"a\":1}",
            b"\xff\xfe",
            b"{\"a\":1e999,\"b\":1}",
            b"{\"a\":1,\"b\":2}trailing",
        ] {
            let err = decode::<Sum>(&parts(), Bytes::from_static(body)).unwrap_err();
            assert_eq!(err.code(), Code::InvalidArgument, "{body:?}");
            assert!(err.message().starts_with("invalid JSON body: "), "{err}");
        }
        assert_eq!(
            decode::<Sum>(&parts(), Bytes::from_static(b"{\"a\":1,\"b\":2}")).unwrap(),
            Sum { a: 1, b: 2 }
        );
    }

    #[tokio::test]
    async fn error_bodies_round_trip_every_code() {
        for code in Code::ALL {
            let err = Error::new(code, format!("it broke: {code}"))
                .with_retry_after(Duration::from_millis(1500));
            let response = encode_error(&err);
            let (parts, body) = response.into_parts();
            assert_eq!(parts.headers[header::RETRY_AFTER], "2");
            let body = body.collect().await.unwrap().to_bytes();
            let back = error_from_response(&parts, &body);
            assert_eq!(back.code(), code);
            assert_eq!(back.message(), err.message());
            assert_eq!(back.retry_after(), Some(Duration::from_secs(2)));
        }
    }

    #[test]
    fn foreign_error_bodies_fall_back_to_the_status() {
        let (mut parts, ()) = http::Response::new(()).into_parts();
        parts.status = StatusCode::SERVICE_UNAVAILABLE;
        let err = error_from_response(&parts, b"<html>down for maintenance</html>");
        assert_eq!(err.code(), Code::Unavailable);
        assert!(err.message().contains("down for maintenance"), "{err}");
        parts.status = StatusCode::NOT_FOUND;
        let err = error_from_response(&parts, b"");
        assert_eq!(err.code(), Code::NotFound);
        assert_eq!(err.message(), "HTTP 404 Not Found");
        // a kit-shaped body with an unknown code keeps the status' code
        let err = error_from_response(&parts, br#"{"error":"gone","code":"vanished"}"#);
        assert_eq!(err.code(), Code::NotFound);
        assert_eq!(err.message(), "gone");
    }

    proptest! {
        #[test]
        fn any_bytes_decode_without_panic(body in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = decode::<Sum>(&parts(), Bytes::from(body.clone()));
            let (mut p, ()) = http::Response::new(()).into_parts();
            p.status = StatusCode::BAD_GATEWAY;
            let err = error_from_response(&p, &body);
            prop_assert!(err.message().len() <= 1024);
        }
    }
}
