use std::sync::Arc;
use std::time::Duration;

use quanta::{Clock, Mock};

use kit_endpoint::{Code, Error, endpoint_fn};
use prometheus_client::registry::Registry;
use tower::{Service, ServiceBuilder, ServiceExt};

use crate::{RequestMetrics, encode};

/// An endpoint that sleeps `ms` and fails with `code` when given one.
fn endpoint() -> impl Service<(u64, Option<Code>), Response = u64, Error = Error> + Clone {
    timed(Clock::mock().1)
}

/// As [`endpoint`], also moving `mock` on by `ms` per call.
fn timed(
    mock: Arc<Mock>,
) -> impl Service<(u64, Option<Code>), Response = u64, Error = Error> + Clone {
    endpoint_fn(move |(ms, code): (u64, Option<Code>)| {
        let mock = mock.clone();
        async move {
            mock.increment(Duration::from_millis(ms));
            tokio::time::sleep(Duration::from_millis(ms)).await;
            match code {
                Some(code) => Err(Error::new(code, "failed")),
                None => Ok(ms),
            }
        }
    })
}

/// The value of the sample line starting with `series` (name and labels).
fn value(registry: &Registry, series: &str) -> Option<f64> {
    let text = encode(registry).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test(start_paused = true)]
async fn counts_calls_by_code() {
    let mut registry = Registry::default();
    let metrics = RequestMetrics::register(&mut registry);
    let svc = ServiceBuilder::new()
        .layer(metrics.layer("sum"))
        .service(endpoint());
    for _ in 0..5 {
        svc.clone().oneshot((0, None)).await.unwrap();
    }
    for _ in 0..3 {
        let err = svc
            .clone()
            .oneshot((0, Some(Code::InvalidArgument)))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument);
    }
    svc.clone()
        .oneshot((0, Some(Code::Unavailable)))
        .await
        .unwrap_err();
    let count = |code: &str| {
        value(
            &registry,
            &format!(r#"requests_total{{endpoint="sum",code="{code}"}}"#),
        )
    };
    assert_eq!(count("ok"), Some(5.0));
    assert_eq!(count("invalid_argument"), Some(3.0));
    assert_eq!(count("unavailable"), Some(1.0));
    assert_eq!(
        count("internal"),
        None,
        "codes that never happened are not exported"
    );
    assert_eq!(
        value(
            &registry,
            r#"request_duration_seconds_count{endpoint="sum"}"#
        ),
        Some(9.0)
    );
}

#[tokio::test(start_paused = true)]
async fn latency_lands_in_the_right_bucket() {
    let mut registry = Registry::default();
    let metrics = RequestMetrics::register(&mut registry);
    let (clock, mock) = Clock::mock();
    let svc = metrics.layer("sum").with_clock(clock);
    let svc = tower::Layer::layer(&svc, timed(mock));
    svc.clone().oneshot((3, None)).await.unwrap();
    svc.oneshot((700, Some(Code::Internal))).await.unwrap_err();
    let bucket = |le: &str| {
        value(
            &registry,
            &format!(r#"request_duration_seconds_bucket{{le="{le}",endpoint="sum"}}"#),
        )
    };
    assert_eq!(bucket("0.0025"), Some(0.0));
    assert_eq!(bucket("0.005"), Some(1.0));
    assert_eq!(bucket("0.5"), Some(1.0));
    assert_eq!(bucket("1.0"), Some(2.0));
    assert_eq!(bucket("+Inf"), Some(2.0));
    let sum = value(&registry, r#"request_duration_seconds_sum{endpoint="sum"}"#).unwrap();
    assert!((sum - 0.703).abs() < 1e-9, "{sum}");
}

#[tokio::test(start_paused = true)]
async fn in_flight_rises_during_a_call_and_cancelled_calls_count() {
    let mut registry = Registry::default();
    let metrics = RequestMetrics::register(&mut registry);
    let layer = metrics.layer("slow");
    let mut svc = tower::Layer::layer(&layer, endpoint());
    let in_flight = || value(&registry, r#"requests_in_flight{endpoint="slow"}"#);
    assert_eq!(in_flight(), Some(0.0));
    let a = svc.ready().await.unwrap().call((10, None));
    let b = svc.ready().await.unwrap().call((10_000, None));
    assert_eq!(in_flight(), Some(2.0));
    a.await.unwrap();
    assert_eq!(in_flight(), Some(1.0));
    assert!(
        tokio::time::timeout(Duration::from_millis(40), b)
            .await
            .is_err()
    );
    assert_eq!(in_flight(), Some(0.0));
    assert_eq!(
        value(
            &registry,
            r#"requests_total{endpoint="slow",code="cancelled"}"#
        ),
        Some(1.0)
    );
    assert_eq!(
        value(&registry, r#"requests_total{endpoint="slow",code="ok"}"#),
        Some(1.0)
    );
}

#[tokio::test]
async fn endpoints_share_families_but_not_series() {
    let mut registry = Registry::with_prefix("addsvc");
    let metrics = RequestMetrics::register(&mut registry);
    let sum = metrics.layer("sum");
    let concat = metrics.layer("concat");
    tower::Layer::layer(&sum, endpoint())
        .oneshot((0, None))
        .await
        .unwrap();
    tower::Layer::layer(&sum, endpoint())
        .oneshot((0, None))
        .await
        .unwrap();
    tower::Layer::layer(&concat, endpoint())
        .oneshot((0, None))
        .await
        .unwrap();
    assert_eq!(
        value(
            &registry,
            r#"addsvc_requests_total{endpoint="sum",code="ok"}"#
        ),
        Some(2.0)
    );
    assert_eq!(
        value(
            &registry,
            r#"addsvc_requests_total{endpoint="concat",code="ok"}"#
        ),
        Some(1.0)
    );
    let text = encode(&registry).unwrap();
    assert_eq!(
        text.matches("# TYPE addsvc_requests counter").count(),
        1,
        "{text}"
    );
}

#[test]
fn custom_buckets_are_checked_and_used() {
    let mut registry = Registry::default();
    assert!(RequestMetrics::register_with_buckets(&mut registry, &[]).is_err());
    assert!(RequestMetrics::register_with_buckets(&mut registry, &[0.2, 0.1]).is_err());
    let metrics = RequestMetrics::register_with_buckets(&mut registry, &[0.1, 1.0]).unwrap();
    drop(metrics.layer("x"));
    let text = encode(&registry).unwrap();
    assert!(
        text.contains(r#"request_duration_seconds_bucket{le="0.1",endpoint="x"} 0"#),
        "{text}"
    );
    assert!(!text.contains(r#"le="0.005""#), "{text}");
}

#[test]
fn accessors_reach_the_inner_service() {
    let mut registry = Registry::default();
    let metrics = RequestMetrics::register(&mut registry);
    let mut svc = tower::Layer::layer(&metrics.layer("x"), 7u8);
    assert_eq!(svc.endpoint(), "x");
    assert_eq!(*svc.get_ref(), 7);
    *svc.get_mut() = 8;
    assert_eq!(svc.into_inner(), 8);
}

/// A streaming endpoint: `n` items, then an error with `fail` if given;
/// `u32::MAX` items fails the call itself.
fn numbers() -> impl Service<
    (u32, Option<Code>),
    Response = futures_util::stream::BoxStream<'static, Result<u32, Error>>,
    Error = Error,
> + Clone {
    use futures_util::StreamExt as _;
    endpoint_fn(|(n, fail): (u32, Option<Code>)| async move {
        if n == u32::MAX {
            return Err(Error::unavailable("no stream"));
        }
        let end = fail.map(|code| Err(Error::new(code, "failed")));
        Ok(futures_util::stream::iter((0..n).map(Ok))
            .chain(futures_util::stream::iter(end))
            .boxed())
    })
}

#[tokio::test]
async fn a_streamed_call_counts_until_its_stream_ends_fails_or_is_dropped() {
    use futures_util::StreamExt as _;
    let mut registry = Registry::default();
    let metrics = RequestMetrics::register(&mut registry);
    let (clock, mock) = Clock::mock();
    let layer = metrics.layer("feed").with_clock(clock).streaming();
    let svc = tower::Layer::layer(&layer, numbers());
    let in_flight = || value(&registry, r#"requests_in_flight{endpoint="feed"}"#);
    let count = |code: &str| {
        value(
            &registry,
            &format!(r#"requests_total{{endpoint="feed",code="{code}"}}"#),
        )
    };

    // Open while its stream is; its duration is the stream's lifetime.
    let mut ok = svc.clone().oneshot((2, None)).await.unwrap();
    let mut dropped = svc.clone().oneshot((5, None)).await.unwrap();
    assert_eq!(in_flight(), Some(2.0));
    mock.increment(Duration::from_secs(3));
    assert_eq!(ok.next().await.unwrap().unwrap(), 0);
    assert_eq!(count("ok"), Some(0.0), "not recorded while streaming");
    assert!(ok.next().await.unwrap().is_ok());
    assert!(ok.next().await.is_none());
    assert_eq!(count("ok"), Some(1.0));
    dropped.next().await.unwrap().unwrap();
    drop(dropped);
    assert_eq!(count("cancelled"), Some(1.0));
    assert_eq!(in_flight(), Some(0.0));
    let sum = value(
        &registry,
        r#"request_duration_seconds_sum{endpoint="feed"}"#,
    )
    .unwrap();
    assert!((sum - 6.0).abs() < 1e-9, "two streams open 3 s each: {sum}");

    // The first error item is the call's outcome; a call that returns no
    // stream is recorded as it fails.
    let failing = svc
        .clone()
        .oneshot((1, Some(Code::Internal)))
        .await
        .unwrap();
    let items: Vec<_> = failing.collect().await;
    assert_eq!(items.len(), 2);
    assert_eq!(count("internal"), Some(1.0));
    let err = svc.oneshot((u32::MAX, None)).await.unwrap_err();
    assert_eq!(err.code(), Code::Unavailable);
    assert_eq!(count("unavailable"), Some(1.0));
    assert_eq!(in_flight(), Some(0.0));
}
