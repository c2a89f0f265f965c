//! The launcher against the real redis-server.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::Duration;

use kit_testkit::process::{ChildServer, Spec};
use kit_testkit::{LaunchError, RedisServer, port::is_free};

/// Sends one inline command and reads one reply line.
fn command(addr: std::net::SocketAddr, cmd: &str) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    stream.write_all(format!("{cmd}\r\n").as_bytes()).unwrap();
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    if line.starts_with('$') && line != "$-1\r\n" {
        line.clear();
        reader.read_line(&mut line).unwrap();
    }
    line.trim_end().to_string()
}

#[test]
fn start_use_drop_frees_the_port() {
    let redis = RedisServer::start().unwrap();
    let port = redis.port();
    assert!(!is_free(port), "redis should hold its port");
    assert_eq!(command(redis.addr(), "PING"), "+PONG");
    assert_eq!(command(redis.addr(), "SET kit works"), "+OK");
    assert_eq!(command(redis.addr(), "GET kit"), "works");
    assert_eq!(redis.url(), format!("redis://127.0.0.1:{port}/"));
    drop(redis);
    assert!(is_free(port), "port {port} still taken after drop");
}

#[test]
fn two_servers_are_independent() {
    let a = RedisServer::start().unwrap();
    let b = RedisServer::start().unwrap();
    assert_ne!(a.port(), b.port());
    assert_eq!(command(a.addr(), "SET k a"), "+OK");
    assert_eq!(command(b.addr(), "GET k"), "$-1");
}

#[test]
fn kill_and_restart_on_the_same_port() {
    let mut redis = RedisServer::start().unwrap();
    let port = redis.port();
    assert_eq!(command(redis.addr(), "SET k v"), "+OK");
    redis.kill();
    assert!(TcpStream::connect(redis.addr()).is_err());
    redis.restart().unwrap();
    assert_eq!(redis.port(), port);
    assert_eq!(command(redis.addr(), "PING"), "+PONG");
    // persistence is off, so a crash loses the data
    assert_eq!(command(redis.addr(), "GET k"), "$-1");
}

#[test]
fn a_panicking_test_still_stops_the_server() {
    let (tx, rx) = std::sync::mpsc::channel();
    let handle = std::thread::spawn(move || {
        let redis = RedisServer::start().unwrap();
        tx.send(redis.port()).unwrap();
        panic!("the test failed");
    });
    assert!(handle.join().is_err());
    let port = rx.recv().unwrap();
    assert!(is_free(port), "port {port} still taken after a panic");
}

#[test]
fn a_missing_binary_names_the_package() {
    let err = ChildServer::spawn(Spec {
        binary: "kit-no-such-server",
        package: "kit-no-such-package",
        args: vec![],
        ready_line: "ready",
        ready_timeout: Duration::from_secs(1),
    })
    .unwrap_err();
    assert!(matches!(err, LaunchError::Missing { .. }));
    let message = err.to_string();
    assert!(
        message.contains("apt-get install -y kit-no-such-package"),
        "{message}"
    );
}

#[test]
fn a_server_that_exits_early_reports_its_log() {
    let err = ChildServer::spawn(Spec {
        binary: "redis-server",
        package: "redis-server",
        args: vec!["--port".into(), "not-a-port".into()],
        ready_line: "Ready to accept connections",
        ready_timeout: Duration::from_secs(20),
    })
    .unwrap_err();
    let LaunchError::NotReady { log, .. } = &err else {
        panic!("expected NotReady, got {err}");
    };
    assert!(!log.is_empty(), "the log tail should explain the exit");
}

#[test]
fn a_redis_cluster_forms_and_every_node_serves_its_slots() {
    use std::io::{Read, Write};
    let cluster = kit_testkit::RedisCluster::start(3).unwrap();
    assert_eq!(cluster.ports().len(), 3);
    assert_eq!(cluster.seeds().split(',').count(), 3);
    // Every node answers CLUSTER INFO with the whole cluster up.
    for addr in cluster.addrs() {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.write_all(b"*2\r\n$7\r\nCLUSTER\r\n$4\r\nINFO\r\n")
            .unwrap();
        let mut buf = [0u8; 4096];
        let n = s.read(&mut buf).unwrap();
        let info = String::from_utf8_lossy(&buf[..n]);
        assert!(info.contains("cluster_state:ok"), "{info}");
        assert!(info.contains("cluster_known_nodes:3"), "{info}");
    }
}

#[test]
fn a_one_node_redis_cluster_holds_every_slot() {
    let cluster = kit_testkit::RedisCluster::start(1).unwrap();
    assert_eq!(cluster.ports().len(), 1);
}
