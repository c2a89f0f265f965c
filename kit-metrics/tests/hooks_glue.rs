//! A real breaker and a real limiter reporting into /metrics through the
//! hook glue (features `circuitbreaker` and `ratelimit`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::num::NonZeroU32;
use std::time::Duration;

use kit_circuitbreaker::{CircuitBreakerLayer, Config, Trip};
use kit_endpoint::{Error, endpoint_fn};
use kit_metrics::hooks::{BreakerMetrics, LimiterMetrics};
use kit_ratelimit::{Quota, RateLimitLayer, RateLimiter};
use prometheus_client::registry::Registry;
use tower::{Service, ServiceBuilder, ServiceExt};

#[tokio::test(start_paused = true)]
async fn breaker_and_limiter_report_through_their_hooks() {
    let mut registry = Registry::default();
    let breakers = BreakerMetrics::register(&mut registry);
    let limiters = LimiterMetrics::register(&mut registry);

    let config = Config::new()
        .trips([Trip::consecutive_failures(2)])
        .open_for(Duration::from_secs(60))
        .hooks(breakers.breaker("sum"));
    let limiter = RateLimiter::builder(Quota::per_second(NonZeroU32::new(1).unwrap()))
        .hooks(limiters.limiter("sum"))
        .build();
    let mut svc = ServiceBuilder::new()
        .layer(RateLimitLayer::new(limiter))
        .layer(CircuitBreakerLayer::new(config))
        .service(endpoint_fn(|_: ()| async {
            Err::<(), _>(Error::unavailable("down"))
        }));

    // t=0: one call fails, the next is rate limited; t=1: a second failure
    // trips the breaker; t=2 and t=3: the limiter admits, the breaker refuses.
    for _ in 0..2 {
        let _ = svc.ready().await.unwrap().call(()).await;
    }
    for _ in 0..3 {
        tokio::time::advance(Duration::from_secs(1)).await;
        let _ = svc.ready().await.unwrap().call(()).await;
    }
    let text = kit_metrics::encode(&registry).unwrap();
    for line in [
        r#"circuit_breaker_state{breaker="sum",state="open"} 1"#,
        r#"circuit_breaker_state{breaker="sum",state="closed"} 0"#,
        r#"circuit_breaker_transitions_total{breaker="sum",from="closed",to="open"} 1"#,
        r#"circuit_breaker_rejections_total{breaker="sum"} 2"#,
        r#"rate_limit_rejections_total{limiter="sum",reason="rate_exceeded"} 1"#,
    ] {
        assert!(text.contains(line), "missing {line} in\n{text}");
    }
}
