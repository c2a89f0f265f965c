//! The HTTP transport end to end over loopback.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use bytes::Bytes;
use http::{Method, StatusCode};
use http_body_util::{BodyExt, Full};
use kit_endpoint::{Code, Context, Endpoint, Error, Request, endpoint_fn};
use kit_transport::health::{self, Readiness};
use kit_transport::http::{HttpClient, HttpServer, ServerOptions, json, sse};
use kit_transport::propagation::ForwardHeaders;
use kit_transport::serve::Server;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tower::ServiceExt;

#[derive(Serialize, Deserialize, Debug, Clone, Default)]
struct Echo {
    message: String,
    #[serde(default)]
    fail: Option<String>,
    #[serde(default)]
    sleep_ms: u64,
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Reply {
    message: String,
    /// Milliseconds the server's context had left, if it had a deadline.
    deadline_ms: Option<u64>,
    tenant: Option<String>,
}

/// An endpoint that echoes, fails with the code asked for, or sleeps.
fn echo_endpoint(calls: Arc<AtomicUsize>) -> Endpoint<Request<Echo>, Reply> {
    Endpoint::new(endpoint_fn(move |req: Request<Echo>| {
        calls.fetch_add(1, Ordering::SeqCst);
        async move {
            let (ctx, body) = req.into_parts();
            if body.sleep_ms > 0 {
                tokio::time::sleep(Duration::from_millis(body.sleep_ms)).await;
            }
            if let Some(code) = body.fail {
                let code: Code = code
                    .parse()
                    .map_err(|_| Error::invalid_argument("bad code"))?;
                return Err(Error::new(code, format!("failed as asked: {code}"))
                    .with_retry_after(Duration::from_secs(3)));
            }
            Ok(Reply {
                message: body.message,
                deadline_ms: ctx.time_left().map(|d| d.as_millis() as u64),
                tenant: ctx.metadata().get_str("x-tenant").map(str::to_owned),
            })
        }
    }))
}

fn echo_app(calls: Arc<AtomicUsize>, options: ServerOptions) -> Router {
    Router::new().route_service(
        "/echo",
        HttpServer::with_options(
            echo_endpoint(calls),
            json::decode::<Echo>,
            json::encode::<Reply>,
            options,
        ),
    )
}

type EchoClient = Endpoint<Request<Echo>, Reply>;

fn echo_client(addr: std::net::SocketAddr) -> EchoClient {
    Endpoint::new(HttpClient::new(
        Method::POST,
        format!("http://{addr}/echo").parse().unwrap(),
        json::encode_request::<Echo>,
        json::decode_response::<Reply>,
    ))
}

async fn raw(
    addr: std::net::SocketAddr,
    req: http::Request<Full<Bytes>>,
) -> (http::response::Parts, Bytes) {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut send, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(conn);
    let response = send.send_request(req).await.unwrap();
    let (parts, body) = response.into_parts();
    (parts, body.collect().await.unwrap().to_bytes())
}

fn post(
    addr: std::net::SocketAddr,
    path: &str,
    body: impl Into<Bytes>,
) -> http::Request<Full<Bytes>> {
    http::Request::post(format!("http://{addr}{path}"))
        .header("host", addr.to_string())
        .body(Full::new(body.into()))
        .unwrap()
}

#[tokio::test]
async fn round_trip() {
    let calls = Arc::new(AtomicUsize::new(0));
    let (addr, _server) =
        support::spawn(Server::new(), echo_app(calls.clone(), ServerOptions::new())).await;
    let reply = echo_client(addr)
        .oneshot(Request::new(Echo {
            message: "hi".into(),
            ..Echo::default()
        }))
        .await
        .unwrap();
    assert_eq!(
        reply,
        Reply {
            message: "hi".into(),
            deadline_ms: None,
            tenant: None
        }
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn every_code_crosses_the_wire_both_ways() {
    let (addr, _server) = support::spawn(
        Server::new(),
        echo_app(Arc::default(), ServerOptions::new()),
    )
    .await;
    let client = echo_client(addr);
    for code in Code::ALL {
        let req = Echo {
            message: "x".into(),
            fail: Some(code.as_str().into()),
            sleep_ms: 0,
        };
        // the raw response carries the table's status and the hint
        let (parts, body) = raw(addr, post(addr, "/echo", serde_json::to_vec(&req).unwrap())).await;
        assert_eq!(
            parts.status,
            kit_transport::codes::http_status(code),
            "{code}"
        );
        assert_eq!(parts.headers["retry-after"], "3");
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["code"], code.as_str());
        // and the kit client gets the exact error back
        let err = client.clone().oneshot(Request::new(req)).await.unwrap_err();
        assert_eq!(err.code(), code);
        assert_eq!(err.message(), format!("failed as asked: {code}"));
        assert_eq!(err.retry_after(), Some(Duration::from_secs(3)));
    }
}

#[tokio::test]
async fn a_deadline_set_by_a_client_expires_downstream_after_one_hop() {
    // B: the far end, which would sleep for 10 s.
    let (tx, mut b_finished) = tokio::sync::mpsc::unbounded_channel();
    let b_calls = Arc::new(AtomicUsize::new(0));
    let b_app = echo_app(
        b_calls.clone(),
        ServerOptions::new().finalizer(move |f| {
            let _ = tx.send((f.error.map(Error::code), f.cancelled));
        }),
    );
    let (b_addr, _b) = support::spawn(Server::new(), b_app).await;

    // A: forwards to B with its own request context.
    let to_b = echo_client(b_addr);
    let a = endpoint_fn(move |req: Request<Echo>| {
        let to_b = to_b.clone();
        async move { to_b.oneshot(req).await }
    });
    let a_app = Router::new().route_service(
        "/echo",
        HttpServer::new(a, json::decode::<Echo>, json::encode::<Reply>),
    );
    let (a_addr, _a) = support::spawn(Server::new(), a_app).await;

    let ctx = Context::new().with_timeout(Duration::from_millis(300));
    let req = Echo {
        message: "slow".into(),
        fail: None,
        sleep_ms: 10_000,
    };
    let err = echo_client(a_addr)
        .oneshot(Request::with_context(ctx, req))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::DeadlineExceeded, "{err}");
    assert_eq!(b_calls.load(Ordering::SeqCst), 1, "B was called");

    // B gave up at the deadline it got from A, not after its 10 s sleep:
    // its finalizer ran with DeadlineExceeded, or as cancelled when A hung up first.
    let (code, cancelled) = tokio::time::timeout(Duration::from_secs(5), b_finished.recv())
        .await
        .expect("B finished well before its 10 s sleep")
        .unwrap();
    assert!(
        code == Some(Code::DeadlineExceeded) || cancelled,
        "{code:?} {cancelled}"
    );
}

#[tokio::test]
async fn the_deadline_reaches_the_endpoint_and_expired_ones_never_do() {
    let calls = Arc::new(AtomicUsize::new(0));
    let (addr, _server) =
        support::spawn(Server::new(), echo_app(calls.clone(), ServerOptions::new())).await;
    let ctx = Context::new().with_timeout(Duration::from_secs(30));
    let reply = echo_client(addr)
        .oneshot(Request::with_context(
            ctx,
            Echo {
                message: "x".into(),
                ..Echo::default()
            },
        ))
        .await
        .unwrap();
    let left = reply.deadline_ms.expect("the server saw a deadline");
    assert!(left <= 30_000 && left > 0, "{left}");

    let body = serde_json::to_vec(&Echo::default()).unwrap();
    let mut req = post(addr, "/echo", body.clone());
    req.headers_mut()
        .insert("kit-timeout-ms", "0".parse().unwrap());
    let (parts, _) = raw(addr, req).await;
    assert_eq!(parts.status, StatusCode::GATEWAY_TIMEOUT);

    let mut req = post(addr, "/echo", body);
    req.headers_mut()
        .insert("kit-timeout-ms", "soon".parse().unwrap());
    let (parts, body) = raw(addr, req).await;
    assert_eq!(parts.status, StatusCode::BAD_REQUEST);
    assert!(String::from_utf8_lossy(&body).contains("kit-timeout-ms"));
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "only the first call reached the endpoint"
    );

    // an expired deadline on the client side never leaves the process
    let ctx = Context::new().with_timeout(Duration::ZERO);
    let err = echo_client(addr)
        .oneshot(Request::with_context(ctx, Echo::default()))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::DeadlineExceeded);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn oversized_bodies_get_413() {
    let calls = Arc::new(AtomicUsize::new(0));
    let app = echo_app(calls.clone(), ServerOptions::new().body_limit(1024));
    let (addr, _server) = support::spawn(Server::new(), app).await;
    let big = serde_json::to_vec(&Echo {
        message: "x".repeat(4096),
        ..Echo::default()
    })
    .unwrap();

    // declared length over the limit
    let (parts, body) = raw(addr, post(addr, "/echo", big.clone())).await;
    assert_eq!(parts.status, StatusCode::PAYLOAD_TOO_LARGE);
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["code"], "resource_exhausted");

    // chunked, with no length: cut off while reading
    let chunks = tokio_stream::iter(
        big.chunks(100)
            .map(|c| {
                Ok::<_, std::convert::Infallible>(http_body::Frame::data(Bytes::copy_from_slice(c)))
            })
            .collect::<Vec<_>>(),
    );
    let req = http::Request::post(format!("http://{addr}/echo"))
        .header("host", addr.to_string())
        .body(http_body_util::StreamBody::new(chunks))
        .unwrap();
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut send, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(conn);
    let response = send.send_request(req).await.unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(calls.load(Ordering::SeqCst), 0);

    // through the kit client: ResourceExhausted
    let err = echo_client(addr)
        .oneshot(Request::new(Echo {
            message: "x".repeat(4096),
            ..Echo::default()
        }))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::ResourceExhausted);
}

#[tokio::test]
async fn malformed_input_is_a_clear_400() {
    let calls = Arc::new(AtomicUsize::new(0));
    let (addr, _server) =
        support::spawn(Server::new(), echo_app(calls.clone(), ServerOptions::new())).await;
    let cases: &[&[u8]] = &[
        b"",
        b"{",
        b"{\"message\": 5}",
        b"[1,2,3]",
        b"{\"message\": \"\xff\xfe\"}",
        b"\x00\x01\x02",
        b"{\"message\": \"x\", \"sleep_ms\": -1}",
    ];
    for body in cases {
        let (parts, resp) = raw(addr, post(addr, "/echo", Bytes::from_static(body))).await;
        assert_eq!(parts.status, StatusCode::BAD_REQUEST, "{body:?}");
        let resp: serde_json::Value = serde_json::from_slice(&resp).unwrap();
        assert_eq!(resp["code"], "invalid_argument");
        assert!(
            resp["error"]
                .as_str()
                .unwrap()
                .starts_with("invalid JSON body"),
            "{resp}"
        );
    }
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn absurd_headers_are_refused_without_harm() {
    let calls = Arc::new(AtomicUsize::new(0));
    let (addr, _server) =
        support::spawn(Server::new(), echo_app(calls.clone(), ServerOptions::new())).await;
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let huge = "a".repeat(1 << 20);
    let req = format!(
        "POST /echo HTTP/1.1\r\nHost: x\r\nX-Huge: {huge}\r\nContent-Length: 2\r\n\r\n{{}}"
    );
    // The server may stop reading part-way; either way it answers or closes.
    let _ = stream.write_all(req.as_bytes()).await;
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut buf)).await;
    let text = String::from_utf8_lossy(&buf);
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 431"),
        "unexpected answer: {}",
        text.lines().next().unwrap_or("")
    );
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    // and the server still serves
    let reply = echo_client(addr)
        .oneshot(Request::new(Echo {
            message: "still here".into(),
            ..Echo::default()
        }))
        .await
        .unwrap();
    assert_eq!(reply.message, "still here");
}

#[tokio::test]
async fn hooks_run_in_order_and_the_finalizer_exactly_once() {
    let log = Arc::new(Mutex::new(Vec::<String>::new()));
    let (l1, l2, l3) = (log.clone(), log.clone(), log.clone());
    let options = ServerOptions::new()
        .before(move |parts, ctx| {
            l1.lock()
                .unwrap()
                .push(format!("before {}", parts.uri.path()));
            if let Some(t) = parts.headers.get("x-tenant") {
                ctx.metadata_mut().insert("x-tenant", t.as_bytes().to_vec());
            }
        })
        .after(move |ctx, headers| {
            l2.lock().unwrap().push("after".into());
            if let Some(t) = ctx.metadata().get_str("x-tenant") {
                headers.insert("x-served-tenant", t.parse().unwrap());
            }
        })
        .finalizer(move |f| {
            l3.lock().unwrap().push(format!(
                "finalize {} {:?} called={}",
                f.status.as_u16(),
                f.error.map(Error::code),
                f.endpoint_called
            ));
        });
    let (addr, _server) = support::spawn(Server::new(), echo_app(Arc::default(), options)).await;

    let mut req = post(
        addr,
        "/echo",
        serde_json::to_vec(&Echo {
            message: "a".into(),
            ..Echo::default()
        })
        .unwrap(),
    );
    req.headers_mut()
        .insert("x-tenant", "acme".parse().unwrap());
    let (parts, body) = raw(addr, req).await;
    assert_eq!(parts.status, StatusCode::OK);
    assert_eq!(parts.headers["x-served-tenant"], "acme");
    let reply: Reply = serde_json::from_slice(&body).unwrap();
    assert_eq!(reply.tenant.as_deref(), Some("acme"));
    let req = Echo {
        message: "b".into(),
        fail: Some("not_found".into()),
        sleep_ms: 0,
    };
    let (parts, _) = raw(addr, post(addr, "/echo", serde_json::to_vec(&req).unwrap())).await;
    assert_eq!(parts.status, StatusCode::NOT_FOUND);
    assert!(!parts.headers.contains_key("x-served-tenant"));
    // Refused before the endpoint: endpoint middleware never sees these.
    let (parts, _) = raw(addr, post(addr, "/echo", b"{not json".to_vec())).await;
    assert_eq!(parts.status, StatusCode::BAD_REQUEST);
    let mut req = post(addr, "/echo", serde_json::to_vec(&Echo::default()).unwrap());
    req.headers_mut()
        .insert("kit-timeout-ms", "soon".parse().unwrap());
    let (parts, _) = raw(addr, req).await;
    assert_eq!(parts.status, StatusCode::BAD_REQUEST);

    assert_eq!(
        *log.lock().unwrap(),
        vec![
            "before /echo".to_string(),
            "after".into(),
            "finalize 200 None called=true".into(),
            "before /echo".into(),
            "finalize 404 Some(NotFound) called=true".into(),
            "before /echo".into(),
            "finalize 400 Some(InvalidArgument) called=false".into(),
            "finalize 400 Some(InvalidArgument) called=false".into(),
        ]
    );
}

#[tokio::test]
async fn a_client_that_hangs_up_is_finalized_as_cancelled() {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let options = ServerOptions::new().finalizer(move |f| {
        let _ = tx.send((f.status.as_u16(), f.cancelled, f.endpoint_called));
    });
    let (addr, _server) = support::spawn(Server::new(), echo_app(Arc::default(), options)).await;
    let body = serde_json::to_vec(&Echo {
        message: "x".into(),
        fail: None,
        sleep_ms: 60_000,
    })
    .unwrap();
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&body).await.unwrap();
    drop(stream);
    let finished = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("the finalizer ran")
        .unwrap();
    assert_eq!(finished, (499, true, true), "dropped inside the endpoint");
    // exactly once
    assert!(rx.try_recv().is_err());
}

#[tokio::test]
async fn works_as_a_plain_tower_service() {
    let server = HttpServer::new(
        echo_endpoint(Arc::default()),
        json::decode::<Echo>,
        json::encode::<Reply>,
    );
    let body = serde_json::to_vec(&Echo {
        message: "direct".into(),
        ..Echo::default()
    })
    .unwrap();
    let response = server
        .oneshot(http::Request::new(Full::new(Bytes::from(body))))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let reply: Reply = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(reply.message, "direct");
}

#[tokio::test]
async fn forwarded_headers_cross_a_hop() {
    let (b_addr, _b) = support::spawn(
        Server::new(),
        echo_app(
            Arc::default(),
            ServerOptions::new().propagator(ForwardHeaders::new(["x-tenant"])),
        ),
    )
    .await;
    let to_b: EchoClient = Endpoint::new(HttpClient::with_options(
        kit_transport::http::Pool::new(),
        Method::POST,
        format!("http://{b_addr}/echo").parse().unwrap(),
        json::encode_request::<Echo>,
        json::decode_response::<Reply>,
        kit_transport::http::ClientOptions::new().propagator(ForwardHeaders::new(["x-tenant"])),
    ));
    let mut ctx = Context::new();
    ctx.metadata_mut().insert("x-tenant", "globex");
    let reply = to_b
        .oneshot(Request::with_context(
            ctx,
            Echo {
                message: "m".into(),
                ..Echo::default()
            },
        ))
        .await
        .unwrap();
    assert_eq!(reply.tenant.as_deref(), Some("globex"));
}

#[tokio::test]
async fn health_routes_follow_readiness() {
    let readiness = Readiness::new();
    let app = health::http_routes(readiness.clone());
    let (addr, _server) = support::spawn(Server::new().readiness(readiness.clone()), app).await;
    let get = |path: &str| {
        http::Request::get(format!("http://{addr}{path}"))
            .header("host", addr.to_string())
            .body(Full::new(Bytes::new()))
            .unwrap()
    };
    assert_eq!(raw(addr, get("/healthz")).await.0.status, StatusCode::OK);
    assert_eq!(raw(addr, get("/readyz")).await.0.status, StatusCode::OK);
    readiness.add_check("store", || async { Err("disk full".to_string()) });
    let (parts, body) = raw(addr, get("/readyz")).await;
    assert_eq!(parts.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(String::from_utf8_lossy(&body).contains("store: disk full"));
    assert_eq!(raw(addr, get("/healthz")).await.0.status, StatusCode::OK);
}

#[tokio::test]
async fn server_sent_events_stream_items_then_the_error() {
    let ticks = endpoint_fn(|req: Request<u32>| async move {
        let n = req.body;
        let items = (1..=n)
            .map(Ok)
            .chain(std::iter::once(Err(Error::unavailable("source went away"))));
        Ok::<_, Error>(tokio_stream::iter(items))
    });
    let server = HttpServer::new(
        ticks,
        |parts: &http::request::Parts, _| {
            parts
                .uri
                .query()
                .and_then(|q| q.strip_prefix("n="))
                .and_then(|n| n.parse::<u32>().ok())
                .ok_or_else(|| Error::invalid_argument("want ?n="))
        },
        |stream| {
            Ok(sse::response(stream, |n: u32| {
                Ok(sse::Event::default().data(n.to_string()))
            }))
        },
    );
    let (addr, _server) =
        support::spawn(Server::new(), Router::new().route_service("/ticks", server)).await;
    let req = http::Request::get(format!("http://{addr}/ticks?n=3"))
        .header("host", addr.to_string())
        .body(Full::new(Bytes::new()))
        .unwrap();
    let (parts, body) = raw(addr, req).await;
    assert_eq!(parts.headers["content-type"], "text/event-stream");
    let text = String::from_utf8(body.to_vec()).unwrap();
    let data: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .collect();
    assert_eq!(data[..3], ["1", "2", "3"]);
    assert!(text.contains("event: error"), "{text}");
    assert!(data[3].contains("\"code\":\"unavailable\""), "{text}");
}

#[tokio::test]
async fn slow_headers_are_cut_off() {
    let server = Server::new().header_read_timeout(Duration::from_millis(200));
    let (addr, _server) =
        support::spawn(server, echo_app(Arc::default(), ServerOptions::new())).await;
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    // never finish the headers: the server must close the connection
    let mut buf = Vec::new();
    // Ok or a reset: either way the connection ended, and did not hang.
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut buf))
        .await
        .expect("the server closed the connection");
    let text = String::from_utf8_lossy(&buf);
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 408"),
        "{text}"
    );
}

#[tokio::test]
async fn an_unreachable_server_is_unavailable() {
    let port = kit_testkit::free_port().unwrap();
    let addr: std::net::SocketAddr = ([127, 0, 0, 1], port).into();
    let err = echo_client(addr)
        .oneshot(Request::new(Echo::default()))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err}");
    assert!(err.message().starts_with("connecting"), "{err}");
}
