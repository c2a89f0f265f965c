//! roshi-server's HTTP API over real HTTP: the recorded examples, routing,
//! and malformed input.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use stream::wire::Limits;
use support::{call, start, without_duration};

#[tokio::test]
async fn roshis_recorded_examples() {
    let s = start(Limits::default()).await;
    let (status, ct, body) = call(
        s.http,
        "POST",
        "/",
        br#"[{"key":"Zm9v", "score":1.05, "member":"YmFy"},{"key":"Zm9v", "score":1.99, "member":"YmF6"}]"#,
    )
    .await;
    assert_eq!((status, ct.as_str()), (200, "application/json"));
    assert_eq!(
        without_duration(&body),
        "{\"duration\":\"D\",\"inserted\":2}\n"
    );

    let (_, _, body) = call(s.http, "GET", "/", br#"["Zm9v"]"#).await;
    assert_eq!(
        without_duration(&body),
        "{\"duration\":\"D\",\"records\":{\"foo\":[{\"key\":\"Zm9v\",\"score\":1.99,\"member\":\"YmF6\"},{\"key\":\"Zm9v\",\"score\":1.05,\"member\":\"YmFy\"}]}}\n"
    );
    // equal score: the delete wins
    let (_, _, body) = call(
        s.http,
        "DELETE",
        "/",
        br#"[{"key":"Zm9v", "score":1.99, "member":"YmF6"}]"#,
    )
    .await;
    assert_eq!(
        without_duration(&body),
        "{\"deleted\":1,\"duration\":\"D\"}\n"
    );
    let (_, _, body) = call(s.http, "GET", "/any/path", br#"["Zm9v"]"#).await;
    assert_eq!(
        without_duration(&body),
        "{\"duration\":\"D\",\"records\":{\"foo\":[{\"key\":\"Zm9v\",\"score\":1.05,\"member\":\"YmFy\"}]}}\n"
    );
}

#[tokio::test]
async fn coalesce_and_cursors() {
    let s = start(Limits::default()).await;
    // co3: def/456 abc/123; co4: yyy/500 xxx/100 — the recorded coalesce example
    let body =
        br#"[{"key":"Y28z","score":123,"member":"YWJj"},{"key":"Y28z","score":456,"member":"ZGVm"},
        {"key":"Y280","score":500,"member":"eXl5"},{"key":"Y280","score":100,"member":"eHh4"},
        {"key":"Y280","score":600,"member":"enp6"},{"key":"Y28z","score":700,"member":"Z2hp"}]"#;
    assert_eq!(call(s.http, "POST", "/", body).await.0, 200);
    let (_, _, body) = call(
        s.http,
        "GET",
        "/?coalesce=true&offset=2&limit=2",
        br#"["Y28z","Y280"]"#,
    )
    .await;
    assert_eq!(
        without_duration(&body),
        "{\"duration\":\"D\",\"records\":[{\"key\":\"Y280\",\"score\":500,\"member\":\"eXl5\"},{\"key\":\"Y28z\",\"score\":456,\"member\":\"ZGVm\"}]}\n"
    );
    // the page after (500, "yyy") in co4, by Roshi's cursor format
    let cursor = format!("{}A{}", 500f64.to_bits(), "eXl5");
    let (_, _, body) = call(
        s.http,
        "GET",
        &format!("/?start={cursor}&limit=10"),
        br#"["Y280"]"#,
    )
    .await;
    assert_eq!(
        without_duration(&body),
        "{\"duration\":\"D\",\"records\":{\"co4\":[{\"key\":\"Y280\",\"score\":100,\"member\":\"eHh4\"}]}}\n"
    );
}

#[tokio::test]
async fn errors_are_roshis() {
    let s = start(Limits::default()).await;
    let cases: &[(&str, &str, &[u8], u16, &str)] = &[
        ("POST", "/", b"", 400, "EOF"),
        (
            "POST",
            "/",
            b"[{\"key\":\"!!\",\"score\":1,\"member\":\"YQ==\"}]",
            400,
            "illegal base64 data at input byte 0",
        ),
        (
            "POST",
            "/",
            b"[{\"key\":\"YQ==\",\"score\":1e400,\"member\":\"YQ==\"}]",
            400,
            "json: cannot unmarshal number 1e400",
        ),
        (
            "GET",
            "/?start=nope",
            b"[\"YQ==\"]",
            400,
            "invalid cursor string (nope)",
        ),
        (
            "GET",
            "/?offset=0&start=0A",
            b"[\"YQ==\"]",
            400,
            "cannot specify both offset and start/stop",
        ),
        (
            "GET",
            "/",
            b"{}",
            400,
            "json: cannot unmarshal object into Go value of type",
        ),
    ];
    for (method, path, body, status, message) in cases {
        let (got, ct, text) = call(s.http, method, path, body).await;
        assert_eq!(got, *status, "{method} {path} {body:?}: {text}");
        assert_eq!(ct, "application/json");
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["code"], *status);
        assert_eq!(v["description"], "Bad Request");
        assert!(v["error"].as_str().unwrap().starts_with(message), "{text}");
    }
}

#[tokio::test]
async fn a_bad_element_rejects_the_whole_batch() {
    let s = start(Limits::default()).await;
    let body =
        br#"[{"key":"YQ==","score":1,"member":"Yg=="},{"key":"YQ==","score":"2","member":"Yw=="}]"#;
    assert_eq!(call(s.http, "POST", "/", body).await.0, 400);
    let (_, _, text) = call(s.http, "GET", "/", br#"["YQ=="]"#).await;
    assert_eq!(
        without_duration(&text),
        "{\"duration\":\"D\",\"records\":{\"a\":[]}}\n",
        "nothing was written"
    );
}

#[tokio::test]
async fn routing_is_roshis() {
    let s = start(Limits::default()).await;
    let (status, ct, body) = call(s.http, "PUT", "/", b"").await;
    assert_eq!(
        (status, ct.as_str(), body.as_str()),
        (404, "text/plain; charset=utf-8", "404 page not found\n")
    );
    assert_eq!(call(s.http, "HEAD", "/", b"").await.0, 404);
    let (status, _, body) = call(s.http, "GET", "//x/../y", b"[]").await;
    assert_eq!((status, body.as_str()), (301, ""));
    // health lives beside the API
    assert_eq!(call(s.http, "GET", "/healthz", b"").await.0, 200);
}

#[tokio::test]
async fn limits_are_enforced() {
    let limits = Limits {
        max_events: 2,
        max_keys: 1,
        ..Limits::default()
    };
    let s = start(limits).await;
    let three = br#"[{"key":"YQ==","score":1,"member":"Yg=="},{"key":"YQ==","score":2,"member":"Yw=="},{"key":"YQ==","score":3,"member":"ZA=="}]"#;
    let (status, _, text) = call(s.http, "POST", "/", three).await;
    assert_eq!(status, 400, "{text}");
    let (status, _, text) = call(s.http, "GET", "/", br#"["YQ==","Yg=="]"#).await;
    assert_eq!(status, 400, "{text}");
}
