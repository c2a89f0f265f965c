//! `/metrics` as Prometheus sees it: served by the axum handler and the
//! standalone listener, parsed with a real text-format parser
//! (prometheus-parse), holding exact counts after calls with known outcomes.
//!
//! kit-metrics dev-depends on itself with `axum` and `listener` on, so these
//! tests run in every test build.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use kit_endpoint::{Code, Error, endpoint_fn};
use kit_metrics::RequestMetrics;
use prometheus_client::registry::Registry;
use prometheus_parse::{Scrape, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tower::{Service, ServiceBuilder, ServiceExt};

fn addsvc_sum() -> impl Service<(i64, i64), Response = i64, Error = Error> + Clone {
    endpoint_fn(|(a, b): (i64, i64)| async move {
        if a == 0 && b == 0 {
            return Err(Error::invalid_argument("can't sum two zeroes"));
        }
        let v = a
            .checked_add(b)
            .ok_or_else(|| Error::out_of_range("integer overflow"))?;
        i32::try_from(v).map_err(|_| Error::out_of_range("integer overflow"))?;
        Ok(v)
    })
}

/// Makes `ok` good calls, `zeroes` zero sums and `overflows` overflows.
async fn drive(metrics: &RequestMetrics, ok: usize, zeroes: usize, overflows: usize) {
    let svc = ServiceBuilder::new()
        .layer(metrics.layer("sum"))
        .service(addsvc_sum());
    for i in 0..ok {
        svc.clone().oneshot((i as i64, 1)).await.unwrap();
    }
    for _ in 0..zeroes {
        let err = svc.clone().oneshot((0, 0)).await.unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument);
    }
    for _ in 0..overflows {
        svc.clone()
            .oneshot((i64::from(i32::MAX), 1))
            .await
            .unwrap_err();
    }
}

/// The sample values of a scrape, keyed by `name{k=v,...}` with labels sorted.
fn parse(text: &str) -> HashMap<String, Value> {
    let scrape = Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).unwrap();
    scrape
        .samples
        .into_iter()
        .map(|s| {
            let mut labels: Vec<_> = s.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
            labels.sort();
            (format!("{}{{{}}}", s.metric, labels.join(",")), s.value)
        })
        .collect()
}

/// A counter or gauge's number (OpenMetrics names counters `x_total` under
/// `# TYPE x counter`, which prometheus-parse reads as untyped).
fn number(samples: &HashMap<String, Value>, key: &str) -> f64 {
    match samples.get(key) {
        Some(Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v)) => *v,
        other => panic!(
            "{key}: {other:?} in {:?}",
            samples.keys().collect::<Vec<_>>()
        ),
    }
}

fn check(text: &str, ok: usize, zeroes: usize, overflows: usize) {
    assert!(text.contains("# TYPE requests counter"), "{text}");
    assert!(text.contains("# TYPE requests_in_flight gauge"), "{text}");
    assert!(
        text.contains("# TYPE request_duration_seconds histogram"),
        "{text}"
    );
    let samples = parse(text);
    assert_eq!(
        number(&samples, "requests_total{code=ok,endpoint=sum}"),
        ok as f64
    );
    assert_eq!(
        number(
            &samples,
            "requests_total{code=invalid_argument,endpoint=sum}"
        ),
        zeroes as f64
    );
    assert_eq!(
        number(&samples, "requests_total{code=out_of_range,endpoint=sum}"),
        overflows as f64
    );
    assert_eq!(number(&samples, "requests_in_flight{endpoint=sum}"), 0.0);
    let total = (ok + zeroes + overflows) as f64;
    assert_eq!(
        number(&samples, "request_duration_seconds_count{endpoint=sum}"),
        total
    );
    let Some(Value::Histogram(buckets)) = samples.get("request_duration_seconds{endpoint=sum}")
    else {
        panic!("no histogram: {text}");
    };
    assert_eq!(buckets.len(), kit_metrics::DEFAULT_BUCKETS.len() + 1);
    let inf = buckets.iter().find(|b| b.less_than.is_infinite()).unwrap();
    assert_eq!(inf.count, total);
    assert!(
        buckets.windows(2).all(|w| w[0].count <= w[1].count),
        "cumulative"
    );
}

#[tokio::test]
async fn axum_handler_serves_exact_counts() {
    let mut registry = Registry::default();
    let metrics = RequestMetrics::register(&mut registry);
    drive(&metrics, 7, 3, 2).await;
    let app: axum::Router =
        axum::Router::new().route("/metrics", kit_metrics::axum::handler(Arc::new(registry)));
    let res = app
        .oneshot(Request::get("/metrics").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.headers()[header::CONTENT_TYPE],
        kit_metrics::CONTENT_TYPE
    );
    let body = res.into_body().collect().await.unwrap().to_bytes();
    check(std::str::from_utf8(&body).unwrap(), 7, 3, 2);
}

#[tokio::test]
async fn standalone_listener_serves_exact_counts() {
    let mut registry = Registry::default();
    let metrics = RequestMetrics::register(&mut registry);
    drive(&metrics, 11, 1, 4).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(kit_metrics::listener::serve_with_shutdown(
        listener,
        Arc::new(registry),
        async move {
            let _ = stopped.await;
        },
    ));
    let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
    conn.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut response = String::new();
    conn.read_to_string(&mut response).await.unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    check(body, 11, 1, 4);
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}

#[tokio::test]
async fn other_paths_are_not_found() {
    let registry = Arc::new(Registry::default());
    let app: axum::Router =
        axum::Router::new().route("/metrics", kit_metrics::axum::handler(registry));
    let res = app
        .oneshot(Request::get("/nope").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}
