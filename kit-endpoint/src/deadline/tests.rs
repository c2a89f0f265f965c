use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::time::{Instant, advance};
use tower::{ServiceBuilder, ServiceExt};

use crate::{Code, Context, DeadlineLayer, Error, HasContext, Request, endpoint_fn};

fn sleeper(
    calls: Arc<AtomicUsize>,
) -> impl tower::Service<Request<Duration>, Response = Option<Instant>, Error = Error> + Clone {
    endpoint_fn(move |req: Request<Duration>| {
        calls.fetch_add(1, Ordering::SeqCst);
        async move {
            let seen = req.context().deadline();
            tokio::time::sleep(req.body).await;
            Ok(seen)
        }
    })
}

#[tokio::test(start_paused = true)]
async fn context_deadline_fires_first() {
    let calls = Arc::new(AtomicUsize::new(0));
    let svc = ServiceBuilder::new()
        .layer(DeadlineLayer::with_timeout(Duration::from_secs(10)))
        .service(sleeper(calls.clone()));
    let ctx = Context::new().with_timeout(Duration::from_millis(100));
    let started = Instant::now();
    let err = svc
        .oneshot(Request::with_context(ctx, Duration::from_secs(5)))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::DeadlineExceeded);
    assert_eq!(err.message(), "deadline exceeded");
    assert_eq!(started.elapsed(), Duration::from_millis(100));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn own_timeout_fires_first_and_tightens_the_context() {
    let calls = Arc::new(AtomicUsize::new(0));
    let svc = ServiceBuilder::new()
        .layer(DeadlineLayer::with_timeout(Duration::from_millis(50)))
        .service(sleeper(calls.clone()));
    let started = Instant::now();
    // The inner service sees the tightened deadline.
    let seen = svc
        .clone()
        .oneshot(Request::new(Duration::from_millis(1)))
        .await
        .unwrap();
    assert_eq!(seen, Some(started + Duration::from_millis(50)));

    let ctx = Context::new().with_timeout(Duration::from_secs(60));
    let err = svc
        .oneshot(Request::with_context(ctx, Duration::from_secs(5)))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::DeadlineExceeded);
    assert_eq!(err.message(), "timed out after 50ms");
}

#[tokio::test(start_paused = true)]
async fn passed_deadline_never_reaches_the_inner_service() {
    let calls = Arc::new(AtomicUsize::new(0));
    let svc = ServiceBuilder::new()
        .layer(DeadlineLayer::new())
        .service(sleeper(calls.clone()));
    let ctx = Context::new().with_timeout(Duration::from_millis(10));
    advance(Duration::from_millis(10)).await;
    let err = svc
        .oneshot(Request::with_context(ctx, Duration::ZERO))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::DeadlineExceeded);
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

#[tokio::test(start_paused = true)]
async fn no_deadline_no_timeout_passes_through() {
    let calls = Arc::new(AtomicUsize::new(0));
    let svc = ServiceBuilder::new()
        .layer(DeadlineLayer::new())
        .service(sleeper(calls.clone()));
    let seen = svc
        .oneshot(Request::new(Duration::from_secs(3600)))
        .await
        .unwrap();
    assert_eq!(seen, None);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn inner_errors_pass_unchanged() {
    let svc = ServiceBuilder::new()
        .layer(DeadlineLayer::with_timeout(Duration::from_secs(1)))
        .service(endpoint_fn(|_: Request<()>| async {
            Err::<(), _>(Error::not_found("no such key"))
        }));
    let err = svc.oneshot(Request::new(())).await.unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
}
