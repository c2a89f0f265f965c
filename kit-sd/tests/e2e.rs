//! End to end: two kit HTTP services register in a real etcd; a client
//! balances over them through Endpointer + p2c (peak EWMA) + Retry.
//!
//! 1. Both instances serve.
//! 2. One instance dies (its lease expires): traffic moves to the other,
//!    the failed attempts stay within the retry budget, and no call fails.
//! 3. The registry dies: the last good set keeps serving, then, after the
//!    Endpointer's bound, calls fail with `Unavailable`.
//! 4. The registry returns: service resumes.
//!
//! Waits follow watch notifications (instancer and endpointer changes); the
//! only bounds are timeouts with messages, because real processes are
//! involved.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/watch.rs"]
mod watch;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use http::Method;
use kit_endpoint::{Code, Context, Endpoint, Error, Request, endpoint_fn};

use kit_sd::balance::{Balancer, P2c, PeakEwma, PeakEwmaLayer};
use kit_sd::etcd::{self, EtcdRegistrar, etcd_client::Client};
use kit_sd::retry::{RetryBudget, RetryLayer};
use kit_sd::{Endpointer, Endpoints, Instance, Registrar, Registration};
use kit_testkit::EtcdServer;
use kit_transport::http::{HttpClient, HttpServer, json};
use kit_transport::serve::{RunningServer, Server};
use tower::{Layer, ServiceExt};
use watch::fast;

type Client_ = Endpoint<Request<String>, String>;

const PREFIX: &str = "/services/echo/";
const TTL: Duration = Duration::from_secs(1);
const BOUND: Duration = Duration::from_secs(2);

/// One instance of the service: an HTTP server answering its name, and its
/// registration.
struct Instance_ {
    addr: SocketAddr,
    calls: Arc<AtomicUsize>,
    server: RunningServer,
    registration: Registration,
}

async fn start_instance(name: &'static str, etcd: &EtcdServer) -> Instance_ {
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let endpoint = endpoint_fn(move |_: Request<String>| {
        counted.fetch_add(1, Ordering::SeqCst);
        async move { Ok::<_, Error>(name.to_owned()) }
    });
    let app = axum::Router::new().route_service(
        "/echo",
        HttpServer::new(endpoint, json::decode::<String>, json::encode::<String>),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = Server::new()
        .drain_timeout(Duration::from_millis(100))
        .spawn(listener, app);
    let client = Client::connect([etcd.endpoint()], None).await.unwrap();
    let registration = EtcdRegistrar::new(client, format!("{PREFIX}{addr}"), addr.to_string(), TTL)
        .backoff(fast())
        .register()
        .await
        .unwrap();
    Instance_ {
        addr,
        calls,
        server,
        registration,
    }
}

/// Waits (at most 20 s) until the endpoints satisfy `ok`.
async fn wait_for<S>(
    endpointer: &mut Endpointer<S>,
    what: &str,
    ok: impl Fn(&Endpoints<S>) -> bool,
) -> Arc<Endpoints<S>> {
    let wait = async {
        loop {
            let endpoints = endpointer.endpoints_and_update();
            if ok(&endpoints) {
                return endpoints;
            }
            endpointer.changed().await.unwrap();
        }
    };
    tokio::time::timeout(Duration::from_secs(20), wait)
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn balance_fail_over_and_ride_out_a_registry_outage() {
    let mut etcd = EtcdServer::start().unwrap();
    let a = start_instance("a", &etcd).await;
    let b = start_instance("b", &etcd).await;

    // The client: etcd watch → Endpointer (HTTP client per instance, with
    // peak EWMA, counting failed attempts) → p2c → Retry with a budget.
    let failed_attempts = Arc::new(AtomicUsize::new(0));
    let failures = failed_attempts.clone();
    let ewma = PeakEwmaLayer::new();
    let factory = move |i: &Instance| -> Result<PeakEwma<Client_>, Error> {
        let uri = format!("http://{i}/echo")
            .parse()
            .map_err(|_| Error::invalid_argument("bad address"))?;
        let failures = failures.clone();
        let client = HttpClient::new(
            Method::POST,
            uri,
            json::encode_request::<String>,
            json::decode_response::<String>,
        )
        .map_err(move |e: Error| {
            failures.fetch_add(1, Ordering::SeqCst);
            e
        });
        Ok(ewma.layer(Endpoint::new(client)))
    };
    let instancer = etcd::instancer_with_backoff(
        Client::connect([etcd.endpoint()], None).await.unwrap(),
        PREFIX,
        fast(),
    );
    let mut endpointer = Endpointer::builder()
        .invalidate_on_error(BOUND)
        .build(instancer, factory);
    let svc = RetryLayer::new()
        .max_attempts(3)
        .attempt_timeout(Duration::from_secs(1))
        .budget(RetryBudget::new(Duration::from_secs(10), 0, 0.5))
        .layer(Balancer::new(endpointer.clone(), P2c::with_seed(1)));
    let call = |svc: &kit_sd::Retry<Balancer<PeakEwma<Client_>, P2c>>| {
        let ctx = Context::new().with_timeout(Duration::from_secs(5));
        svc.clone()
            .oneshot(Request::with_context(ctx, "hi".to_owned()))
    };

    // 1. Both instances serve.
    wait_for(&mut endpointer, "both instances", |e| e.len() == 2).await;
    let mut calls = 0;
    while a.calls.load(Ordering::SeqCst) == 0 || b.calls.load(Ordering::SeqCst) == 0 {
        call(&svc).await.unwrap();
        calls += 1;
        assert!(calls < 200, "p2c never used both instances");
    }
    for _ in 0..20 {
        call(&svc).await.unwrap();
        calls += 1;
    }
    assert_eq!(failed_attempts.load(Ordering::SeqCst), 0);

    // 2. Instance a dies: its server stops and its keep-alive with it; the
    // lease expires after the TTL and etcd deletes the key.
    let Instance_ {
        calls: a_calls,
        server,
        registration,
        ..
    } = a;
    server.shutdown().await.unwrap();
    drop(registration);
    let mut lost_calls = 0;
    let calls_before = calls;
    loop {
        let endpoints = endpointer.endpoints();
        if endpoints.len() == 1 {
            assert_eq!(endpoints.instance(0).unwrap().as_str(), b.addr.to_string());
            break;
        }
        if call(&svc).await.is_err() {
            lost_calls += 1;
        }
        calls += 1;
        assert!(calls - calls_before < 10_000, "a's lease never expired");
        tokio::task::yield_now().await;
    }
    let failed = failed_attempts.load(Ordering::SeqCst);
    assert_eq!(lost_calls, 0, "every failed attempt was retried on b");
    assert!(
        failed as f64 <= 0.5 * calls as f64,
        "{failed} failed attempts (each retried) for {calls} calls: over the 50% budget"
    );
    let a_served = a_calls.load(Ordering::SeqCst);
    let b_before = b.calls.load(Ordering::SeqCst);
    for _ in 0..20 {
        assert_eq!(call(&svc).await.unwrap(), "b");
    }
    assert_eq!(b.calls.load(Ordering::SeqCst), b_before + 20);
    assert_eq!(a_calls.load(Ordering::SeqCst), a_served);

    // 3. The registry dies: the last good set (b) keeps serving …
    etcd.kill();
    let stale = wait_for(&mut endpointer, "the registry error", |e| e.is_stale()).await;
    assert_eq!(stale.len(), 1);
    drop(stale);
    assert_eq!(call(&svc).await.unwrap(), "b");
    // … until the bound, then calls fail with Unavailable.
    wait_for(&mut endpointer, "the bound to pass", |e| e.is_empty()).await;
    let err = call(&svc).await.unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err}");
    assert!(err.message().contains("registry failed"), "{err}");

    // 4. The registry returns: b's keep-alive and the watch reconnect, and
    // service resumes.
    etcd.restart().unwrap();
    wait_for(&mut endpointer, "b to come back", |e| {
        e.len() == 1 && !e.is_stale()
    })
    .await;
    assert_eq!(call(&svc).await.unwrap(), "b");

    b.registration.deregister().await.unwrap();
    wait_for(&mut endpointer, "b's deregistration", |e| e.is_empty()).await;
    b.server.shutdown().await.unwrap();
}
