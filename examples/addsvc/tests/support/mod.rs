//! Shared helpers for addsvc's integration tests: a raw HTTP/1.1 client.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};

/// One raw HTTP/1.1 exchange over a fresh connection: the response head
/// and its body as text.
pub async fn exchange<B>(
    addr: SocketAddr,
    req: ::http::Request<B>,
) -> (::http::response::Parts, String)
where
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut send, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(conn);
    let (parts, body) = send.send_request(req).await.unwrap().into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    (parts, String::from_utf8(body.to_vec()).unwrap())
}

/// A POST of `body` to `path` on `addr`.
pub fn post(addr: SocketAddr, path: &str, body: impl AsRef<[u8]>) -> ::http::Request<Full<Bytes>> {
    ::http::Request::post(path)
        .header("host", addr.to_string())
        .body(Full::new(Bytes::copy_from_slice(body.as_ref())))
        .unwrap()
}
