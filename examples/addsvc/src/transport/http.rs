//! HTTP with Go kit's addsvc wire format: `POST /sum` `{"a":1,"b":2}` →
//! `{"v":3}`; `POST /concat` `{"a":"x","b":"y"}` → `{"v":"xy"}`; a business
//! error → 400 `{"error":"…"}`.
//!
//! Go kit: `pkg/addtransport/http.go`. Differences, all improvements: a
//! transport failure gets its own status (429 rate limited, 503 breaker
//! open, 400 bad JSON…) and kit's `{"error","code"}` body instead of a 500
//! for everything; the routes and the request bytes Go kit's client sends
//! (`{"A":1,"B":2}\n`, chunked, no Content-Type) are accepted as they are.

use axum::Router;
use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};
use kit_endpoint::{Endpoint, Error};
use kit_transport::http::{Body, ClientOptions, HttpClient, HttpServer, Pool, ServerOptions, json};

use crate::endpoints::{ConcatRequest, ConcatResponse, Set, SumRequest, SumResponse};
use crate::gojson;
use crate::service::ServiceError;

const JSON_UTF8: HeaderValue = HeaderValue::from_static("application/json; charset=utf-8");

/// The HTTP routes for a set of endpoints: exact paths `/sum` and
/// `/concat`, any method (as Go kit's mux).
pub fn router(set: &Set, options: ServerOptions) -> Router {
    Router::new()
        .route_service(
            "/sum",
            HttpServer::with_options(
                set.sum.clone(),
                decode_sum_request,
                encode_sum_response,
                options.clone(),
            ),
        )
        .route_service(
            "/concat",
            HttpServer::with_options(
                set.concat.clone(),
                decode_concat_request,
                encode_concat_response,
                options,
            ),
        )
}

fn invalid(e: String) -> Error {
    Error::invalid_argument(format!("invalid JSON body: {e}"))
}

/// Decodes Sum's request body by Go's rules (see [`gojson`]).
pub fn decode_sum_request(_: &http::request::Parts, body: Bytes) -> Result<SumRequest, Error> {
    let f = gojson::decode_fields::<i64, i64>(&body, ("a", "b")).map_err(invalid)?;
    Ok(SumRequest { a: f.a, b: f.b })
}

/// Decodes Concat's request body by Go's rules.
pub fn decode_concat_request(
    _: &http::request::Parts,
    body: Bytes,
) -> Result<ConcatRequest, Error> {
    let f = gojson::decode_fields::<String, String>(&body, ("a", "b")).map_err(invalid)?;
    Ok(ConcatRequest { a: f.a, b: f.b })
}

fn respond(status: StatusCode, body: String) -> http::Response<Body> {
    let mut response = http::Response::new(Body::from(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, JSON_UTF8);
    response
}

fn business_error(err: &ServiceError) -> http::Response<Body> {
    let mut body = String::with_capacity(64);
    body.push_str("{\"error\":");
    gojson::write_string(&mut body, &err.to_string());
    body.push_str("}\n");
    respond(StatusCode::BAD_REQUEST, body)
}

/// 200 `{"v":3}\n`, or 400 `{"error":"…"}\n` for a business error.
pub fn encode_sum_response(resp: SumResponse) -> Result<http::Response<Body>, Error> {
    Ok(match resp.err {
        Some(err) => business_error(&err),
        None => respond(StatusCode::OK, format!("{{\"v\":{}}}\n", resp.v)),
    })
}

/// 200 `{"v":"xy"}\n`, or 400 `{"error":"…"}\n` for a business error.
pub fn encode_concat_response(resp: ConcatResponse) -> Result<http::Response<Body>, Error> {
    Ok(match resp.err {
        Some(err) => business_error(&err),
        None => {
            let mut body = String::with_capacity(resp.v.len() + 10);
            body.push_str("{\"v\":");
            gojson::write_string(&mut body, &resp.v);
            body.push_str("}\n");
            respond(StatusCode::OK, body)
        }
    })
}

/// A 400 whose body has no kit `code` is a business error (kit's and Go
/// kit's servers both send those); anything else that is not a 200 is a
/// transport error.
fn business_or_transport(
    parts: &http::response::Parts,
    body: &[u8],
) -> Result<ServiceError, Error> {
    if parts.status == StatusCode::BAD_REQUEST {
        #[derive(serde::Deserialize)]
        struct ErrorBody {
            error: String,
            code: Option<String>,
        }
        if let Ok(ErrorBody { error, code: None }) = serde_json::from_slice::<ErrorBody>(body) {
            return Ok(ServiceError::from_message(&error));
        }
    }
    Err(json::error_from_response(parts, body))
}

fn encode_pair(req: &mut http::Request<Bytes>, a: String, b: String) {
    req.headers_mut().insert(header::CONTENT_TYPE, JSON_UTF8);
    *req.body_mut() = Bytes::from(format!("{{\"a\":{a},\"b\":{b}}}\n"));
}

/// Client side: Sum's request as `{"a":1,"b":2}`.
pub fn encode_sum_request(req: &mut http::Request<Bytes>, body: SumRequest) -> Result<(), Error> {
    encode_pair(req, body.a.to_string(), body.b.to_string());
    Ok(())
}

/// Client side: Concat's request as `{"a":"x","b":"y"}`.
pub fn encode_concat_request(
    req: &mut http::Request<Bytes>,
    body: ConcatRequest,
) -> Result<(), Error> {
    let (mut a, mut b) = (String::new(), String::new());
    gojson::write_string(&mut a, &body.a);
    gojson::write_string(&mut b, &body.b);
    encode_pair(req, a, b);
    Ok(())
}

fn bad_response(e: String) -> Error {
    Error::internal(format!("invalid JSON in the response: {e}"))
}

/// Client side: Sum's response.
pub fn decode_sum_response(
    parts: http::response::Parts,
    body: Bytes,
) -> Result<SumResponse, Error> {
    if parts.status != StatusCode::OK {
        let err = business_or_transport(&parts, &body)?;
        return Ok(SumResponse {
            v: 0,
            err: Some(err),
        });
    }
    let f = gojson::decode_fields::<i64, i64>(&body, ("v", "-")).map_err(bad_response)?;
    Ok(SumResponse { v: f.a, err: None })
}

/// Client side: Concat's response.
pub fn decode_concat_response(
    parts: http::response::Parts,
    body: Bytes,
) -> Result<ConcatResponse, Error> {
    if parts.status != StatusCode::OK {
        let err = business_or_transport(&parts, &body)?;
        return Ok(ConcatResponse {
            v: String::new(),
            err: Some(err),
        });
    }
    let f = gojson::decode_fields::<String, String>(&body, ("v", "-")).map_err(bad_response)?;
    Ok(ConcatResponse { v: f.a, err: None })
}

/// Client endpoints for an addsvc (kit's or Go kit's) at `base`
/// (`http://host:port`), sharing one connection pool.
pub fn client(base: &str, options: ClientOptions) -> Result<Set, Error> {
    let pool = Pool::new();
    let uri = |path: &str| {
        format!("{}{path}", base.trim_end_matches('/'))
            .parse::<http::Uri>()
            .map_err(|e| Error::invalid_argument(format!("bad URL {base:?}: {e}")))
    };
    Ok(Set {
        sum: Endpoint::new(HttpClient::with_options(
            pool.clone(),
            http::Method::POST,
            uri("/sum")?,
            encode_sum_request,
            decode_sum_response,
            options.clone(),
        )),
        concat: Endpoint::new(HttpClient::with_options(
            pool,
            http::Method::POST,
            uri("/concat")?,
            encode_concat_request,
            decode_concat_response,
            options,
        )),
    })
}
