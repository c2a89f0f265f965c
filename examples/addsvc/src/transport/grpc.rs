//! gRPC with Go kit's `pb.Add` service: business errors come back with
//! status OK and `err` set; transport failures are statuses with kit's
//! codes (Go kit sends `UNKNOWN` for all of them).
//!
//! Go kit: `pkg/addtransport/grpc.go`.

use kit_endpoint::{Endpoint, Error};
use kit_transport::grpc::{GrpcClient, GrpcServer, GrpcServerOptions, channel};
use tonic::{Request as GrpcRequest, Response, Status};

use crate::endpoints::{
    ConcatEndpoint, ConcatRequest, ConcatResponse, Set, SumEndpoint, SumRequest, SumResponse,
};
use crate::pb;
use crate::service::ServiceError;

fn decode_sum(m: pb::SumRequest) -> Result<SumRequest, Error> {
    Ok(SumRequest { a: m.a, b: m.b })
}

fn encode_sum(r: SumResponse) -> Result<pb::SumReply, Error> {
    Ok(pb::SumReply {
        v: r.v,
        err: r.err.map(|e| e.to_string()).unwrap_or_default(),
    })
}

fn decode_concat(m: pb::ConcatRequest) -> Result<ConcatRequest, Error> {
    Ok(ConcatRequest { a: m.a, b: m.b })
}

fn encode_concat(r: ConcatResponse) -> Result<pb::ConcatReply, Error> {
    Ok(pb::ConcatReply {
        v: r.v,
        err: r.err.map(|e| e.to_string()).unwrap_or_default(),
    })
}

type SumHandler = GrpcServer<
    SumEndpoint,
    fn(pb::SumRequest) -> Result<SumRequest, Error>,
    fn(SumResponse) -> Result<pb::SumReply, Error>,
>;
type ConcatHandler = GrpcServer<
    ConcatEndpoint,
    fn(pb::ConcatRequest) -> Result<ConcatRequest, Error>,
    fn(ConcatResponse) -> Result<pb::ConcatReply, Error>,
>;

/// The `pb.Add` service over a set of endpoints.
#[derive(Clone, Debug)]
pub struct AddServer {
    sum: SumHandler,
    concat: ConcatHandler,
}

impl AddServer {
    /// Serves `set`, with `options` for every method.
    pub fn new(set: &Set, options: GrpcServerOptions) -> AddServer {
        AddServer {
            sum: GrpcServer::with_options(set.sum.clone(), decode_sum, encode_sum, options.clone()),
            concat: GrpcServer::with_options(
                set.concat.clone(),
                decode_concat,
                encode_concat,
                options,
            ),
        }
    }

    /// As a tonic service, ready to add to `tonic::service::Routes`.
    pub fn into_service(self) -> pb::add_server::AddServer<AddServer> {
        pb::add_server::AddServer::new(self)
    }
}

#[tonic::async_trait]
impl pb::add_server::Add for AddServer {
    async fn sum(
        &self,
        req: GrpcRequest<pb::SumRequest>,
    ) -> Result<Response<pb::SumReply>, Status> {
        self.sum.unary(req).await
    }

    async fn concat(
        &self,
        req: GrpcRequest<pb::ConcatRequest>,
    ) -> Result<Response<pb::ConcatReply>, Status> {
        self.concat.unary(req).await
    }
}

fn business(err: String) -> Option<ServiceError> {
    (!err.is_empty()).then(|| ServiceError::from_message(&err))
}

/// Client endpoints for an addsvc (kit's or Go kit's) at `uri`
/// (`http://host:port`), over one HTTP/2 connection.
pub fn client(uri: &str) -> Result<Set, Error> {
    let channel = channel(uri)?;
    let sum = GrpcClient::new(
        channel.clone(),
        "/pb.Add/Sum",
        |r: SumRequest| Ok(pb::SumRequest { a: r.a, b: r.b }),
        |m: pb::SumReply| {
            Ok(SumResponse {
                v: m.v,
                err: business(m.err),
            })
        },
    );
    let concat = GrpcClient::new(
        channel,
        "/pb.Add/Concat",
        |r: ConcatRequest| Ok(pb::ConcatRequest { a: r.a, b: r.b }),
        |m: pb::ConcatReply| {
            Ok(ConcatResponse {
                v: m.v,
                err: business(m.err),
            })
        },
    );
    Ok(Set {
        sum: Endpoint::new(sum),
        concat: Endpoint::new(concat),
    })
}
