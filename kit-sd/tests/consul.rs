//! The Consul backend against a CONTRACT FAKE of Consul's HTTP API (see
//! `support/consul_fake.rs`): Consul has no Debian package to run here.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/watch.rs"]
mod watch;

#[path = "support/consul_fake.rs"]
mod consul_fake;

use std::time::Duration;

use consul_fake::ConsulFake;
use kit_sd::backoff::Backoff;
use kit_sd::consul::{ConsulClient, ConsulRegistrar, ConsulService, HealthInstancer};

use kit_sd::{Instancer, Registrar};
use watch::{fast, names, wait_for};

fn service(id: &str, port: u16) -> ConsulService {
    ConsulService {
        id: id.to_owned(),
        name: "echo".to_owned(),
        address: "127.0.0.1".to_owned(),
        port,
        tags: vec![],
    }
}

fn watch(addr: std::net::SocketAddr) -> Instancer {
    HealthInstancer::new(ConsulClient::new(format!("http://{addr}")), "echo")
        .wait(Duration::from_secs(2))
        .floor(Duration::from_millis(10))
        .backoff(fast())
        .build()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_health_and_deregistration() {
    let (fake, addr) = ConsulFake::start().await;
    let client = ConsulClient::new(format!("http://{addr}"));
    let mut instancer = watch(addr);
    let ttl = Duration::from_secs(3);
    let a = ConsulRegistrar::new(client.clone(), service("echo-a", 8001), ttl)
        .register()
        .await
        .unwrap();
    let b = ConsulRegistrar::new(client.clone(), service("echo-b", 8002), ttl)
        .register()
        .await
        .unwrap();
    let state = wait_for(&mut instancer, "both passing", |s| s.instances().len() == 2).await;
    assert_eq!(names(&state), ["127.0.0.1:8001", "127.0.0.1:8002"]);

    // a's TTL runs out (as Consul would decide): only passing ones are kept.
    fake.critical("echo-a");
    let state = wait_for(&mut instancer, "a critical", |s| s.instances().len() == 1).await;
    assert_eq!(names(&state), ["127.0.0.1:8002"]);

    b.deregister().await.unwrap();
    assert_eq!(fake.service_ids(), ["echo-a"]);
    wait_for(&mut instancer, "b gone", |s| s.instances().is_empty()).await;
    drop(a);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_check_is_kept_passing_and_a_forgetful_agent_gets_it_again() {
    let (fake, addr) = ConsulFake::start().await;
    let client = ConsulClient::new(format!("http://{addr}"));
    let mut instancer = watch(addr);
    let registration =
        ConsulRegistrar::new(client, service("echo-a", 8001), Duration::from_secs(1))
            .backoff(fast())
            .register()
            .await
            .unwrap();
    let mut passes = fake.passes();
    tokio::time::timeout(Duration::from_secs(10), passes.wait_for(|n| *n >= 3))
        .await
        .expect("the check was not passed every third of the TTL")
        .unwrap();
    fake.forget_all();
    wait_for(&mut instancer, "the agent to forget", |s| {
        s.instances().is_empty()
    })
    .await;
    let state = wait_for(&mut instancer, "the registration again", |s| {
        s.instances().len() == 1
    })
    .await;
    assert_eq!(names(&state), ["127.0.0.1:8001"]);
    registration.deregister().await.unwrap();
    assert!(fake.service_ids().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_index_going_backwards_resets_to_zero() {
    let (fake, addr) = ConsulFake::start().await;
    let client = ConsulClient::new(format!("http://{addr}"));
    let _a = ConsulRegistrar::new(
        client.clone(),
        service("echo-a", 8001),
        Duration::from_secs(30),
    )
    .register()
    .await
    .unwrap();
    let mut instancer = watch(addr);
    wait_for(&mut instancer, "a", |s| s.instances().len() == 1).await;
    // The second query blocks on the index the first answer carried.
    let mut indexes = fake.watch_indexes();
    tokio::time::timeout(
        Duration::from_secs(10),
        indexes.wait_for(|seen| seen.iter().any(|i| *i >= 2)),
    )
    .await
    .expect("no blocking query on the answered index")
    .unwrap();
    let queries = fake.seen_indexes().len();
    fake.set_index(1);
    // The blocked query answers with index 1, below what it asked: the
    // next query starts over from 0.
    tokio::time::timeout(
        Duration::from_secs(10),
        indexes.wait_for(|seen| seen[queries..].contains(&0)),
    )
    .await
    .expect("no query with index 0 after the index went backwards")
    .unwrap();
    let _b = ConsulRegistrar::new(client, service("echo-b", 8002), Duration::from_secs(30))
        .register()
        .await
        .unwrap();
    wait_for(&mut instancer, "b after the reset", |s| {
        s.instances().len() == 2
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn errors_back_off_instead_of_spinning() {
    let (fake, addr) = ConsulFake::start().await;
    fake.fail_next(usize::MAX);
    let mut instancer = HealthInstancer::new(ConsulClient::new(format!("http://{addr}")), "echo")
        .backoff(Backoff::new(
            Duration::from_millis(100),
            Duration::from_secs(10),
        ))
        .build();
    let started = tokio::time::Instant::now();
    while started.elapsed() < Duration::from_secs(60) {
        instancer.changed().await.unwrap();
        let state = instancer.state_and_update();
        assert!(!state.is_healthy());
        assert!(
            fake.health_queries() < 200,
            "spinning: {} queries",
            fake.health_queries()
        );
    }
    let queries = fake.health_queries();
    // 100 ms doubling to 10 s, jittered: about a dozen in a minute.
    assert!((3..=30).contains(&queries), "{queries} queries in a minute");
    let err = instancer.state().error().unwrap().to_string();
    assert!(
        err.contains("500") && err.contains("No cluster leader"),
        "{err}"
    );
}
