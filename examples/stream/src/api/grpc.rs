//! The gRPC API (`kit.stream.v1.Stream`, `proto/stream.proto`): Insert,
//! Delete, Select, and a server-streaming Subscribe that pushes new events
//! for a set of keys live.

use bytes::Bytes;
use kit_endpoint::{Endpoint, Error, Request};
use kit_transport::grpc::{GrpcServer, GrpcServerOptions, ResponseStream};
use tonic::{Response, Status};

use super::feed::Changes;
use crate::crdt::{Cursor, Event, Kind, Query, Score};
use crate::endpoints::{Endpoints, WriteRequest};
use crate::pb;
use crate::service::{Change, SelectRequest, Selection, WriteOutcome};

/// A protobuf event as a core event: the score must be finite.
pub fn event_from_pb(e: pb::Event) -> Result<Event, Error> {
    let score = Score::new(e.score).map_err(|_| {
        Error::invalid_argument(format!("score {} is not a finite number", e.score))
    })?;
    Ok(Event::new(e.key, score, e.member))
}

/// A core event as a protobuf event.
pub fn event_to_pb(e: &Event) -> pb::Event {
    pb::Event {
        key: e.key.clone(),
        score: e.score.get(),
        member: e.member.clone(),
    }
}

fn decode_write(m: pb::WriteRequest) -> Result<Vec<Event>, Error> {
    m.events.into_iter().map(event_from_pb).collect()
}

fn encode_write(out: WriteOutcome) -> Result<pb::WriteReply, Error> {
    Ok(pb::WriteReply {
        requested: out.requested as u64,
        applied: out.applied as u64,
    })
}

fn cursor(c: Option<pb::Cursor>) -> Result<Option<Cursor>, Error> {
    c.map(|c| {
        Cursor::new(c.score, c.member)
            .map_err(|_| Error::invalid_argument("a cursor's score is NaN"))
    })
    .transpose()
}

/// A protobuf select as the service's request (the service checks it
/// against its limits).
pub fn select_from_pb(m: pb::SelectRequest) -> Result<SelectRequest, Error> {
    let limit = match m.limit {
        0 => 10,
        n => usize::try_from(n).unwrap_or(usize::MAX),
    };
    let query = if m.start.is_some() || m.stop.is_some() {
        Query::cursor(cursor(m.start)?, cursor(m.stop)?, limit)
    } else {
        Query::offset(usize::try_from(m.offset).unwrap_or(usize::MAX), limit)
    };
    Ok(SelectRequest {
        keys: m.keys,
        query,
        coalesce: m.coalesce,
    })
}

fn encode_select(sel: Selection) -> Result<pb::SelectReply, Error> {
    Ok(match sel {
        Selection::PerKey(per_key) => pb::SelectReply {
            keys: per_key
                .into_iter()
                .map(|(key, entries)| pb::KeyEvents {
                    events: entries
                        .into_iter()
                        .map(|e| pb::Event {
                            key: key.clone(),
                            score: e.score.get(),
                            member: e.member,
                        })
                        .collect(),
                    key,
                })
                .collect(),
            coalesced: Vec::new(),
        },
        Selection::Coalesced(events) => pb::SelectReply {
            keys: Vec::new(),
            coalesced: events.iter().map(event_to_pb).collect(),
        },
    })
}

fn encode_change(c: Change) -> Result<pb::Change, Error> {
    let kind = match c.kind {
        Kind::Insert => pb::change::Kind::Insert,
        Kind::Delete => pb::change::Kind::Delete,
    };
    Ok(pb::Change {
        kind: kind.into(),
        events: c.events.iter().map(event_to_pb).collect(),
    })
}

type WriteHandler = GrpcServer<
    Endpoint<WriteRequest, WriteOutcome>,
    fn(pb::WriteRequest) -> Result<Vec<Event>, Error>,
    fn(WriteOutcome) -> Result<pb::WriteReply, Error>,
>;
type SelectHandler = GrpcServer<
    Endpoint<Request<SelectRequest>, Selection>,
    fn(pb::SelectRequest) -> Result<SelectRequest, Error>,
    fn(Selection) -> Result<pb::SelectReply, Error>,
>;
type SubscribeHandler = GrpcServer<
    Endpoint<Request<Vec<Bytes>>, Changes>,
    fn(pb::SubscribeRequest) -> Result<Vec<Bytes>, Error>,
    fn(Change) -> Result<pb::Change, Error>,
>;

/// The `kit.stream.v1.Stream` service over the stream's endpoints.
#[derive(Clone, Debug)]
pub struct StreamGrpc {
    insert: WriteHandler,
    delete: WriteHandler,
    select: SelectHandler,
    subscribe: SubscribeHandler,
}

impl StreamGrpc {
    /// Serves `endpoints` and the `feed` endpoint, with `options` for every method.
    pub fn new(
        endpoints: &Endpoints,
        feed: Endpoint<Request<Vec<Bytes>>, Changes>,
        options: GrpcServerOptions,
    ) -> StreamGrpc {
        StreamGrpc {
            insert: GrpcServer::with_options(
                endpoints.insert.clone(),
                decode_write,
                encode_write,
                options.clone(),
            ),
            delete: GrpcServer::with_options(
                endpoints.delete.clone(),
                decode_write,
                encode_write,
                options.clone(),
            ),
            select: GrpcServer::with_options(
                endpoints.select.clone(),
                select_from_pb,
                encode_select,
                options.clone(),
            ),
            subscribe: GrpcServer::with_options(
                feed,
                |m: pb::SubscribeRequest| Ok(m.keys),
                encode_change,
                options,
            ),
        }
    }

    /// As a tonic service, ready for `tonic::service::Routes`.
    pub fn into_service(self) -> pb::stream_server::StreamServer<StreamGrpc> {
        pb::stream_server::StreamServer::new(self)
    }
}

#[tonic::async_trait]
impl pb::stream_server::Stream for StreamGrpc {
    async fn insert(
        &self,
        req: tonic::Request<pb::WriteRequest>,
    ) -> Result<Response<pb::WriteReply>, Status> {
        self.insert.unary(req).await
    }

    async fn delete(
        &self,
        req: tonic::Request<pb::WriteRequest>,
    ) -> Result<Response<pb::WriteReply>, Status> {
        self.delete.unary(req).await
    }

    async fn select(
        &self,
        req: tonic::Request<pb::SelectRequest>,
    ) -> Result<Response<pb::SelectReply>, Status> {
        self.select.unary(req).await
    }

    type SubscribeStream = ResponseStream<pb::Change>;

    async fn subscribe(
        &self,
        req: tonic::Request<pb::SubscribeRequest>,
    ) -> Result<Response<ResponseStream<pb::Change>>, Status> {
        self.subscribe.server_streaming(req).await
    }
}
