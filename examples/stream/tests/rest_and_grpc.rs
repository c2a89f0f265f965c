//! The REST and gRPC APIs over real connections, including the live feed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use stream::pb;
use stream::pb::stream_client::StreamClient;
use stream::wire::Limits;
use support::{call, start};

fn client(addr: std::net::SocketAddr) -> StreamClient<tonic::transport::Channel> {
    StreamClient::new(kit_transport::grpc::channel(&format!("http://{addr}")).unwrap())
}

fn ev(key: &str, score: f64, member: &str) -> pb::Event {
    pb::Event {
        key: key.as_bytes().to_vec().into(),
        score,
        member: member.as_bytes().to_vec().into(),
    }
}

#[tokio::test]
async fn rest_pages_follow_their_next_cursor() {
    let s = start(Limits::default()).await;
    // 25 members with equal scores: paging must not skip or repeat any
    let events: Vec<String> = (0..25)
        .map(|i| {
            format!(
                "{{\"score\":-7,\"member\":\"{}\"}}",
                base64_of(&format!("m{i:02}"))
            )
        })
        .collect();
    let body = format!("[{}]", events.join(","));
    let (status, _, text) = call(
        s.http,
        "POST",
        "/v1/streams/feed%2F1/events",
        body.as_bytes(),
    )
    .await;
    assert_eq!(
        (status, text.as_str()),
        (200, "{\"requested\":25,\"applied\":25}")
    );

    let mut seen = Vec::new();
    let mut path = "/v1/streams/feed%2F1?limit=10".to_string();
    loop {
        let (status, _, text) = call(s.http, "GET", &path, b"").await;
        assert_eq!(status, 200, "{text}");
        let page: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(page["key"], base64_of("feed/1"));
        for e in page["events"].as_array().unwrap() {
            assert_eq!(e["score"], -7);
            seen.push(e["member"].as_str().unwrap().to_owned());
        }
        match page["next"].as_str() {
            Some(next) => path = format!("/v1/streams/feed%2F1?limit=10&start={next}"),
            None => break,
        }
    }
    let expected: Vec<String> = (0..25)
        .rev()
        .map(|i| base64_of(&format!("m{i:02}")))
        .collect();
    assert_eq!(seen, expected);

    let (status, _, text) = call(
        s.http,
        "POST",
        "/v1/streams/k/events",
        b"[{\"score\":1,\"member\":\"***\"}]",
    )
    .await;
    assert_eq!(status, 400, "{text}");
    let (status, _, _) = call(
        s.http,
        "POST",
        "/v1/streams/k/events",
        b"[{\"score\":null,\"member\":\"YQ==\"}]",
    )
    .await;
    assert_eq!(status, 400);
}

fn base64_of(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(s)
}

#[tokio::test]
async fn grpc_insert_select_delete() {
    let s = start(Limits::default()).await;
    let mut c = client(s.grpc);
    let reply = c
        .insert(pb::WriteRequest {
            events: vec![ev("k", 1.0, "a"), ev("k", 2.0, "b"), ev("k", 2.0, "b")],
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((reply.requested, reply.applied), (3, 2));
    let reply = c
        .delete(pb::WriteRequest {
            events: vec![ev("k", 2.0, "b")],
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(reply.applied, 1);
    let sel = c
        .select(pb::SelectRequest {
            keys: vec!["k".into()],
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(sel.keys.len(), 1);
    let members: Vec<_> = sel.keys[0]
        .events
        .iter()
        .map(|e| e.member.clone())
        .collect();
    assert_eq!(members, vec![bytes::Bytes::from_static(b"a")]);

    let status = c
        .insert(pb::WriteRequest {
            events: vec![ev("k", f64::NAN, "x")],
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    let status = c
        .select(pb::SelectRequest {
            keys: vec!["k".into()],
            start: Some(pb::Cursor {
                score: f64::NAN,
                member: Default::default(),
            }),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
}

#[tokio::test]
async fn subscribe_pushes_new_events_for_the_keys_followed() {
    let s = start(Limits::default()).await;
    let mut c = client(s.grpc);
    let mut changes = c
        .subscribe(pb::SubscribeRequest {
            keys: vec!["mine".into()],
        })
        .await
        .unwrap()
        .into_inner();
    // A write to another key is not pushed; one that mixes keys pushes only ours.
    c.insert(pb::WriteRequest {
        events: vec![ev("other", 1.0, "x")],
    })
    .await
    .unwrap();
    c.insert(pb::WriteRequest {
        events: vec![ev("other", 2.0, "y"), ev("mine", 3.0, "z")],
    })
    .await
    .unwrap();
    c.delete(pb::WriteRequest {
        events: vec![ev("mine", 4.0, "z")],
    })
    .await
    .unwrap();
    let first = tokio::time::timeout(Duration::from_secs(10), changes.message())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(first.kind(), pb::change::Kind::Insert);
    assert_eq!(first.events, vec![ev("mine", 3.0, "z")]);
    let second = tokio::time::timeout(Duration::from_secs(10), changes.message())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(second.kind(), pb::change::Kind::Delete);

    let status = c
        .subscribe(pb::SubscribeRequest { keys: vec![] })
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
}
