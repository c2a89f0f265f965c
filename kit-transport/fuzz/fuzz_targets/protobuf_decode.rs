//! Protobuf decoding on the gRPC server path never panics, and every
//! failure is INVALID_ARGUMENT.
#![no_main]

use kit_transport::grpc::decode_message;
use libfuzzer_sys::fuzz_target;

#[derive(Clone, PartialEq, prost::Message)]
struct Msg {
    #[prost(string, tag = "1")]
    text: String,
    #[prost(int64, repeated, tag = "2")]
    numbers: Vec<i64>,
    #[prost(bytes = "vec", tag = "3")]
    blob: Vec<u8>,
    #[prost(message, optional, boxed, tag = "4")]
    child: Option<Box<Msg>>,
    #[prost(map = "string, double", tag = "5")]
    scores: std::collections::HashMap<String, f64>,
}

fuzz_target!(|data: &[u8]| {
    if let Err(status) = decode_message::<Msg>(data) {
        // 3 is INVALID_ARGUMENT
        assert_eq!(status.code() as i32, 3);
    }
});
