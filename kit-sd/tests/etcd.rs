//! The etcd instancer and registrar against a real etcd (through kit-testkit).

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/watch.rs"]
mod watch;

use std::time::Duration;

use etcd_client::{Client, CompactionOptions, PutOptions};

use kit_sd::Registrar;
use kit_sd::etcd::{self, EtcdRegistrar, etcd_client};
use kit_sd::instancer::State;
use kit_testkit::EtcdServer;
use watch::{fast, names, wait_for};

async fn client(etcd: &EtcdServer) -> Client {
    Client::connect([etcd.endpoint()], None).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_prefix_watch_follows_puts_deletes_and_survives_compaction() {
    let etcd = EtcdServer::start().unwrap();
    let mut kv = client(&etcd).await;
    kv.put("/svc/a/1", "10.0.0.1:80", None).await.unwrap();
    kv.put("/svc/b/1", "10.0.0.9:80", None).await.unwrap(); // another service
    let mut instancer = etcd::instancer_with_backoff(client(&etcd).await, "/svc/a/", fast());
    let state = wait_for(&mut instancer, "the first read", |s| {
        s.instances().len() == 1
    })
    .await;
    assert_eq!(names(&state), ["10.0.0.1:80"]);

    kv.put("/svc/a/2", "10.0.0.2:80", None).await.unwrap();
    wait_for(&mut instancer, "a put", |s| s.instances().len() == 2).await;
    kv.put("/svc/a/2", "10.0.0.3:80", None).await.unwrap();
    let state = wait_for(&mut instancer, "an overwrite", |s| {
        names(s).contains(&"10.0.0.3:80")
    })
    .await;
    assert_eq!(names(&state), ["10.0.0.1:80", "10.0.0.3:80"]);
    kv.put("/svc/a/3", vec![0xffu8, 0xfe], None).await.unwrap(); // garbage is skipped
    kv.delete("/svc/a/1", None).await.unwrap();
    let state = wait_for(&mut instancer, "a delete", |s| s.instances().len() == 1).await;
    assert_eq!(names(&state), ["10.0.0.3:80"]);

    // Compact past the current revision: the watch is not disturbed, and a
    // change after it is still seen.
    let rev = kv
        .put("/svc/x", "", None)
        .await
        .unwrap()
        .header()
        .unwrap()
        .revision();
    kv.compact(rev, Some(CompactionOptions::new().with_physical()))
        .await
        .unwrap();
    kv.put("/svc/a/4", "10.0.0.4:80", None).await.unwrap();
    let state = wait_for(&mut instancer, "a put after compaction", |s| {
        s.instances().len() == 2
    })
    .await;
    assert!(state.is_healthy());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registry_outage_is_an_error_state_and_the_watch_comes_back() {
    let mut etcd = EtcdServer::start().unwrap();
    let mut kv = client(&etcd).await;
    kv.put("/svc/a/1", "10.0.0.1:80", None).await.unwrap();
    let mut instancer = etcd::instancer_with_backoff(client(&etcd).await, "/svc/a/", fast());
    wait_for(&mut instancer, "the first read", |s| {
        s.instances().len() == 1
    })
    .await;

    etcd.kill();
    let state = wait_for(&mut instancer, "the error", |s| !s.is_healthy()).await;
    assert_eq!(names(&state), ["10.0.0.1:80"], "the last good set is kept");

    etcd.restart().unwrap();
    wait_for(&mut instancer, "recovery", State::is_healthy).await;
    let mut kv = client(&etcd).await;
    kv.put("/svc/a/2", "10.0.0.2:80", None).await.unwrap();
    wait_for(&mut instancer, "a put after the outage", |s| {
        s.instances().len() == 2
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_lives_with_its_keep_alive_and_leaves_on_deregister() {
    let etcd = EtcdServer::start().unwrap();
    let mut instancer = etcd::instancer_with_backoff(client(&etcd).await, "/svc/r/", fast());
    let ttl = Duration::from_secs(1);
    let a = EtcdRegistrar::new(client(&etcd).await, "/svc/r/a", "10.0.0.1:80", ttl)
        .register()
        .await
        .unwrap();
    let b = EtcdRegistrar::new(client(&etcd).await, "/svc/r/b", "10.0.0.2:80", ttl)
        .register()
        .await
        .unwrap();
    wait_for(&mut instancer, "both registered", |s| {
        s.instances().len() == 2
    })
    .await;

    // Kept alive well past the TTL: wait for three TTLs' worth of keep-alive
    // by watching a lease of our own expire (bounded, no sleep).
    let mut kv = client(&etcd).await;
    let probe = kv.lease_grant(3, None).await.unwrap().id();
    kv.put("/svc/probe", "x", Some(PutOptions::new().with_lease(probe)))
        .await
        .unwrap();
    let mut probe_watch = etcd::instancer_with_backoff(client(&etcd).await, "/svc/probe", fast());
    wait_for(&mut probe_watch, "the probe", |s| s.instances().len() == 1).await;
    wait_for(&mut probe_watch, "the probe lease to expire", |s| {
        s.instances().is_empty()
    })
    .await;
    assert_eq!(
        instancer.state().instances().len(),
        2,
        "keep-alive held both"
    );

    // Deregistered: gone at once. Dropped (a crash): gone after the TTL.
    a.deregister().await.unwrap();
    let state = wait_for(&mut instancer, "a deregistered", |s| {
        s.instances().len() == 1
    })
    .await;
    assert_eq!(names(&state), ["10.0.0.2:80"]);
    drop(b);
    wait_for(&mut instancer, "b's lease to expire", |s| {
        s.instances().is_empty()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_survives_a_registry_restart() {
    let mut etcd = EtcdServer::start().unwrap();
    let registration = EtcdRegistrar::new(
        client(&etcd).await,
        "/svc/s/a",
        "10.0.0.1:80",
        Duration::from_secs(1),
    )
    .backoff(fast())
    .register()
    .await
    .unwrap();
    etcd.kill();
    etcd.restart().unwrap();
    let mut instancer = etcd::instancer_with_backoff(client(&etcd).await, "/svc/s/", fast());
    wait_for(&mut instancer, "the registration", |s| {
        s.instances().len() == 1
    })
    .await;
    // … and stays past the TTL: the keep-alive reconnected.
    let mut kv = client(&etcd).await;
    let probe = kv.lease_grant(3, None).await.unwrap().id();
    kv.put(
        "/svc/probe2",
        "x",
        Some(PutOptions::new().with_lease(probe)),
    )
    .await
    .unwrap();
    let mut probe_watch = etcd::instancer_with_backoff(client(&etcd).await, "/svc/probe2", fast());
    wait_for(&mut probe_watch, "the probe", |s| s.instances().len() == 1).await;
    wait_for(&mut probe_watch, "the probe lease to expire", |s| {
        s.instances().is_empty()
    })
    .await;
    assert_eq!(instancer.state().instances().len(), 1);
    assert!(registration.is_alive());
    registration.deregister().await.unwrap();
    wait_for(&mut instancer, "deregistration", |s| {
        s.instances().is_empty()
    })
    .await;
}
