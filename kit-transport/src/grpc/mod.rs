//! gRPC: server handlers and clients around endpoints, on tonic.
//!
//! - [`GrpcServer`]: the decode → endpoint → encode shape behind a method of
//!   a tonic-generated service trait, unary or server-streaming.
//! - [`GrpcClient`] and [`GrpcStreamClient`]: encode → call → decode;
//!   endpoints in their own right.
//! - [`status`]: kit `Error` ↔ `tonic::Status` (the code is the same number).
//! - [`Codec`]: tonic's prost codec, but a malformed message is
//!   `INVALID_ARGUMENT` rather than `INTERNAL`; generate code with
//!   `tonic_prost_build::configure().codec_path("kit_transport::grpc::Codec")`.
//! - [`MessageLimitLayer`]: reports a message over the size limit as
//!   `RESOURCE_EXHAUSTED`, as the gRPC status-code guide asks.
//! - [`reflection`] and [`health`](crate::health::grpc_service): so grpcurl
//!   and load balancers work.
//!
//! Protobuf is compiled with protox, a pure-Rust compiler: no system `protoc`.
//!
//! ```
//! use kit_endpoint::{Error, Request, endpoint_fn};
//! use kit_transport::grpc::GrpcServer;
//!
//! // Inside `impl pb::add_server::Add for Grpc { async fn sum(&self, req) {..} }`
//! // the body is one line: `self.sum.unary(req).await`.
//! # #[derive(Clone, PartialEq, prost::Message)] struct SumRequest { #[prost(int64, tag = "1")] a: i64 }
//! # #[derive(Clone, PartialEq, prost::Message)] struct SumReply { #[prost(int64, tag = "1")] v: i64 }
//! let sum = GrpcServer::new(
//!     endpoint_fn(|req: Request<i64>| async move { Ok::<_, Error>(req.body * 2) }),
//!     |m: SumRequest| Ok(m.a),
//!     |v: i64| Ok(SumReply { v }),
//! );
//! # let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
//! let reply = rt.block_on(sum.unary(tonic::Request::new(SumRequest { a: 21 }))).unwrap();
//! assert_eq!(reply.into_inner().v, 42);
//! ```

mod client;
mod codec;
mod limit;
mod server;
pub mod status;

#[cfg(feature = "tls")]
pub use client::channel_tls;
pub use client::{GrpcClient, GrpcStreamClient, ItemStream, channel};
pub use codec::{Codec, Decoder, decode_message};
pub use limit::{MessageLimit, MessageLimitLayer};
pub use server::{GrpcFinished, GrpcServer, GrpcServerOptions, ResponseStream};

use kit_endpoint::Error;

/// The gRPC reflection service (v1) for the services in an encoded
/// `FileDescriptorSet` (protox's output, `prost::Message::encode_to_vec`).
pub fn reflection(
    file_descriptor_set: &[u8],
) -> Result<
    tonic_reflection::server::v1::ServerReflectionServer<
        impl tonic_reflection::server::v1::ServerReflection,
    >,
    Error,
> {
    tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(file_descriptor_set)
        .build_v1()
        .map_err(|e| Error::invalid_argument(format!("reflection: {e}")))
}
