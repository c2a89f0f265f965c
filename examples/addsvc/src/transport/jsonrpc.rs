//! JSON-RPC 2.0 over HTTP POST, on any path: methods `sum` and `concat`
//! with params `{"a":..,"b":..}`, result `{"v":..}`.
//!
//! Go kit: `pkg/addtransport/jsonrpc.go`. Differences, all improvements:
//! business errors come back as a JSON-RPC error (code -32000) instead of
//! being lost (Go kit answers 0+0 with `{"v":0}`); the request's `id` is
//! echoed in errors whenever it could be read (Go kit always sends `null`);
//! bad params are the standard -32602; and an error carries the kit code in
//! `data.code`, so a kit client gets the exact error back. Like Go kit, the
//! `jsonrpc` version field is not checked (its Go client sends `""`).
//!
//! | code | meaning |
//! |---|---|
//! | -32700 | the body is not JSON |
//! | -32600 | not a JSON-RPC request object |
//! | -32601 | no such method |
//! | -32602 | params could not be decoded |
//! | -32000 | business error (`can't sum two zeroes`, …) |
//! | -32603 | the endpoint failed (rate limited, breaker open, …) |

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use bytes::Bytes;
use http::{HeaderValue, header};
use kit_endpoint::{Code, Endpoint, Error, Request, endpoint_fn};
use kit_transport::http::{
    Body, ClientOptions, HttpClient, HttpServer, Pool, ServerOptions, status_for,
};
use serde::Deserialize;
use serde_json::value::RawValue;
use tower::ServiceExt;

use crate::endpoints::{ConcatRequest, ConcatResponse, Set, SumRequest, SumResponse};
use crate::gojson;
use crate::service::ServiceError;

/// JSON-RPC error codes.
pub mod codes {
    /// The body is not JSON.
    pub const PARSE_ERROR: i64 = -32700;
    /// Not a JSON-RPC request object.
    pub const INVALID_REQUEST: i64 = -32600;
    /// No such method.
    pub const METHOD_NOT_FOUND: i64 = -32601;
    /// Params could not be decoded.
    pub const INVALID_PARAMS: i64 = -32602;
    /// The endpoint failed.
    pub const INTERNAL_ERROR: i64 = -32603;
    /// A business error.
    pub const BUSINESS_ERROR: i64 = -32000;
}

/// A decoded call.
#[derive(Debug)]
pub enum Call {
    /// `sum`.
    Sum(Id, SumRequest),
    /// `concat`.
    Concat(Id, ConcatRequest),
    /// A request that cannot be served, answered with this error.
    Invalid(Id, i64, String),
}

/// The request's `id`, as raw JSON (`null` when absent or unreadable).
pub type Id = Option<Box<RawValue>>;

/// What the dispatcher answers.
#[derive(Debug)]
pub struct Reply {
    id: Id,
    outcome: Result<String, (i64, String, Option<Code>)>,
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow)]
    method: Option<&'a RawValue>,
    #[serde(borrow)]
    params: Option<&'a RawValue>,
    id: Option<Box<RawValue>>,
}

/// Decodes a JSON-RPC request. It never fails: a bad request becomes a
/// [`Call::Invalid`] that the dispatcher answers with the right error.
pub fn decode_call(_: &http::request::Parts, body: Bytes) -> Result<Call, Error> {
    let value: &RawValue = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return Ok(Call::Invalid(None, codes::PARSE_ERROR, e.to_string())),
    };
    let envelope: Envelope<'_> = match serde_json::from_str(value.get()) {
        Ok(e) => e,
        Err(e) => return Ok(Call::Invalid(None, codes::INVALID_REQUEST, e.to_string())),
    };
    let id = envelope.id.filter(|id| id.get() != "null");
    let method: Option<String> = envelope
        .method
        .and_then(|m| serde_json::from_str(m.get()).ok());
    let params = envelope.params.map_or(&b"null"[..], |p| p.get().as_bytes());
    let bad_params = |e: String| format!("invalid params: {e}");
    Ok(match method.as_deref() {
        Some("sum") => match gojson::decode_fields::<i64, i64>(params, ("a", "b")) {
            Ok(f) => Call::Sum(id, SumRequest { a: f.a, b: f.b }),
            Err(e) => Call::Invalid(id, codes::INVALID_PARAMS, bad_params(e)),
        },
        Some("concat") => match gojson::decode_fields::<String, String>(params, ("a", "b")) {
            Ok(f) => Call::Concat(id, ConcatRequest { a: f.a, b: f.b }),
            Err(e) => Call::Invalid(id, codes::INVALID_PARAMS, bad_params(e)),
        },
        Some(other) => Call::Invalid(
            id,
            codes::METHOD_NOT_FOUND,
            format!("method {other:?} not found"),
        ),
        None => Call::Invalid(id, codes::INVALID_REQUEST, "missing method".into()),
    })
}

fn business(err: ServiceError) -> (i64, String, Option<Code>) {
    (codes::BUSINESS_ERROR, err.to_string(), None)
}

fn failed(err: Error) -> (i64, String, Option<Code>) {
    (
        codes::INTERNAL_ERROR,
        err.message().to_owned(),
        Some(err.code()),
    )
}

/// The endpoint behind the JSON-RPC transport: dispatches each call to the
/// set's endpoint and turns every outcome into a reply.
pub fn dispatcher(set: &Set) -> Endpoint<Request<Call>, Reply> {
    let set = set.clone();
    Endpoint::new(endpoint_fn(move |req: Request<Call>| {
        let set = set.clone();
        async move {
            let (ctx, call) = req.into_parts();
            let (id, outcome) = match call {
                Call::Sum(id, body) => {
                    let outcome = match set.sum.oneshot(Request::with_context(ctx, body)).await {
                        Ok(SumResponse { err: Some(e), .. }) => Err(business(e)),
                        Ok(SumResponse { v, err: None }) => Ok(format!("{{\"v\":{v}}}")),
                        Err(e) => Err(failed(e)),
                    };
                    (id, outcome)
                }
                Call::Concat(id, body) => {
                    let outcome = match set.concat.oneshot(Request::with_context(ctx, body)).await {
                        Ok(ConcatResponse { err: Some(e), .. }) => Err(business(e)),
                        Ok(ConcatResponse { v, err: None }) => {
                            let mut out = String::from("{\"v\":");
                            gojson::write_string(&mut out, &v);
                            out.push('}');
                            Ok(out)
                        }
                        Err(e) => Err(failed(e)),
                    };
                    (id, outcome)
                }
                Call::Invalid(id, code, message) => {
                    let kit = if code == codes::METHOD_NOT_FOUND {
                        Code::Unimplemented
                    } else {
                        Code::InvalidArgument
                    };
                    (id, Err((code, message, Some(kit))))
                }
            };
            Ok::<_, Error>(Reply { id, outcome })
        }
    }))
}

fn response(status: http::StatusCode, body: String) -> http::Response<Body> {
    let mut r = http::Response::new(Body::from(body));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    r
}

fn error_body(id: Option<&RawValue>, code: i64, message: &str, kit: Option<Code>) -> String {
    let mut out = format!("{{\"jsonrpc\":\"2.0\",\"error\":{{\"code\":{code},\"message\":");
    gojson::write_string(&mut out, message);
    if let Some(kit) = kit {
        out.push_str(&format!(",\"data\":{{\"code\":\"{}\"}}", kit.as_str()));
    }
    out.push_str("},\"id\":");
    out.push_str(id.map_or("null", RawValue::get));
    out.push_str("}\n");
    out
}

/// Encodes a reply: always HTTP 200, as JSON-RPC over HTTP does.
pub fn encode_reply(reply: Reply) -> Result<http::Response<Body>, Error> {
    let body = match reply.outcome {
        Ok(result) => format!(
            "{{\"jsonrpc\":\"2.0\",\"result\":{result},\"id\":{}}}\n",
            reply.id.as_deref().map_or("null", RawValue::get)
        ),
        Err((code, message, kit)) => error_body(reply.id.as_deref(), code, &message, kit),
    };
    Ok(response(http::StatusCode::OK, body))
}

/// Errors before dispatch (body over the limit, deadline passed): a
/// JSON-RPC error body with the status kit's table gives.
pub fn encode_transport_error(err: &Error) -> http::Response<Body> {
    let code = match err.code() {
        Code::InvalidArgument | Code::ResourceExhausted => codes::INVALID_REQUEST,
        _ => codes::INTERNAL_ERROR,
    };
    response(
        status_for(err),
        error_body(None, code, err.message(), Some(err.code())),
    )
}

/// The JSON-RPC transport: POST on any path; other methods get 405.
pub fn router(set: &Set, options: ServerOptions) -> Router {
    let server = HttpServer::with_options(
        dispatcher(set),
        decode_call,
        encode_reply,
        options.error_encoder(encode_transport_error),
    );
    Router::new().fallback_service(axum::routing::post_service(server))
}

#[derive(Deserialize)]
struct ClientReply<'a> {
    #[serde(borrow)]
    result: Option<&'a RawValue>,
    error: Option<ClientError>,
}

#[derive(Deserialize)]
struct ClientError {
    code: i64,
    message: String,
    data: Option<ClientErrorData>,
}

#[derive(Deserialize)]
struct ClientErrorData {
    code: Option<String>,
}

/// Client side: the result object of a reply, or the error it carries.
/// -32000 is a business error; any other error is a kit error, with the
/// exact code when the server sent one in `data.code`.
fn decode_reply(
    parts: &http::response::Parts,
    body: &[u8],
) -> Result<Result<Vec<u8>, ServiceError>, Error> {
    let reply: ClientReply<'_> = serde_json::from_slice(body).map_err(|e| {
        if parts.status.is_success() {
            Error::internal(format!("invalid JSON-RPC reply: {e}"))
        } else {
            kit_transport::http::json::error_from_response(parts, body)
        }
    })?;
    match (reply.result, reply.error) {
        (_, Some(e)) if e.code == codes::BUSINESS_ERROR => {
            Ok(Err(ServiceError::from_message(&e.message)))
        }
        (_, Some(e)) => {
            let code = e
                .data
                .and_then(|d| d.code)
                .and_then(|c| c.parse::<Code>().ok())
                .unwrap_or(match e.code {
                    codes::METHOD_NOT_FOUND => Code::Unimplemented,
                    codes::PARSE_ERROR | codes::INVALID_REQUEST | codes::INVALID_PARAMS => {
                        Code::InvalidArgument
                    }
                    _ => Code::Internal,
                });
            Err(Error::new(code, e.message))
        }
        (Some(result), None) => Ok(Ok(result.get().as_bytes().to_vec())),
        (None, None) => Err(Error::internal(
            "JSON-RPC reply has neither result nor error",
        )),
    }
}

/// Client endpoints for an addsvc (kit's or Go kit's) JSON-RPC server at
/// `url` (`http://host:port/`).
pub fn client(url: &str, options: ClientOptions) -> Result<Set, Error> {
    let uri: http::Uri = url
        .parse()
        .map_err(|e| Error::invalid_argument(format!("bad URL {url:?}: {e}")))?;
    let pool = Pool::new();
    let ids = Arc::new(AtomicU64::new(1));
    let encode = move |method: &'static str| {
        let ids = ids.clone();
        move |req: &mut http::Request<Bytes>, params: String| {
            let id = ids.fetch_add(1, Ordering::Relaxed);
            req.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            *req.body_mut() = Bytes::from(format!(
                "{{\"jsonrpc\":\"2.0\",\"method\":\"{method}\",\"params\":{params},\"id\":{id}}}"
            ));
        }
    };
    let sum_encode = encode("sum");
    let concat_encode = encode("concat");
    let sum = HttpClient::with_options(
        pool.clone(),
        http::Method::POST,
        uri.clone(),
        move |req: &mut http::Request<Bytes>, body: SumRequest| {
            sum_encode(req, format!("{{\"a\":{},\"b\":{}}}", body.a, body.b));
            Ok(())
        },
        |parts: http::response::Parts, body: Bytes| -> Result<SumResponse, Error> {
            Ok(match decode_reply(&parts, &body)? {
                Ok(result) => {
                    let f = gojson::decode_fields::<i64, i64>(&result, ("v", "-"))
                        .map_err(|e| Error::internal(format!("invalid result: {e}")))?;
                    SumResponse { v: f.a, err: None }
                }
                Err(e) => SumResponse { v: 0, err: Some(e) },
            })
        },
        options.clone(),
    );
    let concat = HttpClient::with_options(
        pool,
        http::Method::POST,
        uri,
        move |req: &mut http::Request<Bytes>, body: ConcatRequest| {
            let mut params = String::from("{\"a\":");
            gojson::write_string(&mut params, &body.a);
            params.push_str(",\"b\":");
            gojson::write_string(&mut params, &body.b);
            params.push('}');
            concat_encode(req, params);
            Ok(())
        },
        |parts: http::response::Parts, body: Bytes| -> Result<ConcatResponse, Error> {
            Ok(match decode_reply(&parts, &body)? {
                Ok(result) => {
                    let f = gojson::decode_fields::<String, String>(&result, ("v", "-"))
                        .map_err(|e| Error::internal(format!("invalid result: {e}")))?;
                    ConcatResponse { v: f.a, err: None }
                }
                Err(e) => ConcatResponse {
                    v: String::new(),
                    err: Some(e),
                },
            })
        },
        options,
    );
    Ok(Set {
        sum: Endpoint::new(sum),
        concat: Endpoint::new(concat),
    })
}
