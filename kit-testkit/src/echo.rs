//! `kit.test.echo.Echo`: a small gRPC service for transport tests, generated
//! by tonic with kit's codec (`kit_transport::grpc::Codec`) from
//! `proto/echo.proto`.

#![allow(missing_docs, unreachable_pub, clippy::all, clippy::pedantic)]

tonic::include_proto!("kit.test.echo");

/// The encoded `FileDescriptorSet` of `echo.proto`, for gRPC reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/echo_descriptor.bin"));
