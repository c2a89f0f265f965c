//! A pass-through tonic codec: messages are already-encoded bytes.
//!
//! A load generator should not pay for protobuf encoding on every request,
//! and should not need the service's `.proto` at all: the request is
//! encoded once (by hand, `protoc --encode`, or a test) and sent as is, and
//! replies are taken as bytes, checked only for their `grpc-status`. The
//! echo server uses the same codec to answer with what it was sent.

use bytes::{Buf, BufMut, Bytes};
use tonic::Status;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};

/// A [`Codec`] whose messages are raw bytes, both ways.
///
/// ```
/// use bytes::Bytes;
/// use kit_load::BytesCodec;
/// use tonic::client::{Grpc, GrpcService};
///
/// // A unary call with pre-encoded protobuf (`SumRequest { a: 1, b: 2 }`),
/// // over any transport tonic's client accepts.
/// async fn sum<T>(transport: T) -> Result<Bytes, tonic::Status>
/// where
///     T: GrpcService<tonic::body::Body>,
///     T::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
///     T::ResponseBody: http_body::Body<Data = Bytes> + Send + 'static,
///     <T::ResponseBody as http_body::Body>::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
/// {
///     let mut grpc = Grpc::new(transport);
///     grpc.ready().await.map_err(|e| tonic::Status::unavailable(e.into().to_string()))?;
///     let path = http::uri::PathAndQuery::from_static("/pb.Add/Sum");
///     let request = tonic::Request::new(Bytes::from_static(&[0x08, 1, 0x10, 2]));
///     Ok(grpc.unary(request, path, BytesCodec).await?.into_inner())
/// }
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct BytesCodec;

impl Codec for BytesCodec {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = BytesCodec;
    type Decoder = BytesCodec;

    fn encoder(&mut self) -> BytesCodec {
        BytesCodec
    }

    fn decoder(&mut self) -> BytesCodec {
        BytesCodec
    }
}

impl Encoder for BytesCodec {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put(item);
        Ok(())
    }
}

impl Decoder for BytesCodec {
    type Item = Bytes;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}
