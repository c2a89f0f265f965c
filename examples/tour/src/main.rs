//! A runnable tour of kit: a plain service, endpoints around it, middleware,
//! calls with deadlines, and errors matched by code.
//!
//! Run with `cargo run -p tour`.

#![allow(clippy::print_stdout)]

use std::time::Duration;

use kit_endpoint::{Code, Context, DeadlineLayer, Endpoint, Error, Request, endpoint_fn};
use tower::{ServiceBuilder, ServiceExt};

/// The service: business logic, no kit types. Go kit's addsvc rules.
#[derive(Clone, Debug, Default)]
struct AddService;

impl AddService {
    fn sum(&self, a: i64, b: i64) -> Result<i64, &'static str> {
        if a == 0 && b == 0 {
            return Err("can't sum two zeroes");
        }
        let v = a.checked_add(b).ok_or("integer overflow")?;
        i32::try_from(v)
            .map(i64::from)
            .map_err(|_| "integer overflow")
    }

    async fn slow_concat(&self, a: String, b: String) -> Result<String, &'static str> {
        // Pretend the work takes a while.
        tokio::time::sleep(Duration::from_millis(50)).await;
        Ok(a + &b)
    }
}

/// Endpoints: one request/response operation each.
fn sum_endpoint(svc: AddService) -> Endpoint<Request<(i64, i64)>, i64> {
    Endpoint::new(endpoint_fn(move |req: Request<(i64, i64)>| {
        let svc = svc.clone();
        async move {
            let (a, b) = req.body;
            svc.sum(a, b).map_err(Error::invalid_argument)
        }
    }))
}

fn concat_endpoint(svc: AddService) -> Endpoint<Request<(String, String)>, String> {
    let ep = endpoint_fn(move |req: Request<(String, String)>| {
        let svc = svc.clone();
        async move {
            let (a, b) = req.body;
            svc.slow_concat(a, b).await.map_err(Error::invalid_argument)
        }
    });
    // Middleware: every call gets at most 1 s, or less if the caller's
    // context says so.
    Endpoint::new(
        ServiceBuilder::new()
            .layer(DeadlineLayer::with_timeout(Duration::from_secs(1)))
            .service(ep),
    )
}

fn show<T: std::fmt::Debug>(what: &str, result: &Result<T, Error>) {
    match result {
        Ok(v) => println!("{what:<28} ok    {v:?}"),
        Err(e) => println!("{what:<28} error code={} ({})", e.code(), e.message()),
    }
}

#[tokio::main]
async fn main() {
    let svc = AddService;
    let sum = sum_endpoint(svc.clone());
    let concat = concat_endpoint(svc);

    let r = sum.clone().oneshot(Request::new((1, 2))).await;
    show("sum(1, 2)", &r);
    let r = sum.clone().oneshot(Request::new((0, 0))).await;
    show("sum(0, 0)", &r);
    let r = sum
        .clone()
        .oneshot(Request::new((i64::from(i32::MAX), 1)))
        .await;
    show("sum(i32::MAX, 1)", &r);

    let r = concat
        .clone()
        .oneshot(Request::new(("a".into(), "b".into())))
        .await;
    show("concat (1 s timeout)", &r);
    let ctx = Context::new().with_timeout(Duration::from_millis(10));
    let r = concat
        .oneshot(Request::with_context(ctx, ("a".into(), "b".into())))
        .await;
    show("concat (10 ms deadline)", &r);

    if let Err(e) = r {
        let advice = match e.code() {
            Code::DeadlineExceeded => "give it more time",
            Code::InvalidArgument => "fix the request",
            _ => "look at the logs",
        };
        println!("matched by code: {advice}");
    }
}
