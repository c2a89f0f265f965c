//! The concurrency limit with its bounded queue, on paused tokio time.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kit_endpoint::{Code, Error, endpoint_fn};
use kit_ratelimit::hooks::{Counters, Reason};
use kit_ratelimit::{ConcurrencyLimitLayer, ConcurrencyLimiter};
use tokio::time::{Instant, sleep};
use tower::{Service, ServiceBuilder, ServiceExt};

/// An endpoint that sleeps `ms`, tracks the most calls running at once and
/// logs the order in which calls started.
#[derive(Clone, Default)]
struct Probe {
    running: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
    started: Arc<Mutex<Vec<u64>>>,
}

impl Probe {
    fn service(
        &self,
    ) -> impl Service<(u64, u64), Response = u64, Error = Error, Future: Send> + Clone + Send + 'static
    {
        let probe = self.clone();
        endpoint_fn(move |(id, ms): (u64, u64)| {
            let probe = probe.clone();
            async move {
                let now = probe.running.fetch_add(1, Ordering::SeqCst) + 1;
                probe.peak.fetch_max(now, Ordering::SeqCst);
                probe.started.lock().unwrap().push(id);
                sleep(Duration::from_millis(ms)).await;
                probe.running.fetch_sub(1, Ordering::SeqCst);
                Ok::<_, Error>(id)
            }
        })
    }
}

#[tokio::test(start_paused = true)]
async fn runs_at_most_the_limit_and_serves_the_queue_in_order() {
    let probe = Probe::default();
    let limiter = ConcurrencyLimiter::builder(3)
        .max_queue(5)
        .queue_timeout(Duration::from_secs(10))
        .build();
    let svc = ServiceBuilder::new()
        .layer(ConcurrencyLimitLayer::new(limiter.clone()))
        .service(probe.service());
    let mut tasks = Vec::new();
    for id in 0..8 {
        tasks.push(tokio::spawn(svc.clone().oneshot((id, 100))));
        tokio::task::yield_now().await;
    }
    assert_eq!(limiter.in_flight(), 3);
    assert_eq!(limiter.queued(), 5);
    let full = svc.clone().oneshot((99, 1)).await.unwrap_err();
    assert_eq!(full.code(), Code::ResourceExhausted);
    assert_eq!(full.message(), Reason::QueueFull.message());
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(probe.peak.load(Ordering::SeqCst), 3);
    assert_eq!(*probe.started.lock().unwrap(), (0..8).collect::<Vec<_>>());
    assert_eq!((limiter.in_flight(), limiter.queued()), (0, 0));
}

#[tokio::test(start_paused = true)]
async fn queued_requests_time_out_without_reaching_the_service() {
    let probe = Probe::default();
    let counters = Arc::new(Counters::new());
    let limiter = ConcurrencyLimiter::builder(1)
        .max_queue(10)
        .queue_timeout(Duration::from_millis(250))
        .retry_after(Duration::from_millis(40))
        .hooks(counters.clone())
        .build();
    let svc = ServiceBuilder::new()
        .layer(ConcurrencyLimitLayer::new(limiter.clone()))
        .service(probe.service());
    let start = Instant::now();
    let long = tokio::spawn(svc.clone().oneshot((0, 1000)));
    tokio::task::yield_now().await;
    let err = svc.clone().oneshot((1, 1)).await.unwrap_err();
    assert_eq!(start.elapsed(), Duration::from_millis(250));
    assert_eq!(err.code(), Code::ResourceExhausted);
    assert_eq!(err.message(), Reason::QueueTimeout.message());
    assert_eq!(err.retry_after(), Some(Duration::from_millis(40)));
    assert_eq!(counters.rejected(Reason::QueueTimeout), 1);
    assert_eq!(limiter.queued(), 0);
    long.await.unwrap().unwrap();
    assert_eq!(*probe.started.lock().unwrap(), vec![0]);
}

#[tokio::test(start_paused = true)]
async fn no_queue_sheds_at_once() {
    let probe = Probe::default();
    let limiter = ConcurrencyLimiter::builder(2).max_queue(0).build();
    let svc = ServiceBuilder::new()
        .layer(ConcurrencyLimitLayer::new(limiter))
        .service(probe.service());
    let a = tokio::spawn(svc.clone().oneshot((0, 50)));
    let b = tokio::spawn(svc.clone().oneshot((1, 50)));
    tokio::task::yield_now().await;
    let start = Instant::now();
    let err = svc.clone().oneshot((2, 50)).await.unwrap_err();
    assert_eq!(start.elapsed(), Duration::ZERO);
    assert_eq!(err.retry_after(), Some(Duration::from_millis(100)));
    a.await.unwrap().unwrap();
    b.await.unwrap().unwrap();
    svc.oneshot((3, 1)).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn dropped_requests_free_their_slot_and_their_place() {
    let probe = Probe::default();
    let limiter = ConcurrencyLimiter::builder(1).max_queue(1).build();
    let svc = ServiceBuilder::new()
        .layer(ConcurrencyLimitLayer::new(limiter.clone()))
        .service(probe.service());
    let running = tokio::spawn(svc.clone().oneshot((0, 10_000)));
    let queued = tokio::spawn(svc.clone().oneshot((1, 1)));
    tokio::task::yield_now().await;
    assert_eq!((limiter.in_flight(), limiter.queued()), (1, 1));
    queued.abort();
    let _ = queued.await;
    assert_eq!(limiter.queued(), 0);
    running.abort();
    let _ = running.await;
    assert_eq!(limiter.in_flight(), 0);
    assert_eq!(svc.oneshot((2, 1)).await.unwrap(), 2);
}
