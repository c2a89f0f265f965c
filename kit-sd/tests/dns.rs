//! The DNS SRV instancer against a real dnsmasq (through kit-testkit), and
//! its backoff against a server that only fails.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/watch.rs"]
mod watch;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use hickory_resolver::config::{NameServerConfig, ResolverConfig, ResolverOpts};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use kit_sd::backoff::Backoff;
use kit_sd::dns::SrvInstancer;
use kit_sd::dns::hickory_resolver::{self, TokioResolver};
use kit_sd::instancer::State;

use kit_testkit::{DnsServer, SrvRecord};
use watch::{names, wait_for};

const NAME: &str = "_http._tcp.svc.kit.test.";

fn resolver(addr: SocketAddr) -> TokioResolver {
    let mut server = NameServerConfig::udp_and_tcp(addr.ip());
    for c in &mut server.connections {
        c.port = addr.port();
    }
    let config = ResolverConfig::from_parts(None, vec![], vec![server]);
    let mut opts = ResolverOpts::default();
    opts.cache_size = 0;
    opts.attempts = 1;
    opts.timeout = Duration::from_millis(500);
    TokioResolver::builder_with_config(config, TokioRuntimeProvider::default())
        .with_options(opts)
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn srv_records_are_followed_through_changes_and_outages() {
    let name = NAME.trim_end_matches('.');
    let mut dns = DnsServer::start(&[
        SrvRecord::new(name, "a.kit.test", 8080),
        SrvRecord::new(name, "b.kit.test", 8081),
    ])
    .unwrap();
    let mut instancer = SrvInstancer::new(resolver(dns.addr()), NAME)
        .min_interval(Duration::from_millis(200))
        .backoff(Backoff::new(
            Duration::from_millis(50),
            Duration::from_millis(200),
        ))
        .build();
    let state = wait_for(&mut instancer, "both records", |s| s.instances().len() == 2).await;
    assert_eq!(names(&state), ["a.kit.test:8080", "b.kit.test:8081"]);
    assert!(state.is_healthy());

    // A record goes away: the next poll (TTL 1 s) sees it.
    dns.set_records(&[SrvRecord::new(name, "b.kit.test", 8081)])
        .unwrap();
    let state = wait_for(&mut instancer, "one record", |s| s.instances().len() == 1).await;
    assert_eq!(names(&state), ["b.kit.test:8081"]);

    // The server dies: the error is published, the last good set kept.
    dns.kill();
    let state = wait_for(&mut instancer, "the error", |s| !s.is_healthy()).await;
    assert_eq!(names(&state), ["b.kit.test:8081"]);
    assert!(state.failing_since().is_some());

    // It comes back: healthy again.
    dns.restart().unwrap();
    let state = wait_for(&mut instancer, "recovery", State::is_healthy).await;
    assert_eq!(names(&state), ["b.kit.test:8081"]);

    // No records at all is an empty set, not an error.
    dns.set_records(&[]).unwrap();
    let state = wait_for(&mut instancer, "no records", |s| s.instances().is_empty()).await;
    assert!(state.is_healthy());
}

/// A DNS server that answers every query with SERVFAIL, counting them.
async fn failing_server() -> (SocketAddr, Arc<AtomicUsize>) {
    let socket = tokio::net::UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .unwrap();
    let addr = socket.local_addr().unwrap();
    let queries = Arc::new(AtomicUsize::new(0));
    let count = queries.clone();
    tokio::spawn(async move {
        let mut buf = [0u8; 512];
        while let Ok((n, peer)) = socket.recv_from(&mut buf).await {
            if n < 12 {
                continue;
            }
            count.fetch_add(1, Ordering::SeqCst);
            let mut reply = buf[..n].to_vec();
            reply[2] = 0x81; // QR, RD
            reply[3] = 0x82; // RA, SERVFAIL
            let _ = socket.send_to(&reply, peer).await;
        }
    });
    (addr, queries)
}

#[tokio::test(start_paused = true)]
async fn a_failing_server_is_asked_with_backoff_not_in_a_loop() {
    let (addr, queries) = failing_server().await;
    let mut udp_only = NameServerConfig::udp(IpAddr::from(Ipv4Addr::LOCALHOST));
    udp_only.connections[0].port = addr.port();
    let config = ResolverConfig::from_parts(None, vec![], vec![udp_only]);
    let mut opts = ResolverOpts::default();
    opts.cache_size = 0;
    opts.attempts = 1;
    let resolver = TokioResolver::builder_with_config(config, TokioRuntimeProvider::default())
        .with_options(opts)
        .build()
        .unwrap();
    let mut instancer = SrvInstancer::new(resolver, NAME)
        .backoff(Backoff::new(
            Duration::from_millis(100),
            Duration::from_secs(10),
        ))
        .build();
    let started = tokio::time::Instant::now();
    let mut failures = 0;
    while started.elapsed() < Duration::from_secs(60) {
        instancer.changed().await.unwrap();
        if !instancer.state_and_update().is_healthy() {
            failures += 1;
        }
    }
    // 100 ms doubling to 10 s (jittered up to 2x): about a dozen tries in a
    // minute, where a loop without backoff would make thousands.
    let asked = queries.load(Ordering::SeqCst);
    assert!(
        (3..=40).contains(&failures),
        "{failures} failed lookups in a minute"
    );
    assert!(
        asked <= 4 * failures.max(1),
        "{asked} queries for {failures} lookups"
    );
    let _ = hickory_resolver::proto::rr::RecordType::SRV;
}
