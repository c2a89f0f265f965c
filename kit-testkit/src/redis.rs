//! A real `redis-server` for tests.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use tempfile::TempDir;

use crate::process::{ChildServer, Spec};
use crate::{LaunchError, free_port};

/// How many times a launch is tried when a free port is taken in between.
const ATTEMPTS: usize = 3;

/// Debian's `redis-server` on a free loopback port, with no persistence and
/// its own temporary directory. Killed on drop.
#[derive(Debug)]
pub struct RedisServer {
    port: u16,
    server: ChildServer,
    // Kept so the directory outlives the process (and survives restarts).
    _dir: TempDir,
}

impl RedisServer {
    /// Starts a server and waits until it accepts connections.
    pub fn start() -> Result<RedisServer, LaunchError> {
        Self::start_with_args(&[])
    }

    /// Starts a server with `extra` arguments after kit's own (a later
    /// argument wins), e.g. `["--cluster-enabled", "yes"]`; relative file
    /// names land in the server's temporary directory.
    pub fn start_with_args(extra: &[&str]) -> Result<RedisServer, LaunchError> {
        let mut last = None;
        for _ in 0..ATTEMPTS {
            match Self::try_start(extra) {
                Ok(server) => return Ok(server),
                Err(err @ LaunchError::NotReady { .. }) => last = Some(err),
                Err(err) => return Err(err),
            }
        }
        Err(last.unwrap_or(LaunchError::Missing {
            binary: "redis-server",
            package: "redis-server",
        }))
    }

    fn try_start(extra: &[&str]) -> Result<RedisServer, LaunchError> {
        let io = |what: &str| {
            let what = what.to_string();
            move |source| LaunchError::Io { what, source }
        };
        let dir = tempfile::Builder::new()
            .prefix("kit-redis-")
            .tempdir()
            .map_err(io("creating a temporary directory"))?;
        let port = free_port().map_err(io("finding a free port"))?;
        let mut args: Vec<std::ffi::OsString> = vec![
            "--port".into(),
            port.to_string().into(),
            "--bind".into(),
            "127.0.0.1".into(),
            "--dir".into(),
            dir.path().as_os_str().to_owned(),
            "--save".into(),
            "".into(),
            "--appendonly".into(),
            "no".into(),
            "--daemonize".into(),
            "no".into(),
            "--protected-mode".into(),
            "no".into(),
            "--logfile".into(),
            "".into(),
        ];
        args.extend(extra.iter().map(Into::into));
        let server = ChildServer::spawn(Spec {
            binary: "redis-server",
            package: "redis-server",
            args,
            ready_line: "Ready to accept connections",
            ready_timeout: Duration::from_secs(20),
        })?;
        Ok(RedisServer {
            port,
            server,
            _dir: dir,
        })
    }

    /// The server's address.
    pub fn addr(&self) -> SocketAddr {
        (Ipv4Addr::LOCALHOST, self.port).into()
    }

    /// The server's port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A `redis://` URL for client crates.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Kills the server (SIGKILL), as a crash would.
    pub fn kill(&mut self) {
        self.server.kill();
    }

    /// Starts the server again on the same port after [`kill`](RedisServer::kill).
    /// Its data is gone: persistence is off.
    pub fn restart(&mut self) -> Result<(), LaunchError> {
        self.server.start()
    }

    /// The process handle, for pids and logs.
    pub fn process(&mut self) -> &mut ChildServer {
        &mut self.server
    }
}
