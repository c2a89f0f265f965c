//! The live feed as an endpoint: every accepted write touching a set of
//! keys, from the moment of the call. gRPC's `Subscribe` and REST's
//! Server-Sent Events both serve it.

use std::collections::HashSet;
use std::pin::Pin;

use bytes::Bytes;
use futures_core::Stream;
use kit_endpoint::{Endpoint, Error, Request, endpoint_fn};
use tokio_stream::StreamExt;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;

use crate::service::{Change, StreamService};
use crate::store::Store;

/// The most keys one subscription may follow.
pub const MAX_KEYS: usize = 1000;

/// A stream of changes; an error ends it.
pub type Changes = Pin<Box<dyn Stream<Item = Result<Change, Error>> + Send>>;

/// The feed endpoint: a request names the keys to follow; the response is
/// the stream of changes to them. A subscriber that falls more than the
/// feed's capacity behind gets a `ResourceExhausted` error and the stream
/// ends: resubscribe, then re-read with a select to catch up.
pub fn endpoint<S: Store>(svc: StreamService<S>) -> Endpoint<Request<Vec<Bytes>>, Changes> {
    Endpoint::new(endpoint_fn(move |req: Request<Vec<Bytes>>| {
        let rx = svc.subscribe();
        async move {
            let keys: HashSet<Bytes> = req.body.into_iter().collect();
            if keys.is_empty() {
                return Err(Error::invalid_argument("subscribe to at least one key"));
            }
            if keys.len() > MAX_KEYS {
                return Err(Error::invalid_argument(format!(
                    "subscribe to at most {MAX_KEYS} keys"
                )));
            }
            let mut ended = false;
            let changes = BroadcastStream::new(rx)
                .map_while(move |item| {
                    if ended {
                        return None;
                    }
                    Some(match item {
                        Ok(change) => Ok(change),
                        Err(BroadcastStreamRecvError::Lagged(n)) => {
                            ended = true;
                            Err(Error::resource_exhausted(format!(
                                "the subscriber fell {n} writes behind; resubscribe and re-read"
                            )))
                        }
                    })
                })
                .filter_map(move |item| match item {
                    Ok(change) => {
                        let events: Vec<_> = change
                            .events
                            .iter()
                            .filter(|e| keys.contains(&e.key))
                            .cloned()
                            .collect();
                        (!events.is_empty()).then(|| {
                            Ok(Change {
                                kind: change.kind,
                                events: events.into(),
                            })
                        })
                    }
                    Err(e) => Some(Err(e)),
                });
            Ok::<_, Error>(Box::pin(changes) as Changes)
        }
    }))
}
