//! `requests_rejected_total` counts what kit-transport refuses before the
//! endpoint runs, and nothing the endpoint saw; `requests_total` the rest.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::body::Body;
use kit_endpoint::{Endpoint, Error, Request, endpoint_fn};
use kit_metrics::RequestMetrics;
use kit_metrics::transport::RejectedRequests;
use kit_transport::grpc::{GrpcServer, GrpcServerOptions};
use kit_transport::http::{HttpServer, ServerOptions, json};
use prometheus_client::registry::Registry;
use tower::{Layer, ServiceExt};

/// The value of the sample line starting with `series` (name and labels).
fn value(registry: &Registry, series: &str) -> Option<f64> {
    let text = kit_metrics::encode(registry).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

fn double() -> Endpoint<Request<u32>, u32> {
    Endpoint::new(endpoint_fn(
        |req: Request<u32>| async move { Ok(req.body * 2) },
    ))
}

#[tokio::test]
async fn http_requests_refused_before_the_endpoint_are_counted_by_code() {
    let mut registry = Registry::default();
    let metrics = RequestMetrics::register(&mut registry);
    let rejected = RejectedRequests::register(&mut registry);
    let options = ServerOptions::new()
        .body_limit(16)
        .finalizer(rejected.http());
    let server = HttpServer::with_options(
        Endpoint::new(metrics.layer("double").layer(double())),
        json::decode::<u32>,
        json::encode::<u32>,
        options,
    );
    let send = |body: &'static str, timeout: Option<&'static str>| {
        let mut req = http::Request::post("/double")
            .body(Body::from(body))
            .unwrap();
        if let Some(t) = timeout {
            req.headers_mut()
                .insert("kit-timeout-ms", t.parse().unwrap());
        }
        server.clone().oneshot(req)
    };
    assert_eq!(send("21", None).await.unwrap().status(), 200);
    assert_eq!(send("{not json", None).await.unwrap().status(), 400);
    assert_eq!(send("\"a string\"", None).await.unwrap().status(), 400);
    assert_eq!(
        send("12345678901234567890", None).await.unwrap().status(),
        413
    );
    assert_eq!(send("21", Some("soon")).await.unwrap().status(), 400);

    let rejected = |code: &str| {
        value(
            &registry,
            &format!(r#"requests_rejected_total{{transport="http",code="{code}"}}"#),
        )
    };
    assert_eq!(rejected("invalid_argument"), Some(3.0));
    assert_eq!(rejected("resource_exhausted"), Some(1.0));
    assert_eq!(
        value(&registry, r#"requests_total{endpoint="double",code="ok"}"#),
        Some(1.0)
    );
    assert_eq!(
        value(
            &registry,
            r#"request_duration_seconds_count{endpoint="double"}"#
        ),
        Some(1.0),
        "the endpoint saw only the good request"
    );
}

#[tokio::test]
async fn grpc_calls_refused_before_the_endpoint_are_counted_and_failures_inside_are_not() {
    let mut registry = Registry::default();
    let rejected = RejectedRequests::register(&mut registry);
    let decode: fn(String) -> Result<u32, Error> = |s| {
        s.parse()
            .map_err(|_| Error::invalid_argument(format!("not a number: {s:?}")))
    };
    let encode: fn(u32) -> Result<String, Error> = |n| Ok(n.to_string());
    let failing = endpoint_fn(|req: Request<u32>| async move {
        if req.body == 0 {
            return Err(Error::not_found("zero"));
        }
        Ok(req.body * 2)
    });
    let server = GrpcServer::with_options(
        failing,
        decode,
        encode,
        GrpcServerOptions::new().finalizer(rejected.grpc()),
    );
    let reply = server
        .unary(tonic::Request::new("21".to_string()))
        .await
        .unwrap();
    assert_eq!(reply.into_inner(), "42");
    server
        .unary(tonic::Request::new("0".to_string()))
        .await
        .unwrap_err();
    server
        .unary(tonic::Request::new("many".to_string()))
        .await
        .unwrap_err();
    let mut bad_timeout = tonic::Request::new("21".to_string());
    bad_timeout
        .metadata_mut()
        .insert("grpc-timeout", "soon".parse().unwrap());
    server.unary(bad_timeout).await.unwrap_err();

    let text = kit_metrics::encode(&registry).unwrap();
    assert_eq!(
        value(
            &registry,
            r#"requests_rejected_total{transport="grpc",code="invalid_argument"}"#
        ),
        Some(2.0),
        "{text}"
    );
    assert!(
        !text.contains("not_found"),
        "the endpoint's own failure: {text}"
    );
}
