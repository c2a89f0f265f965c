//! A real DNS server (`dnsmasq`) serving SRV records, for tests.

use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use tempfile::TempDir;

use crate::process::{ChildServer, Spec};
use crate::{LaunchError, free_port};

/// How many times a launch is tried when a free port is taken in between.
const ATTEMPTS: usize = 3;

/// One SRV record: `name` (such as `_http._tcp.svc.kit.test`) points at
/// `target:port`. The server also answers `target` with 127.0.0.1.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SrvRecord {
    /// The owner name, `_service._proto.domain`.
    pub name: String,
    /// The target host name.
    pub target: String,
    /// The target port.
    pub port: u16,
    /// Lower is preferred.
    pub priority: u16,
    /// Relative weight among records of the same priority.
    pub weight: u16,
}

impl SrvRecord {
    /// A record with priority 0 and weight 10.
    pub fn new(name: &str, target: &str, port: u16) -> SrvRecord {
        SrvRecord {
            name: name.to_owned(),
            target: target.to_owned(),
            port,
            priority: 0,
            weight: 10,
        }
    }
}

/// Debian's `dnsmasq` on a free loopback port (UDP and TCP), serving only
/// the SRV records it is given, from a configuration file in its own
/// temporary directory: no upstream servers, no `/etc/hosts`. Killed on drop.
///
/// It is authoritative for the `.test` domain (reserved for testing by
/// RFC 2606): a name there without records gets NXDOMAIN; other names are
/// refused. Give records names under `.test`.
///
/// ```no_run
/// use kit_testkit::{DnsServer, SrvRecord};
///
/// let mut dns = DnsServer::start(&[SrvRecord::new("_http._tcp.svc.kit.test", "a.kit.test", 8080)]).unwrap();
/// println!("dns at {}", dns.addr());
/// dns.set_records(&[]).unwrap(); // rewrites the configuration and restarts
/// ```
#[derive(Debug)]
pub struct DnsServer {
    port: u16,
    ttl: u32,
    conf: PathBuf,
    server: ChildServer,
    // Kept so the configuration outlives the process.
    _dir: TempDir,
}

impl DnsServer {
    /// Starts a server answering `records` with a TTL of one second.
    pub fn start(records: &[SrvRecord]) -> Result<DnsServer, LaunchError> {
        DnsServer::start_with_ttl(records, 1)
    }

    /// Starts a server whose answers carry this TTL in seconds.
    pub fn start_with_ttl(records: &[SrvRecord], ttl: u32) -> Result<DnsServer, LaunchError> {
        let mut last = None;
        for _ in 0..ATTEMPTS {
            match Self::try_start(records, ttl) {
                Ok(server) => return Ok(server),
                Err(err @ LaunchError::NotReady { .. }) => last = Some(err),
                Err(err) => return Err(err),
            }
        }
        Err(last.unwrap_or(LaunchError::Missing {
            binary: "dnsmasq",
            package: "dnsmasq",
        }))
    }

    fn try_start(records: &[SrvRecord], ttl: u32) -> Result<DnsServer, LaunchError> {
        let dir = tempfile::Builder::new()
            .prefix("kit-dns-")
            .tempdir()
            .map_err(|source| LaunchError::Io {
                what: "creating a temporary directory".into(),
                source,
            })?;
        let port = free_port().map_err(|source| LaunchError::Io {
            what: "finding a free port".into(),
            source,
        })?;
        let conf = dir.path().join("dnsmasq.conf");
        write_conf(&conf, port, ttl, records)?;
        let args = vec![
            "--no-daemon".into(),
            format!("--conf-file={}", conf.display()).into(),
        ];
        let server = ChildServer::spawn(Spec {
            binary: "dnsmasq",
            package: "dnsmasq",
            args,
            ready_line: "started, version",
            ready_timeout: Duration::from_secs(20),
        })?;
        Ok(DnsServer {
            port,
            ttl,
            conf,
            server,
            _dir: dir,
        })
    }

    /// The server's address (UDP and TCP).
    pub fn addr(&self) -> SocketAddr {
        (Ipv4Addr::LOCALHOST, self.port).into()
    }

    /// The server's port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Replaces the records: rewrites the configuration and restarts the
    /// server on the same port (dnsmasq reads its configuration only at
    /// start).
    pub fn set_records(&mut self, records: &[SrvRecord]) -> Result<(), LaunchError> {
        write_conf(&self.conf, self.port, self.ttl, records)?;
        self.server.start()
    }

    /// Kills the server (SIGKILL): queries go unanswered.
    pub fn kill(&mut self) {
        self.server.kill();
    }

    /// Starts the server again after [`kill`](DnsServer::kill), same port
    /// and records.
    pub fn restart(&mut self) -> Result<(), LaunchError> {
        self.server.start()
    }

    /// Freezes the server (SIGSTOP): queries time out.
    pub fn pause(&mut self) -> Result<(), LaunchError> {
        self.server.pause()
    }

    /// Continues a paused server (SIGCONT).
    pub fn resume(&mut self) -> Result<(), LaunchError> {
        self.server.resume()
    }

    /// The process handle, for pids and logs.
    pub fn process(&mut self) -> &mut ChildServer {
        &mut self.server
    }
}

fn write_conf(
    path: &std::path::Path,
    port: u16,
    ttl: u32,
    records: &[SrvRecord],
) -> Result<(), LaunchError> {
    let mut conf = format!(
        "port={port}\nlisten-address=127.0.0.1\nbind-interfaces\nno-resolv\nno-hosts\n\
         log-facility=-\nlocal-ttl={ttl}\nlocal=/test/\n"
    );
    for r in records {
        let _ = writeln!(
            conf,
            "srv-host={},{},{},{},{}",
            r.name, r.target, r.port, r.priority, r.weight
        );
    }
    let mut targets: Vec<&str> = records.iter().map(|r| r.target.as_str()).collect();
    targets.sort_unstable();
    targets.dedup();
    for t in targets {
        let _ = writeln!(conf, "host-record={t},127.0.0.1");
    }
    std::fs::write(path, conf).map_err(|source| LaunchError::Io {
        what: format!("writing {}", path.display()),
        source,
    })
}
