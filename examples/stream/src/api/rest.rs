//! A clean REST API beside Roshi's: keys in the path, no bodies on reads,
//! a `next` cursor in every page, and live updates as Server-Sent Events.
//!
//! | request | does |
//! |---|---|
//! | `GET /v1/streams/{key}?limit=10&offset=0` | the key's newest members |
//! | `GET /v1/streams/{key}?limit=10&start=<cursor>` | the page after `start` (Roshi's cursor format) |
//! | `POST /v1/streams/{key}/events` `[{"score":1.5,"member":"<base64>"}]` | inserts |
//! | `DELETE /v1/streams/{key}/events` (same body) | deletes |
//! | `GET /v1/streams/{key}/live` | `text/event-stream`: one `insert` or `delete` event per write that touches the key |
//!
//! `{key}` is the key's bytes, percent-encoded; members are standard
//! base64. A page is `{"key":"<base64>","events":[{"score":..,"member":..}],"next":"<cursor>"|null}`;
//! pass `next` as `start` for the following page. Writes answer
//! `{"requested":n,"applied":m}`. Errors are kit's `{"error","code"}` with
//! the code's status.

use axum::Router;
use axum::routing::{get_service, post_service};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http::{HeaderValue, header};
use kit_endpoint::{Endpoint, Error, Request, endpoint_fn};
use kit_transport::http::{Body, HttpServer, ServerOptions, sse};
use percent_encoding::percent_decode_str;
use serde::Deserialize;
use tower::ServiceExt;

use super::feed::Changes;
use crate::crdt::{Event, Kind, Score};
use crate::endpoints::Endpoints;
use crate::service::{Change, SelectRequest, Selection, WriteOutcome};
use crate::wire::{self, Limits};

const PREFIX: &str = "/v1/streams/";

/// The key named by a `/v1/streams/{key}…` path.
fn key_of(parts: &http::request::Parts) -> Result<Bytes, Error> {
    let rest = parts
        .uri
        .path()
        .strip_prefix(PREFIX)
        .ok_or_else(|| Error::not_found("no such route"))?;
    let raw = rest.split('/').next().unwrap_or("");
    if raw.is_empty() {
        return Err(Error::invalid_argument("the key is empty"));
    }
    Ok(Bytes::from(percent_decode_str(raw).collect::<Vec<u8>>()))
}

fn json(body: String) -> http::Response<Body> {
    let mut r = http::Response::new(Body::from(body));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RestEvent {
    score: f64,
    member: String,
}

fn decode_write(
    limits: Limits,
) -> impl Fn(&http::request::Parts, Bytes) -> Result<Vec<Event>, Error> + Clone {
    move |parts, body| {
        let key = key_of(parts)?;
        let events: Vec<RestEvent> = serde_json::from_slice(&body)
            .map_err(|e| Error::invalid_argument(format!("invalid JSON body: {e}")))?;
        if events.len() > limits.max_events {
            return Err(Error::invalid_argument(format!(
                "more than {} events",
                limits.max_events
            )));
        }
        events
            .into_iter()
            .map(|e| {
                let score = Score::new(e.score)
                    .map_err(|_| Error::invalid_argument("a score must be a finite number"))?;
                let member = STANDARD
                    .decode(e.member.as_bytes())
                    .map_err(|e| Error::invalid_argument(format!("member is not base64: {e}")))?;
                Ok(Event::new(key.clone(), score, member))
            })
            .collect()
    }
}

fn encode_write(out: WriteOutcome) -> Result<http::Response<Body>, Error> {
    Ok(json(format!(
        "{{\"requested\":{},\"applied\":{}}}",
        out.requested, out.applied
    )))
}

fn decode_page(
    limits: Limits,
) -> impl Fn(&http::request::Parts, Bytes) -> Result<SelectRequest, Error> + Clone {
    move |parts, _body| {
        let key = key_of(parts)?;
        let params = wire::parse_select_query(parts.uri.query().unwrap_or(""), &limits)?;
        Ok(SelectRequest {
            keys: vec![key],
            query: params.query,
            coalesce: false,
        })
    }
}

fn b64(out: &mut String, bytes: &[u8]) {
    out.push('"');
    STANDARD.encode_string(bytes, out);
    out.push('"');
}

/// A page, with the key's entries and the limit it was read with.
type Page = (Selection, usize);

fn encode_page((sel, limit): Page) -> Result<http::Response<Body>, Error> {
    let Selection::PerKey(mut per_key) = sel else {
        return Err(Error::internal("a REST page is never coalesced"));
    };
    let Some((key, entries)) = per_key.pop() else {
        return Err(Error::internal("a REST page reads one key"));
    };
    let mut out = String::with_capacity(64 + entries.len() * 48);
    out.push_str("{\"key\":");
    b64(&mut out, &key);
    out.push_str(",\"events\":[");
    for (i, e) in entries.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"score\":");
        wire::write_go_float(&mut out, e.score.get());
        out.push_str(",\"member\":");
        b64(&mut out, &e.member);
        out.push('}');
    }
    out.push_str("],\"next\":");
    match entries.last() {
        Some(last) if entries.len() == limit && limit > 0 => {
            let cursor = crate::crdt::Cursor::at(last.score, last.member.clone());
            out.push('"');
            out.push_str(&wire::format_cursor(&cursor));
            out.push('"');
        }
        _ => out.push_str("null"),
    }
    out.push_str("}\n");
    Ok(json(out))
}

fn encode_live(changes: Changes) -> Result<http::Response<Body>, Error> {
    Ok(sse::response(changes, |change: Change| {
        let name = match change.kind {
            Kind::Insert => "insert",
            Kind::Delete => "delete",
        };
        let mut data = String::from("[");
        for (i, e) in change.events.iter().enumerate() {
            if i > 0 {
                data.push(',');
            }
            data.push_str("{\"score\":");
            wire::write_go_float(&mut data, e.score.get());
            data.push_str(",\"member\":");
            b64(&mut data, &e.member);
            data.push('}');
        }
        data.push(']');
        Ok(sse::Event::default().event(name).data(data))
    }))
}

/// The REST routes.
pub fn router(
    endpoints: &Endpoints,
    feed: Endpoint<Request<Vec<Bytes>>, Changes>,
    limits: Limits,
    options: ServerOptions,
) -> Router {
    let select = endpoints.select.clone();
    let page = Endpoint::new(endpoint_fn(move |req: Request<SelectRequest>| {
        let select = select.clone();
        async move {
            let limit = req.body.query.limit;
            let sel = select.oneshot(req).await?;
            Ok::<_, Error>((sel, limit))
        }
    }));
    let write = decode_write(limits.clone());
    Router::new()
        .route(
            "/v1/streams/{key}",
            get_service(HttpServer::with_options(
                page,
                decode_page(limits),
                encode_page,
                options.clone(),
            )),
        )
        .route(
            "/v1/streams/{key}/events",
            post_service(HttpServer::with_options(
                endpoints.insert.clone(),
                write.clone(),
                encode_write,
                options.clone(),
            ))
            .delete_service(HttpServer::with_options(
                endpoints.delete.clone(),
                write,
                encode_write,
                options.clone(),
            )),
        )
        .route(
            "/v1/streams/{key}/live",
            get_service(HttpServer::with_options(
                feed,
                |parts: &http::request::Parts, _| Ok(vec![key_of(parts)?]),
                encode_live,
                options,
            )),
        )
}
