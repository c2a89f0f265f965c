//! Durability of the service as users run it: the `stream` binary, loaded
//! over HTTP by concurrent writers, is SIGKILLed mid-load; restarted on the
//! same data directory, it returns every event it acknowledged.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};

const KEYS: usize = 8;
const WRITERS: usize = 4;
const BATCH: usize = 25;
/// Acknowledged batches to wait for before the kill.
const KILL_AFTER: usize = 120;

async fn send(
    send: &mut hyper::client::conn::http1::SendRequest<Full<Bytes>>,
    addr: SocketAddr,
    method: &str,
    uri: &str,
    body: String,
) -> Option<(u16, Bytes)> {
    let req = http::Request::builder()
        .method(method)
        .uri(uri)
        .header("host", addr.to_string())
        .body(Full::new(Bytes::from(body)))
        .unwrap();
    let response = send.send_request(req).await.ok()?;
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.ok()?.to_bytes();
    Some((status, body))
}

async fn connect(addr: SocketAddr) -> Option<hyper::client::conn::http1::SendRequest<Full<Bytes>>> {
    let stream = tokio::net::TcpStream::connect(addr).await.ok()?;
    let (send, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
        .await
        .ok()?;
    tokio::spawn(conn);
    Some(send)
}

fn key(i: usize) -> String {
    STANDARD.encode(format!("key{i}"))
}

/// One writer: batches until the server goes away; records each
/// acknowledged batch's (key, member) pairs.
async fn writer(
    id: usize,
    addr: SocketAddr,
    acked: Arc<Mutex<Vec<(String, String)>>>,
    batches: tokio::sync::watch::Sender<usize>,
) {
    let Some(mut conn) = connect(addr).await else {
        return;
    };
    for b in 0.. {
        let events: Vec<(String, String)> = (0..BATCH)
            .map(|e| {
                (
                    key((b + e) % KEYS),
                    STANDARD.encode(format!("w{id}-b{b}-e{e}")),
                )
            })
            .collect();
        let body = events
            .iter()
            .enumerate()
            .map(|(e, (k, m))| {
                format!(
                    "{{\"key\":\"{k}\",\"score\":{},\"member\":\"{m}\"}}",
                    b * BATCH + e
                )
            })
            .collect::<Vec<_>>()
            .join(",");
        match send(&mut conn, addr, "POST", "/", format!("[{body}]")).await {
            Some((200, _)) => {
                acked.lock().unwrap().extend(events);
                batches.send_modify(|n| *n += 1);
            }
            _ => return,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_event_survives_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let support::Binary {
        mut child,
        http: addr,
        ..
    } = support::binary(dir.path(), &[]);
    let acked = Arc::new(Mutex::new(Vec::new()));
    let (batches, mut acks) = tokio::sync::watch::channel(0);
    let writers: Vec<_> = (0..WRITERS)
        .map(|id| tokio::spawn(writer(id, addr, acked.clone(), batches.clone())))
        .collect();
    // wait for enough acknowledgements, then kill the server mid-load
    tokio::time::timeout(
        Duration::from_secs(120),
        acks.wait_for(|n| *n >= KILL_AFTER),
    )
    .await
    .expect("the server acknowledged enough batches in time")
    .unwrap();
    child.kill(); // SIGKILL, with the writers still writing
    for w in writers {
        w.await.unwrap();
    }
    let acked: HashSet<(String, String)> = acked.lock().unwrap().iter().cloned().collect();
    assert!(acked.len() >= KILL_AFTER * BATCH);

    child.start().unwrap(); // same port, same data directory
    let mut conn = connect(addr).await.unwrap();
    let keys: Vec<String> = (0..KEYS).map(|i| format!("\"{}\"", key(i))).collect();
    // a limit that covers every event written
    let (status, body) = send(
        &mut conn,
        addr,
        "GET",
        "/?limit=100000",
        format!("[{}]", keys.join(",")),
    )
    .await
    .unwrap();
    assert_eq!(status, 200);
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let mut stored = HashSet::new();
    for (_, events) in v["records"].as_object().unwrap() {
        for e in events.as_array().unwrap() {
            stored.insert((
                e["key"].as_str().unwrap().to_owned(),
                e["member"].as_str().unwrap().to_owned(),
            ));
        }
    }
    let lost: Vec<_> = acked.difference(&stored).take(5).collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged events lost, e.g. {lost:?}",
        acked.difference(&stored).count()
    );
}
