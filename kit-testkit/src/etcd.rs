//! A real `etcd` for tests.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use tempfile::TempDir;

use crate::process::{ChildServer, Spec};
use crate::{LaunchError, free_port};

/// How many times a launch is tried when a free port is taken in between.
const ATTEMPTS: usize = 3;

/// Debian's `etcd` (package `etcd-server`) as a one-member cluster on free
/// loopback client and peer ports, with its own temporary data directory.
/// Killed on drop.
///
/// Raft runs with a 50 ms heartbeat and a 250 ms election timeout, so
/// leases as short as one second work (etcd refuses TTLs below about one
/// and a half election timeouts).
///
/// ```no_run
/// use kit_testkit::EtcdServer;
///
/// let mut etcd = EtcdServer::start().unwrap();
/// println!("etcd at {}", etcd.endpoint());
/// etcd.kill(); // a crash: clients see refused connections
/// etcd.restart().unwrap(); // same ports, same data
/// ```
#[derive(Debug)]
pub struct EtcdServer {
    client_port: u16,
    peer_port: u16,
    server: ChildServer,
    // Kept so the data outlives the process (and survives restarts).
    dir: TempDir,
}

impl EtcdServer {
    /// Starts a server and waits until it serves clients.
    pub fn start() -> Result<EtcdServer, LaunchError> {
        let mut last = None;
        for _ in 0..ATTEMPTS {
            match Self::try_start() {
                Ok(server) => return Ok(server),
                Err(err @ LaunchError::NotReady { .. }) => last = Some(err),
                Err(err) => return Err(err),
            }
        }
        Err(last.unwrap_or(LaunchError::Missing {
            binary: "etcd",
            package: "etcd-server",
        }))
    }

    fn try_start() -> Result<EtcdServer, LaunchError> {
        let io = |what: &str| {
            let what = what.to_string();
            move |source| LaunchError::Io { what, source }
        };
        let dir = tempfile::Builder::new()
            .prefix("kit-etcd-")
            .tempdir()
            .map_err(io("creating a temporary directory"))?;
        let client_port = free_port().map_err(io("finding a free port"))?;
        let mut peer_port = free_port().map_err(io("finding a free port"))?;
        while peer_port == client_port {
            peer_port = free_port().map_err(io("finding a free port"))?;
        }
        let client = format!("http://127.0.0.1:{client_port}");
        let peer = format!("http://127.0.0.1:{peer_port}");
        let args = [
            "--name".into(),
            "kit".into(),
            "--data-dir".into(),
            dir.path().join("data").into_os_string(),
            "--listen-client-urls".into(),
            client.clone().into(),
            "--advertise-client-urls".into(),
            client.into(),
            "--listen-peer-urls".into(),
            peer.clone().into(),
            "--initial-advertise-peer-urls".into(),
            peer.clone().into(),
            "--initial-cluster".into(),
            format!("kit={peer}").into(),
            "--heartbeat-interval".into(),
            "50".into(),
            "--election-timeout".into(),
            "250".into(),
        ];
        let server = ChildServer::spawn(Spec {
            binary: "etcd",
            package: "etcd-server",
            args: args.into(),
            ready_line: "ready to serve client requests",
            ready_timeout: Duration::from_secs(30),
        })?;
        Ok(EtcdServer {
            client_port,
            peer_port,
            server,
            dir,
        })
    }

    /// The client address.
    pub fn addr(&self) -> SocketAddr {
        (Ipv4Addr::LOCALHOST, self.client_port).into()
    }

    /// The client port.
    pub fn port(&self) -> u16 {
        self.client_port
    }

    /// The peer port (raft traffic; a one-member cluster has none, but etcd
    /// binds it).
    pub fn peer_port(&self) -> u16 {
        self.peer_port
    }

    /// `127.0.0.1:<port>`, the form etcd client crates take.
    pub fn endpoint(&self) -> String {
        format!("127.0.0.1:{}", self.client_port)
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.client_port)
    }

    /// The data directory.
    pub fn data_dir(&self) -> std::path::PathBuf {
        self.dir.path().join("data")
    }

    /// Kills the server (SIGKILL), as a crash would.
    pub fn kill(&mut self) {
        self.server.kill();
    }

    /// Starts the server again after [`kill`](EtcdServer::kill), on the same
    /// ports and with the same data: keys, revisions and leases survive.
    pub fn restart(&mut self) -> Result<(), LaunchError> {
        self.server.start()
    }

    /// Freezes the server (SIGSTOP): connections stay open, nothing answers.
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
