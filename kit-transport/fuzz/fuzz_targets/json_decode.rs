//! JSON request decoding and client-side error decoding never panic.
#![no_main]

use bytes::Bytes;
use kit_transport::http::json;
use libfuzzer_sys::fuzz_target;

#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct Request {
    a: i64,
    b: String,
    c: Option<Vec<f64>>,
}

fuzz_target!(|data: &[u8]| {
    let (parts, ()) = http::Request::new(()).into_parts();
    if let Err(e) = json::decode::<Request>(&parts, Bytes::copy_from_slice(data)) {
        assert_eq!(e.code(), kit_endpoint::Code::InvalidArgument);
    }
    let (mut parts, ()) = http::Response::new(()).into_parts();
    parts.status = http::StatusCode::BAD_GATEWAY;
    let _ = json::error_from_response(&parts, data);
    let _ = kit_transport::timeout::parse_grpc_timeout(data);
    let _ = kit_transport::timeout::parse_timeout_ms(data);
});
