//! Server-Sent Events: an endpoint that returns a stream, served as
//! `text/event-stream`.
//!
//! Use [`response`] as the encoder of an [`HttpServer`](super::HttpServer)
//! whose endpoint returns a stream of items: each item becomes one event;
//! an error in the stream becomes a final `event: error` whose data is the
//! kit error as JSON, and the stream ends. Comments keep idle connections
//! alive every 15 s.
//!
//! ```
//! use kit_endpoint::{Error, Request, endpoint_fn};
//! use kit_transport::http::{HttpServer, sse};
//!
//! let ticks = endpoint_fn(|_: Request<()>| async move {
//!     Ok::<_, Error>(tokio_stream::iter((1..=3).map(Ok::<u32, Error>)))
//! });
//! let app: axum::Router = axum::Router::new().route_service(
//!     "/ticks",
//!     HttpServer::new(
//!         ticks,
//!         |_: &http::request::Parts, _| Ok::<_, Error>(()),
//!         |stream| Ok(sse::response(stream, |n: u32| Ok(sse::Event::default().data(n.to_string())))),
//!     ),
//! );
//! ```

use std::convert::Infallible;
use std::time::Duration;

use axum::response::IntoResponse;
pub use axum::response::sse::Event;
use axum::response::sse::{KeepAlive, Sse};
use futures_core::Stream;
use futures_util::StreamExt;
use kit_endpoint::Error;

use super::Body;

/// An SSE response from a stream of items and a function that turns each
/// into an [`Event`].
pub fn response<S, T, F>(stream: S, to_event: F) -> http::Response<Body>
where
    S: Stream<Item = Result<T, Error>> + Send + 'static,
    F: Fn(T) -> Result<Event, Error> + Send + Sync + 'static,
    T: Send + 'static,
{
    let mut failed = false;
    let events = stream
        .map(move |item| item.and_then(&to_event))
        .take_while(move |item| {
            // Stop after the first error, which is still sent.
            let go = !failed;
            failed |= item.is_err();
            std::future::ready(go)
        })
        .map(|item| {
            Ok::<_, Infallible>(match item {
                Ok(event) => event,
                Err(err) => Event::default().event("error").data(
                    serde_json::json!({"error": err.message(), "code": err.code().as_str()})
                        .to_string(),
                ),
            })
        });
    Sse::new(events)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}
