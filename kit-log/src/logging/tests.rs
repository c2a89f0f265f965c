use std::num::NonZeroU64;
use std::sync::Arc;
use std::time::Duration;

use quanta::{Clock, Mock};

use kit_endpoint::{Code, Error, endpoint_fn};
use tower::{Layer, Service, ServiceBuilder, ServiceExt};

use super::*;
use crate::logfmt::{Line, parse};
use crate::{Builder, Capture};

/// A mock clock, and an endpoint that takes `ms` on it (and on tokio's
/// paused clock) and fails with `code` when given one.
fn clocked() -> (
    Clock,
    impl Service<(u64, Option<Code>), Response = u64, Error = Error> + Clone,
) {
    let (clock, mock) = Clock::mock();
    (clock, endpoint(mock))
}

fn endpoint(
    mock: Arc<Mock>,
) -> impl Service<(u64, Option<Code>), Response = u64, Error = Error> + Clone {
    endpoint_fn(move |(ms, code): (u64, Option<Code>)| {
        let mock = mock.clone();
        async move {
            mock.increment(Duration::from_millis(ms));
            tokio::time::sleep(Duration::from_millis(ms)).await;
            match code {
                Some(code) => Err(Error::new(code, format!("failed with {code}"))),
                None => Ok(ms),
            }
        }
    })
}

/// A scoped subscriber writing logfmt without timestamps or caller.
fn subscribe() -> (Capture, tracing::subscriber::DefaultGuard) {
    let out = Capture::new();
    let (subscriber, _guard) = Builder::new()
        .filter("trace")
        .timestamps(false)
        .caller(false)
        .make_writer(out.clone())
        .subscriber()
        .unwrap();
    (out, tracing::subscriber::set_default(subscriber))
}

fn lines(out: &Capture) -> Vec<Line> {
    out.lines().iter().map(|l| parse(l).unwrap()).collect()
}

#[tokio::test(start_paused = true)]
async fn one_event_per_call_with_name_code_and_duration() {
    let (out, _scope) = subscribe();
    let (clock, endpoint) = clocked();
    let mut svc = ServiceBuilder::new()
        .layer(LoggingLayer::new("sum").with_clock(clock))
        .service(endpoint);
    assert_eq!(svc.ready().await.unwrap().call((3, None)).await.unwrap(), 3);
    let err = svc
        .ready()
        .await
        .unwrap()
        .call((250, Some(Code::Unavailable)))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable);
    svc.ready()
        .await
        .unwrap()
        .call((1, Some(Code::InvalidArgument)))
        .await
        .unwrap_err();

    let got = lines(&out);
    assert_eq!(got.len(), 3, "{:?}", out.lines());
    let fields = |l: &Line| {
        ["level", "endpoint", "code", "took", "err"].map(|k| l.get(k).map(str::to_owned))
    };
    let s = |v: &str| Some(v.to_owned());
    assert_eq!(
        fields(&got[0]),
        [s("info"), s("sum"), s("ok"), s("3ms"), None]
    );
    assert_eq!(
        fields(&got[1]),
        [
            s("error"),
            s("sum"),
            s("unavailable"),
            s("250ms"),
            s("failed with unavailable")
        ]
    );
    assert_eq!(
        fields(&got[2]),
        [
            s("warn"),
            s("sum"),
            s("invalid_argument"),
            s("1ms"),
            s("failed with invalid_argument")
        ]
    );
    assert_eq!(got[0].get("target"), Some("kit_log::logging"));
}

#[tokio::test(start_paused = true)]
async fn sampling_logs_one_success_in_n_and_every_error() {
    let (out, _scope) = subscribe();
    let (clock, endpoint) = clocked();
    let svc = ServiceBuilder::new()
        .layer(
            LoggingLayer::new("sum")
                .sample_successes(NonZeroU64::new(4).unwrap())
                .with_clock(clock),
        )
        .service(endpoint);
    for i in 0..10u64 {
        // Clones share the sampler, as a server's per-request clones do.
        svc.clone().oneshot((i, None)).await.unwrap();
    }
    for _ in 0..3 {
        svc.clone()
            .oneshot((0, Some(Code::Internal)))
            .await
            .unwrap_err();
    }
    let got = lines(&out);
    let took: Vec<_> = got
        .iter()
        .filter(|l| l.get("code") == Some("ok"))
        .map(|l| l.get("took").unwrap().to_owned())
        .collect();
    assert_eq!(took, ["0ns", "4ms", "8ms"]);
    assert_eq!(
        got.iter()
            .filter(|l| l.get("code") == Some("internal"))
            .count(),
        3
    );
}

#[tokio::test(start_paused = true)]
async fn successes_off_logs_errors_only() {
    let (out, _scope) = subscribe();
    let (clock, endpoint) = clocked();
    let svc = LoggingLayer::new("concat")
        .without_successes()
        .with_clock(clock)
        .layer(endpoint);
    for _ in 0..5 {
        svc.clone().oneshot((1, None)).await.unwrap();
    }
    svc.clone()
        .oneshot((2, Some(Code::OutOfRange)))
        .await
        .unwrap_err();
    let got = lines(&out);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].get("code"), Some("out_of_range"));
    assert_eq!(got[0].get("took"), Some("2ms"));
}

#[tokio::test(start_paused = true)]
async fn a_dropped_call_is_logged_once_as_cancelled() {
    let (out, _scope) = subscribe();
    let (clock, mock) = Clock::mock();
    let mut svc = LoggingLayer::new("slow")
        .with_clock(clock)
        .layer(endpoint(mock));
    // The call starts, takes 10 s on the mock clock, and is dropped by a
    // 30 ms timeout on tokio's paused clock.
    let call = svc.ready().await.unwrap().call((10_000, None));
    let res = tokio::time::timeout(Duration::from_millis(30), call).await;
    assert!(res.is_err());
    let got = lines(&out);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].get("code"), Some("cancelled"));
    assert_eq!(got[0].get("took"), Some("10s"));
    // Dropped before it was ever polled: logged too.
    drop(svc.ready().await.unwrap().call((5, None)));
    let got = lines(&out);
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].get("code"), Some("cancelled"));
    assert_eq!(got[1].get("took"), Some("0ns"));
    assert_eq!(got[0].get("endpoint"), Some("slow"));
}

#[tokio::test(start_paused = true)]
async fn the_event_sits_in_the_callers_span() {
    let (out, _scope) = subscribe();
    let (clock, endpoint) = clocked();
    let svc = LoggingLayer::new("sum").with_clock(clock).layer(endpoint);
    let span = tracing::info_span!("request", id = 42);
    tracing::Instrument::instrument(svc.oneshot((0, None)), span)
        .await
        .unwrap();
    let got = lines(&out);
    assert_eq!(got[0].get("id"), Some("42"));
    assert_eq!(got[0].get("endpoint"), Some("sum"));
}

#[test]
fn accessors_reach_the_inner_service() {
    let mut svc = Logging::new(7u8, "x");
    assert_eq!(svc.endpoint(), "x");
    assert_eq!(*svc.get_ref(), 7);
    *svc.get_mut() = 8;
    assert_eq!(svc.into_inner(), 8);
}

#[tokio::test(start_paused = true)]
async fn json_lines_carry_the_same_fields() {
    let out = Capture::new();
    let (subscriber, _guard) = Builder::new()
        .format(crate::Format::Json)
        .make_writer(out.clone())
        .subscriber()
        .unwrap();
    let _scope = tracing::subscriber::set_default(subscriber);
    let (clock, endpoint) = clocked();
    let svc = LoggingLayer::new("sum").with_clock(clock).layer(endpoint);
    svc.clone().oneshot((5, None)).await.unwrap();
    svc.oneshot((7, Some(Code::ResourceExhausted)))
        .await
        .unwrap_err();
    let json: Vec<serde_json::Value> = out
        .lines()
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(json.len(), 2);
    assert_eq!(json[0]["endpoint"], "sum");
    assert_eq!(json[0]["code"], "ok");
    assert_eq!(json[0]["took"], "5ms");
    assert!(json[0].get("err").is_none());
    assert_eq!(json[1]["code"], "resource_exhausted");
    assert_eq!(json[1]["err"], "failed with resource_exhausted");
    assert_eq!(json[1]["level"], "WARN");
}
