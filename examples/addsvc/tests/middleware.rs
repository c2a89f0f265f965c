//! addsvc's middleware in place: rate-limit rejections never open the
//! breaker (Go kit's flaw), and /metrics counts what happened.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use addsvc::middleware::{Middleware, Rate};
use addsvc::service::{BasicService, Service, ServiceError};
use kit_endpoint::Code;
use prometheus_client::registry::Registry;

#[tokio::test(start_paused = true)]
async fn rate_limit_rejections_do_not_open_the_breaker() {
    let mut registry = Registry::default();
    let middleware = Middleware::new(&mut registry, None);
    assert_eq!(middleware.sum_rate, Rate::new(1, 1), "Go kit's Sum limit");
    let set = middleware.set(BasicService);

    // 1 admitted, then 20 rejected at once: in Go kit, 6 of these would
    // open the breaker for 60 s.
    assert_eq!(set.sum(1, 2).await, Ok(3));
    for _ in 0..20 {
        match set.sum(1, 2).await {
            Err(ServiceError::Transport(e)) => {
                assert_eq!(e.code(), Code::ResourceExhausted);
                assert!(e.retry_after().is_some());
            }
            other => panic!("expected a rate-limit rejection, got {other:?}"),
        }
    }
    // A second later the limiter admits again, and the breaker is closed.
    tokio::time::advance(std::time::Duration::from_secs(1)).await;
    assert_eq!(set.sum(2, 3).await, Ok(5));
    // Business errors are not failures either.
    tokio::time::advance(std::time::Duration::from_secs(1)).await;
    assert_eq!(set.sum(0, 0).await, Err(ServiceError::TwoZeroes));

    let text = kit_metrics::encode(&registry).unwrap();
    for line in [
        r#"requests_total{endpoint="Sum",code="ok"} 3"#,
        r#"requests_total{endpoint="Sum",code="resource_exhausted"} 20"#,
        r#"rate_limit_rejections_total{limiter="Sum",reason="rate_exceeded"} 20"#,
        r#"circuit_breaker_state{breaker="Sum",state="closed"} 1"#,
    ] {
        assert!(text.contains(line), "missing {line} in\n{text}");
    }
    assert!(
        !text.contains("circuit_breaker_transitions_total{"),
        "the breaker never moved:\n{text}"
    );
}
