//! tonic's prost codec, with malformed messages reported as
//! `INVALID_ARGUMENT`.
//!
//! tonic-prost reports a message that does not decode as `INTERNAL`; for a
//! server that is the client's fault, and kit's transports answer bad input
//! with `INVALID_ARGUMENT` everywhere. The encoder is tonic-prost's own.

use std::marker::PhantomData;

use tonic::Status;
use tonic::codec::{BufferSettings, DecodeBuf};
use tonic_prost::{ProstCodec, ProstDecoder, ProstEncoder};

/// A tonic codec for prost messages: tonic-prost's encoder, and a decoder
/// that reports a malformed message as `INVALID_ARGUMENT` (tonic-prost says
/// `INTERNAL`, but for a server a message that does not decode is the
/// client's fault).
#[derive(Debug, Clone, Copy)]
pub struct Codec<T, U> {
    _types: PhantomData<(T, U)>,
}

impl<T, U> Default for Codec<T, U> {
    fn default() -> Self {
        Codec {
            _types: PhantomData,
        }
    }
}

impl<T, U> tonic::codec::Codec for Codec<T, U>
where
    T: prost::Message + Send + 'static,
    U: prost::Message + Default + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = ProstEncoder<T>;
    type Decoder = Decoder<U>;

    fn encoder(&mut self) -> Self::Encoder {
        ProstCodec::<T, U>::new().encoder()
    }

    fn decoder(&mut self) -> Self::Decoder {
        Decoder {
            inner: ProstCodec::<T, U>::new().decoder(),
        }
    }
}

/// The decoder of [`Codec`].
#[derive(Debug)]
pub struct Decoder<U> {
    inner: ProstDecoder<U>,
}

impl<U: prost::Message + Default> tonic::codec::Decoder for Decoder<U> {
    type Item = U;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<U>, Status> {
        self.inner.decode(src).map_err(|status| {
            Status::invalid_argument(format!("malformed protobuf message: {}", status.message()))
        })
    }

    fn buffer_settings(&self) -> BufferSettings {
        self.inner.buffer_settings()
    }
}
