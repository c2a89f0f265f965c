use std::sync::{Arc, Mutex};
use std::time::Duration;

use kit_endpoint::{Code, Context, Endpoint, Error, HasContext, Request, endpoint_fn};
use tokio::time::Instant;
use tower::{Layer, ServiceExt};

use super::error::Attempts;
use super::{RetryBudget, RetryLayer};

/// Calls seen by a scripted endpoint: when, and the deadline it was given.
type Log = Arc<Mutex<Vec<(Instant, Option<Instant>)>>>;

/// An endpoint that answers each call with the next scripted result; a
/// `Sleep` sleeps first, a `Ok` at the end of the script repeats.
#[derive(Clone, Debug)]
enum Step {
    Ok,
    Fail(Code),
    Sleep(Duration),
    Hint(Duration),
}

fn scripted(script: Vec<Step>) -> (Endpoint<Request<()>, u32>, Log) {
    let log: Log = Arc::default();
    let script = Arc::new(script);
    let seen = log.clone();
    let svc =
        endpoint_fn(move |req: Request<()>| {
            let n = {
                let mut log = seen.lock().unwrap();
                log.push((Instant::now(), req.context().deadline()));
                log.len()
            };
            let step = script.get(n - 1).cloned().unwrap_or(Step::Ok);
            async move {
                match step {
                    Step::Ok => Ok(n as u32),
                    Step::Fail(code) => Err(Error::new(code, format!("fail #{n}"))),
                    Step::Hint(after) => Err(Error::resource_exhausted(format!("slow down #{n}"))
                        .with_retry_after(after)),
                    Step::Sleep(d) => {
                        tokio::time::sleep(d).await;
                        Ok(n as u32)
                    }
                }
            }
        });
    (Endpoint::new(svc), log)
}

fn layer() -> RetryLayer {
    RetryLayer::new()
        .no_budget()
        .backoff(Duration::from_millis(10), Duration::from_secs(1))
        .jitter_seed(1)
}

#[tokio::test(start_paused = true)]
async fn retries_until_success() {
    let (svc, log) = scripted(vec![
        Step::Fail(Code::Unavailable),
        Step::Fail(Code::Unavailable),
    ]);
    let n = layer()
        .max_attempts(3)
        .layer(svc)
        .oneshot(Request::new(()))
        .await
        .unwrap();
    assert_eq!(n, 3);
    assert_eq!(log.lock().unwrap().len(), 3);
}

#[tokio::test(start_paused = true)]
async fn the_final_error_lists_every_attempt() {
    let (svc, log) = scripted(vec![
        Step::Fail(Code::Unavailable),
        Step::Fail(Code::DeadlineExceeded),
        Step::Fail(Code::Unavailable),
    ]);
    let err = layer()
        .max_attempts(3)
        .layer(svc)
        .oneshot(Request::new(()))
        .await
        .unwrap_err();
    assert_eq!(log.lock().unwrap().len(), 3);
    assert_eq!(err.code(), Code::Unavailable);
    assert_eq!(
        err.message(),
        "attempts exhausted after 3 attempts: #3 unavailable: fail #3 \
         (previously: #1 unavailable: fail #1; #2 deadline_exceeded: fail #2)"
    );
    let attempts = Attempts::of(&err).unwrap();
    let codes: Vec<Code> = attempts.errors().iter().map(Error::code).collect();
    assert_eq!(
        codes,
        [Code::Unavailable, Code::DeadlineExceeded, Code::Unavailable]
    );
}

#[tokio::test(start_paused = true)]
async fn a_non_retriable_error_comes_back_at_once_unchanged() {
    let (svc, log) = scripted(vec![Step::Fail(Code::InvalidArgument)]);
    let err = layer()
        .layer(svc)
        .oneshot(Request::new(()))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(err.message(), "fail #1");
    assert!(Attempts::of(&err).is_none());
    assert_eq!(log.lock().unwrap().len(), 1);

    // after a retriable one, it ends the loop and is listed
    let (svc, log) = scripted(vec![
        Step::Fail(Code::Unavailable),
        Step::Fail(Code::NotFound),
    ]);
    let err = layer()
        .max_attempts(5)
        .layer(svc)
        .oneshot(Request::new(()))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    assert!(
        err.message().starts_with("not retriable after 2 attempts"),
        "{err}"
    );
    assert_eq!(log.lock().unwrap().len(), 2);
}

#[tokio::test(start_paused = true)]
async fn each_attempt_has_its_timeout_and_the_inner_service_sees_it() {
    let (svc, log) = scripted(vec![Step::Sleep(Duration::from_secs(5)); 3]);
    let started = Instant::now();
    let err = layer()
        .max_attempts(3)
        .attempt_timeout(Duration::from_millis(100))
        .backoff(Duration::from_millis(10), Duration::from_millis(10))
        .layer(svc)
        .oneshot(Request::new(()))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::DeadlineExceeded);
    assert!(
        err.message().contains("attempt timed out after 100ms"),
        "{err}"
    );
    let log = log.lock().unwrap();
    assert_eq!(log.len(), 3);
    for (at, deadline) in log.iter() {
        assert_eq!(*deadline, Some(*at + Duration::from_millis(100)));
    }
    // three timeouts and two jittered pauses of 10–20 ms
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(320) && took <= Duration::from_millis(340),
        "{took:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn the_request_deadline_bounds_all_attempts() {
    let (svc, log) = scripted(vec![Step::Sleep(Duration::from_secs(5)); 10]);
    let started = Instant::now();
    let ctx = Context::new().with_timeout(Duration::from_millis(250));
    let err = layer()
        .max_attempts(10)
        .attempt_timeout(Duration::from_millis(100))
        .backoff(Duration::from_millis(10), Duration::from_millis(10))
        .layer(svc)
        .oneshot(Request::with_context(ctx.clone(), ()))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::DeadlineExceeded);
    assert!(
        err.message()
            .starts_with("deadline reached after 3 attempts"),
        "{err}"
    );
    assert!(started.elapsed() <= Duration::from_millis(250));
    let log = log.lock().unwrap();
    assert_eq!(log.len(), 3);
    // the last attempt got what was left of the request's deadline
    assert_eq!(log[2].1, ctx.deadline());
}

#[tokio::test(start_paused = true)]
async fn backoff_is_exponential_with_jitter_and_honours_retry_after() {
    // Jitter stretches a delay by a factor in [1, 2) and tokio's timer rounds
    // the sleep up to the millisecond, so a gap reaches 2 × base at most. A
    // range of seeds keeps the run deterministic and still samples the
    // factor's whole range.
    let bases = [100, 200, 400, 500, 500].map(Duration::from_millis);
    let mut stretched = false;
    for seed in 0..32 {
        let (svc, log) = scripted(vec![Step::Fail(Code::Unavailable); 5]);
        let _ = RetryLayer::new()
            .no_budget()
            .max_attempts(6)
            .backoff(Duration::from_millis(100), Duration::from_millis(500))
            .jitter_seed(seed)
            .layer(svc)
            .oneshot(Request::new(()))
            .await;
        let gaps: Vec<Duration> = log
            .lock()
            .unwrap()
            .windows(2)
            .map(|w| w[1].0 - w[0].0)
            .collect();
        assert_eq!(gaps.len(), bases.len(), "seed {seed}");
        for (gap, base) in gaps.iter().zip(bases) {
            assert!(
                *gap >= base && *gap <= base * 2,
                "seed {seed}: gap {gap:?} for base {base:?}"
            );
            stretched |= *gap >= base * 3 / 2;
        }
    }
    assert!(stretched, "no delay was ever stretched: jitter is off");

    let (svc, log) = scripted(vec![Step::Hint(Duration::from_secs(3))]);
    let n = layer().layer(svc).oneshot(Request::new(())).await.unwrap();
    assert_eq!(n, 2);
    let log = log.lock().unwrap();
    assert!(log[1].0 - log[0].0 >= Duration::from_secs(3));
}

#[tokio::test(start_paused = true)]
async fn an_empty_budget_stops_retries() {
    let (svc, log) = scripted(vec![Step::Fail(Code::Unavailable); 10]);
    let svc = RetryLayer::new()
        .budget(RetryBudget::new(Duration::from_secs(10), 0, 0.5))
        .max_attempts(5)
        .layer(svc);
    // call 1 deposits half a retry: not enough
    let err = svc.clone().oneshot(Request::new(())).await.unwrap_err();
    assert!(
        err.message()
            .starts_with("retry budget exhausted after 1 attempt:"),
        "{err}"
    );
    // call 2 makes it a whole one: one retry, then the budget is dry again
    let err = svc.oneshot(Request::new(())).await.unwrap_err();
    assert!(
        err.message()
            .starts_with("retry budget exhausted after 2 attempts"),
        "{err}"
    );
    assert_eq!(log.lock().unwrap().len(), 3);
}

#[tokio::test(start_paused = true)]
async fn balancer_errors_count_as_attempts() {
    let (publisher, instancer) = crate::instancer::channel();
    let endpointer = crate::Endpointer::new(instancer, |_: &crate::Instance| {
        Ok::<_, Error>(kit_endpoint::Endpoint::new(endpoint_fn(
            |_: Request<()>| async { Ok::<_, Error>(()) },
        )))
    });
    let lb = crate::Balancer::new(endpointer, crate::balance::RoundRobin::new());
    let err = layer()
        .max_attempts(3)
        .layer(lb)
        .oneshot(Request::new(()))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable);
    assert_eq!(Attempts::of(&err).unwrap().errors().len(), 3);
    drop(publisher);
}
