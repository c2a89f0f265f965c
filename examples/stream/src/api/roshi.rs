//! roshi-server's HTTP API, a drop-in for its clients.
//!
//! Routing is Roshi's: every path is a prefix, so `GET /anything` is a
//! select, `POST /…` an insert, `DELETE /…` a delete, and any other method a
//! `404 page not found`. A path that is not in clean form answers `301` to
//! the cleaned path, as Go's mux does. Bodies, query parameters, responses
//! and error bodies are byte for byte roshi-server's ([`crate::wire`]), with
//! its defects fixed as that module documents.
//!
//! Errors are `{"code":N,"description":"<status text>","error":"<message>"}`:
//! 400 for anything wrong with the request; for failures below it, the
//! status kit-transport's table gives the error's code (503 when the store
//! is unavailable, 504 past the deadline, 429 when rate limited) where
//! roshi-server answers 500 to all of them.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Method, StatusCode, header};
use kit_endpoint::{Endpoint, Error, Request, endpoint_fn};
use kit_transport::http::{Body, HttpServer, ServerOptions, status_for};
use tokio::time::Instant;
use tower::ServiceExt;
use tower_service::Service;

use crate::crdt::Event;
use crate::endpoints::Endpoints;
use crate::service::{SelectRequest, Selection, WriteOutcome};
use crate::wire::{self, Limits};

const JSON: HeaderValue = HeaderValue::from_static("application/json");

fn json(status: StatusCode, body: String) -> http::Response<Body> {
    let mut r = http::Response::new(Body::from(body));
    *r.status_mut() = status;
    r.headers_mut().insert(header::CONTENT_TYPE, JSON);
    r
}

/// Roshi's error body, with the status for the error's code.
pub fn encode_error(err: &Error) -> http::Response<Body> {
    let status = status_for(err);
    json(status, wire::encode_error(status.as_u16(), err.message()))
}

/// An endpoint that also reports how long its call took: roshi-server's
/// `duration` field.
fn timed<Req: Send + 'static, Resp: Send + 'static>(
    ep: Endpoint<Request<Req>, Resp>,
) -> Endpoint<Request<Req>, (Resp, Duration)> {
    Endpoint::new(endpoint_fn(move |req: Request<Req>| {
        let ep = ep.clone();
        async move {
            let start = Instant::now();
            let resp = ep.oneshot(req).await?;
            Ok::<_, Error>((resp, start.elapsed()))
        }
    }))
}

type Decoder<T> = Box<dyn Fn(&http::request::Parts, Bytes) -> Result<T, Error> + Send + Sync>;

type Server<Req, Resp> = HttpServer<
    Endpoint<Request<Req>, (Resp, Duration)>,
    Decoder<Req>,
    fn((Resp, Duration)) -> Result<http::Response<Body>, Error>,
>;

fn decode_events(limits: Limits) -> Decoder<Vec<Event>> {
    Box::new(move |_, body| Ok(wire::decode_events(&body, &limits)?))
}

fn decode_select(limits: Limits) -> Decoder<SelectRequest> {
    Box::new(move |parts, body| {
        let params = wire::parse_select_query(parts.uri.query().unwrap_or(""), &limits)?;
        let keys = wire::decode_keys(&body, &limits)?;
        Ok(SelectRequest {
            keys,
            query: params.query,
            coalesce: params.coalesce,
        })
    })
}

/// The Roshi API: one tower service answering every path.
#[derive(Clone)]
pub struct RoshiApi {
    insert: Server<Vec<Event>, WriteOutcome>,
    delete: Server<Vec<Event>, WriteOutcome>,
    select: Server<SelectRequest, Selection>,
}

impl std::fmt::Debug for RoshiApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RoshiApi").finish_non_exhaustive()
    }
}

fn encode_inserted((out, took): (WriteOutcome, Duration)) -> Result<http::Response<Body>, Error> {
    Ok(json(
        StatusCode::OK,
        wire::encode_inserted(out.requested, took),
    ))
}

fn encode_deleted((out, took): (WriteOutcome, Duration)) -> Result<http::Response<Body>, Error> {
    Ok(json(
        StatusCode::OK,
        wire::encode_deleted(out.requested, took),
    ))
}

fn encode_selection((sel, took): (Selection, Duration)) -> Result<http::Response<Body>, Error> {
    Ok(json(
        StatusCode::OK,
        match sel {
            Selection::PerKey(per_key) => wire::encode_selected(&per_key, took),
            Selection::Coalesced(events) => wire::encode_coalesced(&events, took),
        },
    ))
}

impl RoshiApi {
    /// The API over `endpoints`, refusing requests beyond `limits`, with
    /// `options` (hooks, body limit) for every route; the error encoder is
    /// always Roshi's.
    pub fn new(endpoints: &Endpoints, limits: Limits, options: ServerOptions) -> RoshiApi {
        let options = options.error_encoder(encode_error);
        RoshiApi {
            insert: HttpServer::with_options(
                timed(endpoints.insert.clone()),
                decode_events(limits.clone()),
                encode_inserted,
                options.clone(),
            ),
            delete: HttpServer::with_options(
                timed(endpoints.delete.clone()),
                decode_events(limits.clone()),
                encode_deleted,
                options.clone(),
            ),
            select: HttpServer::with_options(
                timed(endpoints.select.clone()),
                decode_select(limits),
                encode_selection,
                options,
            ),
        }
    }
}

/// Go's `path.Clean`, for Roshi's clean-path redirect.
pub fn clean_path(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    let mut out = String::with_capacity(path.len());
    for p in &parts {
        out.push('/');
        out.push_str(p);
    }
    // Go's mux keeps a trailing slash
    if out.is_empty() || (path.ends_with('/') && !parts.is_empty()) {
        out.push('/');
    }
    out
}

fn not_found() -> http::Response<Body> {
    let mut r = http::Response::new(Body::from("404 page not found\n"));
    *r.status_mut() = StatusCode::NOT_FOUND;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

fn redirect(to: &str, query: Option<&str>) -> http::Response<Body> {
    let location = match query {
        Some(q) => format!("{to}?{q}"),
        None => to.to_owned(),
    };
    let mut r = http::Response::new(Body::empty());
    *r.status_mut() = StatusCode::MOVED_PERMANENTLY;
    if let Ok(v) = HeaderValue::from_str(&location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

type BoxFuture = Pin<Box<dyn Future<Output = Result<http::Response<Body>, Infallible>> + Send>>;

impl Service<http::Request<axum::body::Body>> for RoshiApi {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<axum::body::Body>) -> BoxFuture {
        let path = req.uri().path();
        let clean = clean_path(path);
        if clean != path {
            let r = redirect(&clean, req.uri().query());
            return Box::pin(async move { Ok(r) });
        }
        match *req.method() {
            Method::GET => Box::pin(self.select.call(req)),
            Method::POST => Box::pin(self.insert.call(req)),
            Method::DELETE => Box::pin(self.delete.call(req)),
            _ => Box::pin(async { Ok(not_found()) }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::clean_path;

    #[test]
    fn paths_clean_like_go() {
        for (raw, clean) in [
            ("/", "/"),
            ("", "/"),
            ("//x/../y", "/y"),
            ("/a/./b/", "/a/b/"),
            ("/a//b", "/a/b"),
            ("/..", "/"),
            ("/a/b/../../..", "/"),
        ] {
            assert_eq!(clean_path(raw), clean, "{raw:?}");
        }
    }
}
