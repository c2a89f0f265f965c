//! One kit endpoint per operation of the [`StreamService`].
//!
//! Each endpoint takes a [`kit_endpoint::Request`] (the decoded body and
//! its [`Context`](kit_endpoint::Context)) and fails with a
//! [`kit_endpoint::Error`] whose code says whose fault it was:
//!
//! | failure | code |
//! |---|---|
//! | a request over the [`Limits`](crate::wire::Limits), a key too long for the store | `InvalidArgument` |
//! | the request's deadline passed before the work started | `DeadlineExceeded` |
//! | the storage engine failed, or the store is closed | `Unavailable` |
//! | stored data does not decode | `DataLoss` |
//!
//! Wire decoding errors ([`crate::wire::DecodeError`]) convert to
//! `InvalidArgument` too, so a transport can use `?` on both.
//!
//! ```
//! use kit_endpoint::Request;
//! use stream::crdt::{Event, Score};
//! use stream::endpoints::Endpoints;
//! use stream::service::StreamService;
//! use stream::store::MemoryStore;
//! use tower::ServiceExt;
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), kit_endpoint::Error> {
//! let endpoints = Endpoints::new(StreamService::new(MemoryStore::new()));
//! let events = vec![Event::new("k", Score::new(1.0).unwrap(), "m")];
//! let out = endpoints.insert.oneshot(Request::new(events)).await?;
//! assert_eq!(out.applied, 1);
//! # Ok(()) }
//! ```

use kit_endpoint::{Endpoint, Error, Request, endpoint_fn};
use tower_service::Service;

use crate::crdt::Event;
use crate::service::{SelectRequest, Selection, StreamService, WriteOutcome};
use crate::store::Store;

/// The request of the insert and delete endpoints.
pub type WriteRequest = Request<Vec<Event>>;

/// Every endpoint of the service, boxed for wiring into transports.
#[derive(Clone, Debug)]
pub struct Endpoints {
    /// Roshi's `POST /`.
    pub insert: Endpoint<WriteRequest, WriteOutcome>,
    /// Roshi's `DELETE /`.
    pub delete: Endpoint<WriteRequest, WriteOutcome>,
    /// Roshi's `GET /`.
    pub select: Endpoint<Request<SelectRequest>, Selection>,
}

impl Endpoints {
    /// The endpoints of `svc`.
    pub fn new<S: Store>(svc: StreamService<S>) -> Endpoints {
        Endpoints {
            insert: Endpoint::new(insert(svc.clone())),
            delete: Endpoint::new(delete(svc.clone())),
            select: Endpoint::new(select(svc)),
        }
    }
}

fn not_expired<T>(req: &Request<T>) -> Result<(), Error> {
    if req.context.is_expired() {
        return Err(Error::deadline_exceeded(
            "the request's deadline passed before it started",
        ));
    }
    Ok(())
}

/// The insert endpoint.
pub fn insert<S: Store>(
    svc: StreamService<S>,
) -> impl Service<WriteRequest, Response = WriteOutcome, Error = Error, Future: Send> + Clone + Send + Sync
{
    endpoint_fn(move |req: WriteRequest| {
        let svc = svc.clone();
        async move {
            not_expired(&req)?;
            svc.insert(req.body).await
        }
    })
}

/// The delete endpoint.
pub fn delete<S: Store>(
    svc: StreamService<S>,
) -> impl Service<WriteRequest, Response = WriteOutcome, Error = Error, Future: Send> + Clone + Send + Sync
{
    endpoint_fn(move |req: WriteRequest| {
        let svc = svc.clone();
        async move {
            not_expired(&req)?;
            svc.delete(req.body).await
        }
    })
}

/// The select endpoint.
pub fn select<S: Store>(
    svc: StreamService<S>,
) -> impl Service<Request<SelectRequest>, Response = Selection, Error = Error, Future: Send>
+ Clone
+ Send
+ Sync {
    endpoint_fn(move |req: Request<SelectRequest>| {
        let svc = svc.clone();
        async move {
            not_expired(&req)?;
            svc.select(req.body).await
        }
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use kit_endpoint::{Code, Context};
    use tower::ServiceExt;

    use super::*;
    use crate::crdt::{Query, Score};
    use crate::store::{EmbeddedStore, MemoryStore};

    fn ev(s: f64) -> Event {
        Event::new("k", Score::new(s).unwrap(), "m")
    }

    #[tokio::test]
    async fn every_operation_through_its_endpoint() {
        let eps = Endpoints::new(StreamService::new(MemoryStore::new()));
        assert_eq!(
            eps.insert
                .clone()
                .oneshot(Request::new(vec![ev(2.0)]))
                .await
                .unwrap()
                .applied,
            1
        );
        assert_eq!(
            eps.delete
                .clone()
                .oneshot(Request::new(vec![ev(1.0)]))
                .await
                .unwrap()
                .applied,
            0
        );
        let req = SelectRequest {
            keys: vec!["k".into()],
            query: Query::offset(0, 5),
            coalesce: true,
        };
        let Selection::Coalesced(all) =
            eps.select.clone().oneshot(Request::new(req)).await.unwrap()
        else {
            panic!()
        };
        assert_eq!(all, vec![ev(2.0)]);
    }

    #[tokio::test(start_paused = true)]
    async fn an_expired_deadline_is_deadline_exceeded() {
        let eps = Endpoints::new(StreamService::new(MemoryStore::new()));
        let ctx = Context::new().with_timeout(Duration::from_millis(5));
        tokio::time::advance(Duration::from_millis(10)).await;
        let err = eps
            .insert
            .oneshot(Request::with_context(ctx, vec![ev(1.0)]))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::DeadlineExceeded);
    }

    #[tokio::test]
    async fn errors_carry_their_codes() {
        let eps = Endpoints::new(StreamService::new(MemoryStore::new()));
        let long = Event::new(vec![0u8; 5000], Score::ZERO, "m");
        let err = eps
            .insert
            .oneshot(Request::new(vec![long]))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument);
        let decode: Error = crate::wire::decode_events(b"{", &crate::wire::Limits::default())
            .unwrap_err()
            .into();
        assert_eq!(
            (decode.code(), decode.message()),
            (Code::InvalidArgument, "unexpected EOF")
        );
        // A closed engine is Unavailable: open the same directory twice.
        let dir = tempfile::tempdir().unwrap();
        let _first: EmbeddedStore = EmbeddedStore::open(dir.path()).unwrap();
        let second = EmbeddedStore::<crate::store::embedded::Fjall>::open(dir.path()).unwrap_err();
        assert_eq!(Error::from(second).code(), Code::Unavailable);
    }
}
