//! A real Redis Cluster for tests: Debian `redis-server` nodes in cluster
//! mode, each a [`RedisServer`], with the slots split between them.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use crate::{LaunchError, RedisServer};

/// Slots of a Redis Cluster.
const SLOTS: u32 = 16_384;
/// How long the nodes get to agree that the cluster is up.
const FORM_TIMEOUT: Duration = Duration::from_secs(20);

/// A Redis Cluster of primaries on free loopback ports, no replicas, each
/// primary holding a contiguous range of slots. Killed on drop.
#[derive(Debug)]
pub struct RedisCluster {
    nodes: Vec<RedisServer>,
}

impl RedisCluster {
    /// Starts `primaries` nodes (at least one), splits the 16,384 slots
    /// between them, introduces them to each other, and waits until every
    /// node says the cluster is up and knows every node.
    pub fn start(primaries: usize) -> Result<RedisCluster, LaunchError> {
        let n = primaries.max(1);
        let nodes = (0..n)
            .map(|_| {
                RedisServer::start_with_args(&[
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    "nodes.conf",
                    "--cluster-node-timeout",
                    "2000",
                ])
            })
            .collect::<Result<Vec<_>, _>>()?;
        let cluster = RedisCluster { nodes };
        for (i, node) in cluster.nodes.iter().enumerate() {
            let (from, to) = slot_range(i, n);
            command(
                node.addr(),
                &[
                    "CLUSTER",
                    "ADDSLOTSRANGE",
                    &from.to_string(),
                    &to.to_string(),
                ],
            )?;
        }
        let first = cluster.nodes[0].addr();
        for node in &cluster.nodes[1..] {
            command(
                first,
                &["CLUSTER", "MEET", "127.0.0.1", &node.port().to_string()],
            )?;
        }
        cluster.wait_until_formed()?;
        Ok(cluster)
    }

    fn wait_until_formed(&self) -> Result<(), LaunchError> {
        let began = Instant::now();
        let known = format!("cluster_known_nodes:{}", self.nodes.len());
        loop {
            let mut seen = String::new();
            let mut ok = true;
            for node in &self.nodes {
                let info = command(node.addr(), &["CLUSTER", "INFO"])?;
                if !(info.contains("cluster_state:ok")
                    && info.contains(&known)
                    && info.contains("cluster_slots_ok:16384"))
                {
                    ok = false;
                    seen = format!("node {}: {}", node.port(), info.replace("\r\n", " "));
                    break;
                }
            }
            if ok {
                return Ok(());
            }
            if began.elapsed() > FORM_TIMEOUT {
                return Err(LaunchError::NotReady {
                    binary: "redis-server",
                    waited: FORM_TIMEOUT,
                    log: format!("the cluster did not form: {seen}"),
                });
            }
            // Gossip takes a few rounds of the nodes' own timers; poll.
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The nodes' addresses, in slot order.
    pub fn addrs(&self) -> Vec<SocketAddr> {
        self.nodes.iter().map(RedisServer::addr).collect()
    }

    /// The nodes' ports, in slot order.
    pub fn ports(&self) -> Vec<u16> {
        self.nodes.iter().map(RedisServer::port).collect()
    }

    /// Every node as `127.0.0.1:port`, comma-separated: seed nodes for a
    /// client.
    pub fn seeds(&self) -> String {
        let seeds: Vec<String> = self.addrs().iter().map(SocketAddr::to_string).collect();
        seeds.join(",")
    }

    /// Node `i`, to kill, pause or restart it.
    pub fn node(&mut self, i: usize) -> &mut RedisServer {
        &mut self.nodes[i]
    }
}

/// Node `i` of `n`'s slots, inclusive.
fn slot_range(i: usize, n: usize) -> (u32, u32) {
    let n = n as u32;
    let i = i as u32;
    (SLOTS * i / n, SLOTS * (i + 1) / n - 1)
}

/// Sends one command and reads its reply as text: a status, an integer or
/// a bulk string. An error reply is an error.
fn command(addr: SocketAddr, args: &[&str]) -> Result<String, LaunchError> {
    let io = |source| LaunchError::Io {
        what: format!("`{}` to redis at {addr}", args.join(" ")),
        source,
    };
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).map_err(io)?;
    stream
        .set_read_timeout(Some(Duration::from_secs(2)))
        .map_err(io)?;
    let mut request = format!("*{}\r\n", args.len());
    for a in args {
        request.push_str(&format!("${}\r\n{a}\r\n", a.len()));
    }
    stream.write_all(request.as_bytes()).map_err(io)?;
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).map_err(io)?;
    let line = line.trim_end();
    let bad = |what: String| io(std::io::Error::other(what));
    match line.split_at_checked(1) {
        Some(("+" | ":", rest)) => Ok(rest.to_string()),
        Some(("-", rest)) => Err(bad(rest.to_string())),
        Some(("$", len)) => {
            let len: usize = len
                .parse()
                .map_err(|_| bad(format!("bad reply {line:?}")))?;
            let mut body = vec![0; len + 2];
            reader.read_exact(&mut body).map_err(io)?;
            body.truncate(len);
            Ok(String::from_utf8_lossy(&body).into_owned())
        }
        _ => Err(bad(format!("unexpected reply {line:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_ranges_cover_every_slot_once() {
        for n in 1..=7 {
            let mut next = 0;
            for i in 0..n {
                let (from, to) = slot_range(i, n);
                assert_eq!(from, next, "{n} nodes, node {i}");
                assert!(to >= from);
                next = to + 1;
            }
            assert_eq!(next, SLOTS);
        }
    }
}
