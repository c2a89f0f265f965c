//! tonic's prost codec, with malformed messages reported as
//! `INVALID_ARGUMENT`.
//!
//! tonic-prost reports a message that does not decode as `INTERNAL`; for a
//! server that is the client's fault, and kit's transports answer bad input
//! with `INVALID_ARGUMENT` everywhere. The encoder is tonic-prost's own.

use std::marker::PhantomData;

use bytes::Buf;
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
        decode_message(src).map(Some)
    }

    fn buffer_settings(&self) -> BufferSettings {
        self.inner.buffer_settings()
    }
}

/// Decodes one protobuf message as the server side of [`Codec`] does: a
/// message that does not decode is `INVALID_ARGUMENT`. Fuzz targets and
/// tests call it directly.
pub fn decode_message<U: prost::Message + Default>(buf: impl Buf) -> Result<U, Status> {
    U::decode(buf).map_err(|e| Status::invalid_argument(format!("malformed protobuf message: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[derive(Clone, PartialEq, prost::Message)]
    struct Msg {
        #[prost(string, tag = "1")]
        text: String,
        #[prost(int64, repeated, tag = "2")]
        numbers: Vec<i64>,
        #[prost(message, optional, boxed, tag = "3")]
        child: Option<Box<Msg>>,
    }

    #[test]
    fn truncated_and_malformed_messages_are_invalid_argument() {
        for bytes in [
            &[0x0a, 0x05, b'a'][..],
            &[0xff; 11],
            &[0x0a, 0x02, 0xc3, 0x28],
            &[0x12, 0x03, 0x80],
        ] {
            let status = decode_message::<Msg>(bytes).unwrap_err();
            assert_eq!(status.code(), tonic::Code::InvalidArgument, "{bytes:?}");
        }
        let ok = Msg {
            text: "hi".into(),
            numbers: vec![1, -2],
            child: None,
        };
        assert_eq!(
            decode_message::<Msg>(&prost::Message::encode_to_vec(&ok)[..]).unwrap(),
            ok
        );
    }

    proptest! {
        #[test]
        fn any_bytes_decode_or_fail_cleanly(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            if let Err(status) = decode_message::<Msg>(&bytes[..]) {
                prop_assert_eq!(status.code(), tonic::Code::InvalidArgument);
            }
        }
    }
}
