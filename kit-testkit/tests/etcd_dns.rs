//! The etcd and dnsmasq launchers against the real binaries.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::{TcpStream, UdpSocket};
use std::time::Duration;

use kit_testkit::port::is_free;
use kit_testkit::{DnsServer, EtcdServer, SrvRecord};

/// GET `path` over HTTP/1.0 and return the whole response.
fn http_get(addr: std::net::SocketAddr, path: &str) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    write!(stream, "GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").unwrap();
    let mut out = String::new();
    stream.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn etcd_serves_restarts_with_its_data_and_frees_its_ports() {
    let mut etcd = EtcdServer::start().unwrap();
    let (port, peer) = (etcd.port(), etcd.peer_port());
    assert_ne!(port, peer);
    assert!(http_get(etcd.addr(), "/health").contains("\"health\":\"true\""));
    assert_eq!(etcd.endpoint(), format!("127.0.0.1:{port}"));
    etcd.kill();
    assert!(TcpStream::connect(etcd.addr()).is_err());
    etcd.restart().unwrap();
    assert_eq!(etcd.port(), port);
    assert!(
        etcd.data_dir().join("member").is_dir(),
        "data survives a restart"
    );
    assert!(http_get(etcd.addr(), "/version").contains("etcdserver"));
    drop(etcd);
    assert!(is_free(port) && is_free(peer));
}

#[test]
fn a_paused_etcd_accepts_but_does_not_answer() {
    let mut etcd = EtcdServer::start().unwrap();
    etcd.pause().unwrap();
    let mut stream = TcpStream::connect(etcd.addr()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    write!(stream, "GET /health HTTP/1.0\r\n\r\n").unwrap();
    let mut buf = [0u8; 16];
    assert!(stream.read(&mut buf).is_err(), "a paused server answered");
    etcd.resume().unwrap();
    assert!(http_get(etcd.addr(), "/health").contains("true"));
}

/// A DNS query for `name` of type SRV (33), by hand: header, name, type, class.
fn srv_query(name: &str, id: u16) -> Vec<u8> {
    let mut q = id.to_be_bytes().to_vec();
    q.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name.trim_end_matches('.').split('.') {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.extend_from_slice(&[0, 0, 33, 0, 1]);
    q
}

/// The answer count of the reply to an SRV query, or `None` on timeout.
fn srv_answers(addr: std::net::SocketAddr, name: &str) -> Option<u16> {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    socket.send_to(&srv_query(name, 0x4b49), addr).unwrap();
    let mut buf = [0u8; 512];
    let (n, _) = socket.recv_from(&mut buf).ok()?;
    assert!(n >= 12);
    assert_eq!(&buf[..2], &[0x4b, 0x49]);
    Some(u16::from_be_bytes([buf[6], buf[7]]))
}

#[test]
fn dnsmasq_serves_the_srv_records_it_is_given() {
    let name = "_http._tcp.svc.kit.test";
    let mut dns = DnsServer::start(&[
        SrvRecord::new(name, "a.kit.test", 8080),
        SrvRecord::new(name, "b.kit.test", 8081),
    ])
    .unwrap();
    assert_eq!(srv_answers(dns.addr(), name), Some(2));
    dns.set_records(&[SrvRecord::new(name, "a.kit.test", 8080)])
        .unwrap();
    assert_eq!(srv_answers(dns.addr(), name), Some(1));
    dns.pause().unwrap();
    assert_eq!(
        srv_answers(dns.addr(), name),
        None,
        "a paused server answered"
    );
    dns.resume().unwrap();
    assert_eq!(srv_answers(dns.addr(), name), Some(1));
    let port = dns.port();
    dns.kill();
    dns.restart().unwrap();
    assert_eq!(dns.port(), port);
    assert_eq!(srv_answers(dns.addr(), name), Some(1));
}
