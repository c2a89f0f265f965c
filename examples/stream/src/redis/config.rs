//! Instance addresses and the farm string, connection settings.

use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use kit_circuitbreaker::{Config as BreakerConfig, Trip};

use super::Sharding;
use crate::crdt::DEFAULT_MAX_SIZE;

/// One Redis instance: a host (a name, an IPv4 or an IPv6 address) and a
/// port.
///
/// Parsed from `host:port`, with IPv6 addresses in brackets as in URLs
/// (`[::1]:6379`); printed the same way.
///
/// ```
/// use stream::redis::Addr;
///
/// let a: Addr = "[::1]:6379".parse().unwrap();
/// assert_eq!((a.host(), a.port()), ("::1", 6379));
/// assert_eq!(a.to_string(), "[::1]:6379");
/// assert!("::1:6379".parse::<Addr>().is_err()); // brackets required
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Addr {
    host: String,
    port: u16,
}

impl Addr {
    /// An address from its parts (`host` without brackets).
    pub fn new(host: impl Into<String>, port: u16) -> Addr {
        Addr {
            host: host.into(),
            port,
        }
    }

    /// The host, without brackets.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }
}

impl fmt::Display for Addr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// A malformed instance list.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// An address that is not `host:port` or `[v6]:port`.
    #[error("invalid instance {0:?}: want host:port, or [ipv6]:port")]
    Addr(String),
    /// A port that is not a number from 1 to 65535.
    #[error("invalid port in {0:?}")]
    Port(String),
    /// A cluster with no instance (`a:1;;b:2`, or an empty string).
    #[error("cluster {0} has no instances")]
    EmptyCluster(usize),
    /// The same instance twice anywhere in the farm.
    #[error("instance {0} appears twice")]
    Duplicate(String),
    /// Any other bad value, with what was wrong.
    #[error("{0}")]
    Invalid(String),
}

impl FromStr for Addr {
    type Err = ConfigError;
    fn from_str(s: &str) -> Result<Addr, ConfigError> {
        let bad = || ConfigError::Addr(s.to_string());
        let (host, port) = if let Some(rest) = s.strip_prefix('[') {
            let (host, port) = rest.split_once("]:").ok_or_else(bad)?;
            if host.is_empty() || !host.contains(':') {
                return Err(bad());
            }
            (host, port)
        } else {
            let (host, port) = s.split_once(':').ok_or_else(bad)?;
            if host.is_empty() || port.contains(':') {
                return Err(bad());
            }
            (host, port)
        };
        if host
            .chars()
            .any(|c| c.is_whitespace() || "[]/@".contains(c))
        {
            return Err(bad());
        }
        let port: u16 = port.parse().map_err(|_| ConfigError::Port(s.to_string()))?;
        if port == 0 {
            return Err(ConfigError::Port(s.to_string()));
        }
        Ok(Addr::new(host, port))
    }
}

/// Every instance of a farm: clusters separated by `;`, instances by `,`,
/// whitespace ignored, as roshi-server's `-redis.instances`. Clusters may
/// differ in size; no cluster may be empty and no instance may repeat.
///
/// ```
/// use stream::redis::Instances;
///
/// let farm: Instances = "127.0.0.1:6379, 127.0.0.1:6380; [::1]:6379".parse().unwrap();
/// assert_eq!(farm.clusters().len(), 2);
/// assert_eq!(farm.clusters()[1][0].to_string(), "[::1]:6379");
/// assert!("a:1;;b:2".parse::<Instances>().is_err());
/// assert!("a:1,a:1".parse::<Instances>().is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Instances(Vec<Vec<Addr>>);

impl Instances {
    /// Instances, checked: at least one cluster, none empty, no repeats.
    pub fn new(clusters: Vec<Vec<Addr>>) -> Result<Instances, ConfigError> {
        if clusters.is_empty() {
            return Err(ConfigError::EmptyCluster(0));
        }
        let mut seen = HashSet::new();
        for (i, cluster) in clusters.iter().enumerate() {
            if cluster.is_empty() {
                return Err(ConfigError::EmptyCluster(i));
            }
            for addr in cluster {
                if !seen.insert(addr) {
                    return Err(ConfigError::Duplicate(addr.to_string()));
                }
            }
        }
        Ok(Instances(clusters))
    }

    /// The clusters, each an ordered list of instances.
    pub fn clusters(&self) -> &[Vec<Addr>] {
        &self.0
    }
}

impl FromStr for Instances {
    type Err = ConfigError;
    fn from_str(s: &str) -> Result<Instances, ConfigError> {
        let squeezed: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        let clusters = squeezed
            .split(';')
            .enumerate()
            .map(|(i, cluster)| {
                if cluster.is_empty() {
                    return Err(ConfigError::EmptyCluster(i));
                }
                cluster
                    .split(',')
                    .map(|a| {
                        if a.is_empty() {
                            Err(ConfigError::Addr(cluster.to_string()))
                        } else {
                            a.parse()
                        }
                    })
                    .collect()
            })
            .collect::<Result<Vec<Vec<Addr>>, ConfigError>>()?;
        Instances::new(clusters)
    }
}

impl fmt::Display for Instances {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, cluster) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(";")?;
            }
            for (j, addr) in cluster.iter().enumerate() {
                if j > 0 {
                    f.write_str(",")?;
                }
                write!(f, "{addr}")?;
            }
        }
        Ok(())
    }
}

/// How one cluster talks to its instances.
#[derive(Clone, Debug)]
pub struct ClusterConfig {
    /// Where keys go.
    pub sharding: Sharding,
    /// The bound on entries per key (`-max.size`).
    pub max_size: usize,
    /// Connections per instance (`-redis.mcpi`).
    pub pool_size: usize,
    /// Requests one connection carries at once (`-redis.pipeline.depth`):
    /// at most `pool_size × pipeline_depth` wait or are in flight per
    /// instance. A connection is added when every open one carries half
    /// this many.
    pub pipeline_depth: usize,
    /// How long a request waits for room before it fails with
    /// `ResourceExhausted`.
    pub pool_timeout: Duration,
    /// How long to wait for a TCP connection (`-redis.connect.timeout`).
    pub connect_timeout: Duration,
    /// How long to wait for a reply (`-redis.read.timeout`; Roshi's write
    /// timeout has no separate meaning on an async socket and is folded in).
    pub response_timeout: Duration,
    /// Each instance's circuit breaker.
    pub breaker: BreakerConfig,
}

impl Default for ClusterConfig {
    /// Roshi's defaults (3 s timeouts, 10 connections per instance, max
    /// size 10,000), 16 requests in flight per connection, a 1 s wait for
    /// room, and a breaker that opens
    /// after 5 failures in a row for 1 s (doubling up to 30 s).
    fn default() -> ClusterConfig {
        ClusterConfig {
            sharding: Sharding::Murmur3,
            max_size: DEFAULT_MAX_SIZE,
            pool_size: 10,
            pipeline_depth: 16,
            pool_timeout: Duration::from_secs(1),
            connect_timeout: Duration::from_secs(3),
            response_timeout: Duration::from_secs(3),
            breaker: default_breaker(),
        }
    }
}

/// The default per-instance breaker: open after 5 failures in a row, for
/// 1 s, doubling to 30 s; one probe closes it.
pub fn default_breaker() -> BreakerConfig {
    BreakerConfig::new()
        .trips([Trip::consecutive_failures(5)])
        .open_for(Duration::from_secs(1))
        .backoff(2.0, Duration::from_secs(30))
        .half_open(1, 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn addresses() {
        let ok = [
            ("127.0.0.1:6379", "127.0.0.1", 6379),
            ("localhost:1", "localhost", 1),
            ("[::1]:6379", "::1", 6379),
            ("[fe80::1%eth0]:7000", "fe80::1%eth0", 7000),
        ];
        for (s, host, port) in ok {
            let a: Addr = s.parse().unwrap();
            assert_eq!((a.host(), a.port()), (host, port), "{s}");
            assert_eq!(a.to_string(), s);
        }
        for bad in [
            "",
            ":",
            "host",
            "host:",
            ":80",
            "::1:80",
            "[::1]",
            "[::1]80",
            "[]:80",
            "[host]:80",
            "a:b:c",
            "h:0",
            "h:65536",
            "h:-1",
            "h:80x",
            "a b:80",
            "u@h:1",
        ] {
            assert!(bad.parse::<Addr>().is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn farm_strings() {
        let farm: Instances = " a:1 , b:2 ;\n[::1]:3 ".parse().unwrap();
        assert_eq!(farm.to_string(), "a:1,b:2;[::1]:3");
        assert_eq!(farm.clusters()[0].len(), 2);
        for (bad, want) in [
            ("", ConfigError::EmptyCluster(0)),
            ("a:1;", ConfigError::EmptyCluster(1)),
            ("a:1;;b:2", ConfigError::EmptyCluster(1)),
            ("a:1;b:2,a:1", ConfigError::Duplicate("a:1".into())),
            ("a:1,,b:2", ConfigError::Addr("a:1,,b:2".into())),
        ] {
            assert_eq!(bad.parse::<Instances>(), Err(want), "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn garbage_never_panics(s in "\\PC{0,40}") {
            let _ = s.parse::<Instances>();
            let _ = s.parse::<Addr>();
        }

        #[test]
        fn printed_farms_parse_back(
            clusters in prop::collection::vec(prop::collection::vec((0u8..4, 1u16..4), 1..4), 1..4)
        ) {
            let hosts = ["a", "10.0.0.1", "::1", "fe80::2"];
            let mut seen = HashSet::new();
            let clusters: Vec<Vec<Addr>> = clusters
                .into_iter()
                .map(|c| c.into_iter().map(|(h, p)| Addr::new(hosts[h as usize], p))
                    .filter(|a| seen.insert(a.clone())).collect::<Vec<_>>())
                .filter(|c| !c.is_empty())
                .collect();
            let farm = Instances::new(clusters).unwrap();
            prop_assert_eq!(farm.to_string().parse::<Instances>(), Ok(farm));
        }
    }
}
