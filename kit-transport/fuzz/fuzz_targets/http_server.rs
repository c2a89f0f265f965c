//! The whole HTTP server path (deadline header, body limit, JSON decode,
//! endpoint, error encoding) on arbitrary input: it always answers, never
//! panics, and never with a 500.
#![no_main]

use bytes::Bytes;
use http_body_util::Full;
use kit_endpoint::{Error, Request, endpoint_fn};
use kit_transport::http::{HttpServer, ServerOptions, json};
use libfuzzer_sys::fuzz_target;
use tower::ServiceExt;

#[derive(serde::Deserialize, serde::Serialize)]
struct Sum {
    a: i64,
    b: i64,
}

fuzz_target!(|data: &[u8]| {
    let (head, body) = data.split_at(data.len().min(16));
    let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
    rt.block_on(async {
        let sum = endpoint_fn(|req: Request<Sum>| async move {
            let v = req.body.a.checked_add(req.body.b).ok_or_else(|| Error::invalid_argument("overflow"))?;
            Ok::<_, Error>(Sum { a: v, b: 0 })
        });
        let server = HttpServer::with_options(
            sum,
            json::decode::<Sum>,
            json::encode::<Sum>,
            ServerOptions::new().body_limit(64),
        );
        let mut req = http::Request::new(Full::new(Bytes::copy_from_slice(body)));
        if let Ok(v) = http::HeaderValue::from_bytes(head) {
            req.headers_mut().insert("kit-timeout-ms", v.clone());
            req.headers_mut().insert("grpc-timeout", v);
        }
        let response = server.oneshot(req).await.unwrap();
        assert_ne!(response.status(), http::StatusCode::INTERNAL_SERVER_ERROR);
    });
});
