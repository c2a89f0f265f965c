//! The stream service: insert, delete and select over a [`Store`], with
//! request bounds, and a feed of accepted writes for live subscribers.
//!
//! This is Go kit's service layer: plain async methods that know nothing
//! of HTTP, gRPC or kit's middleware. [`crate::endpoints`] wraps each
//! method into an endpoint; transports decode into the request types here.

use std::sync::Arc;

use bytes::Bytes;
use kit_endpoint::Error;
use tokio::sync::broadcast;

use crate::crdt::{Entry, Event, Kind, Query};
use crate::store::{KeyEntries, Store};
use crate::wire::Limits;

/// How many writes a slow subscriber may fall behind before it misses some
/// (it then sees `RecvError::Lagged`).
const FEED_CAPACITY: usize = 1024;

/// The outcome of an insert or delete.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WriteOutcome {
    /// How many events the request held: what roshi-server reports as
    /// `inserted` or `deleted`.
    pub requested: usize,
    /// How many took effect (the rest were older than what the store has).
    pub applied: usize,
}

/// A select request.
#[derive(Clone, Debug, PartialEq)]
pub struct SelectRequest {
    /// The keys to read. Duplicates are read once.
    pub keys: Vec<Bytes>,
    /// Offset or cursor range, and the limit.
    pub query: Query,
    /// Merge the keys into one list, offset and limit after the merge.
    pub coalesce: bool,
}

/// A select's result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Selection {
    /// One list per distinct key, in the order the keys were first given.
    PerKey(Vec<KeyEntries>),
    /// One merged list.
    Coalesced(Vec<Event>),
}

/// A batch of writes the store accepted, as subscribers see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// Insert or delete.
    pub kind: Kind,
    /// Every event of the batch (including those that did not take effect:
    /// the store reports a count, not which ones).
    pub events: Arc<[Event]>,
}

/// The stream service over the store `S`. Cheap to clone.
///
/// ```
/// use stream::crdt::{Event, Query, Score};
/// use stream::service::{SelectRequest, Selection, StreamService};
/// use stream::store::MemoryStore;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), kit_endpoint::Error> {
/// let svc = StreamService::new(MemoryStore::new());
/// let out = svc.insert(vec![Event::new("k", Score::new(1.0).unwrap(), "m")]).await?;
/// assert_eq!((out.requested, out.applied), (1, 1));
/// let req = SelectRequest { keys: vec!["k".into(), "k".into()], query: Query::offset(0, 10), coalesce: false };
/// let Selection::PerKey(per_key) = svc.select(req).await? else { unreachable!() };
/// assert_eq!(per_key.len(), 1);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct StreamService<S> {
    store: Arc<S>,
    limits: Limits,
    feed: broadcast::Sender<Change>,
}

impl<S> Clone for StreamService<S> {
    fn clone(&self) -> Self {
        StreamService {
            store: self.store.clone(),
            limits: self.limits.clone(),
            feed: self.feed.clone(),
        }
    }
}

impl<S: Store> StreamService<S> {
    /// A service over `store` with the default [`Limits`].
    pub fn new(store: S) -> StreamService<S> {
        StreamService::with_limits(store, Limits::default())
    }

    /// A service over `store` that refuses requests beyond `limits`.
    pub fn with_limits(store: S, limits: Limits) -> StreamService<S> {
        StreamService {
            store: Arc::new(store),
            limits,
            feed: broadcast::channel(FEED_CAPACITY).0,
        }
    }

    /// The store.
    pub fn get_ref(&self) -> &S {
        &self.store
    }

    /// The bounds requests must keep.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Inserts `events`.
    pub async fn insert(&self, events: Vec<Event>) -> Result<WriteOutcome, Error> {
        self.write(Kind::Insert, events).await
    }

    /// Deletes `events` (leaves tombstones).
    pub async fn delete(&self, events: Vec<Event>) -> Result<WriteOutcome, Error> {
        self.write(Kind::Delete, events).await
    }

    async fn write(&self, kind: Kind, events: Vec<Event>) -> Result<WriteOutcome, Error> {
        self.check_events(&events)?;
        let requested = events.len();
        if requested == 0 {
            return Ok(WriteOutcome {
                requested,
                applied: 0,
            });
        }
        // Copy the batch for subscribers only if there are any.
        let shared: Option<Arc<[Event]>> =
            (self.feed.receiver_count() > 0).then(|| events.clone().into());
        let applied = self.store.write(kind, events).await?;
        if let Some(events) = shared {
            // A subscriber that left in the meantime is no error.
            let _ = self.feed.send(Change { kind, events });
        }
        Ok(WriteOutcome { requested, applied })
    }

    /// Reads keys by offset or cursor, per key or coalesced.
    pub async fn select(&self, req: SelectRequest) -> Result<Selection, Error> {
        let SelectRequest {
            keys,
            query,
            coalesce,
        } = req;
        self.check_select(&keys, &query)?;
        let keys = dedup(keys);
        if coalesce {
            Ok(Selection::Coalesced(
                self.store.select_coalesced(keys, query).await?,
            ))
        } else {
            Ok(Selection::PerKey(self.store.select(keys, query).await?))
        }
    }

    /// Every batch of writes accepted from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.feed.subscribe()
    }

    fn check_events(&self, events: &[Event]) -> Result<(), Error> {
        let l = &self.limits;
        if events.len() > l.max_events {
            return Err(Error::invalid_argument(format!(
                "too many events in one request (the limit is {})",
                l.max_events
            )));
        }
        for e in events {
            check_len("key", &e.key, l.max_key_bytes)?;
            check_len("member", &e.member, l.max_member_bytes)?;
        }
        Ok(())
    }

    fn check_select(&self, keys: &[Bytes], query: &Query) -> Result<(), Error> {
        let l = &self.limits;
        if keys.len() > l.max_keys {
            return Err(Error::invalid_argument(format!(
                "too many keys in one select (the limit is {})",
                l.max_keys
            )));
        }
        if query.limit > l.max_limit {
            return Err(Error::invalid_argument(format!(
                "limit {} is above the maximum of {}",
                query.limit, l.max_limit
            )));
        }
        keys.iter()
            .try_for_each(|k| check_len("key", k, l.max_key_bytes))
    }
}

fn check_len(what: &str, bytes: &[u8], max: usize) -> Result<(), Error> {
    if bytes.len() > max {
        return Err(Error::invalid_argument(format!(
            "a {what} of {} bytes is longer than the limit of {max} bytes",
            bytes.len()
        )));
    }
    Ok(())
}

/// Keeps the first occurrence of each key, in order.
fn dedup(keys: Vec<Bytes>) -> Vec<Bytes> {
    let mut seen = std::collections::HashSet::with_capacity(keys.len());
    keys.into_iter()
        .filter(|k| seen.insert(k.clone()))
        .collect()
}

/// The entries of one key in a [`Selection::PerKey`], if it is there.
pub fn entries_of<'a>(per_key: &'a [KeyEntries], key: &[u8]) -> Option<&'a [Entry]> {
    per_key
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, e)| e.as_slice())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crdt::Score;
    use crate::store::MemoryStore;
    use kit_endpoint::Code;

    fn ev(k: &str, s: f64, m: &str) -> Event {
        Event::new(k.to_string(), Score::new(s).unwrap(), m.to_string())
    }

    #[tokio::test]
    async fn writes_report_requested_and_applied_and_feed_subscribers() {
        let svc = StreamService::new(MemoryStore::new());
        let mut feed = svc.subscribe();
        let out = svc
            .insert(vec![ev("k", 1.0, "a"), ev("k", 1.0, "a")])
            .await
            .unwrap();
        assert_eq!(
            out,
            WriteOutcome {
                requested: 2,
                applied: 1
            }
        );
        let out = svc.delete(vec![ev("k", 1.0, "a")]).await.unwrap();
        assert_eq!(
            out,
            WriteOutcome {
                requested: 1,
                applied: 1
            }
        );
        assert_eq!(feed.recv().await.unwrap().kind, Kind::Insert);
        let change = feed.recv().await.unwrap();
        assert_eq!((change.kind, change.events.len()), (Kind::Delete, 1));
        assert_eq!(
            svc.insert(vec![]).await.unwrap(),
            WriteOutcome {
                requested: 0,
                applied: 0
            }
        );
    }

    #[tokio::test]
    async fn bounds_are_invalid_argument() {
        let limits = Limits {
            max_events: 1,
            max_keys: 1,
            max_key_bytes: 2,
            max_member_bytes: 2,
            max_limit: 5,
        };
        let svc = StreamService::with_limits(MemoryStore::new(), limits);
        let err = svc
            .insert(vec![ev("k", 1.0, "a"), ev("k", 2.0, "b")])
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument);
        assert_eq!(
            svc.insert(vec![ev("long", 1.0, "a")])
                .await
                .unwrap_err()
                .code(),
            Code::InvalidArgument
        );
        assert_eq!(
            svc.delete(vec![ev("k", 1.0, "long")])
                .await
                .unwrap_err()
                .code(),
            Code::InvalidArgument
        );
        let select = |keys: Vec<&str>, limit| SelectRequest {
            keys: keys
                .into_iter()
                .map(|k| Bytes::from(k.to_string()))
                .collect(),
            query: Query::offset(0, limit),
            coalesce: false,
        };
        assert_eq!(
            svc.select(select(vec!["a", "b"], 1))
                .await
                .unwrap_err()
                .code(),
            Code::InvalidArgument
        );
        assert_eq!(
            svc.select(select(vec!["a"], 6)).await.unwrap_err().code(),
            Code::InvalidArgument
        );
        assert!(svc.select(select(vec!["a"], 5)).await.is_ok());
    }

    #[tokio::test]
    async fn select_dedups_keys_and_coalesces() {
        let svc = StreamService::new(MemoryStore::new());
        svc.insert(vec![
            ev("a", 3.0, "x"),
            ev("b", 2.0, "y"),
            ev("a", 1.0, "z"),
        ])
        .await
        .unwrap();
        let req = SelectRequest {
            keys: vec!["b".into(), "a".into(), "b".into()],
            query: Query::offset(0, 10),
            coalesce: false,
        };
        let Selection::PerKey(per_key) = svc.select(req.clone()).await.unwrap() else {
            panic!()
        };
        assert_eq!(
            per_key.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>(),
            vec![Bytes::from("b"), Bytes::from("a")]
        );
        assert_eq!(entries_of(&per_key, b"a").map(<[Entry]>::len), Some(2));
        let Selection::Coalesced(all) = svc
            .select(SelectRequest {
                coalesce: true,
                ..req
            })
            .await
            .unwrap()
        else {
            panic!()
        };
        let scores: Vec<f64> = all.iter().map(|e| e.score.get()).collect();
        assert_eq!(
            scores,
            vec![3.0, 2.0, 1.0],
            "duplicate keys are merged once"
        );
    }
}
