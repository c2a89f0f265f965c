//! Servers under test as child processes: spawned, awaited until their port
//! accepts, killed on drop.
//!
//! A server measured in the load generator's own process would share its
//! runtime, its allocator and its CPU figure; in its own process it is
//! measured as it will run, and its CPU time is its own. kit-testkit's
//! launchers wait for a log line from an installed binary; a server under
//! test is usually a binary of the workspace that logs nothing per start,
//! so readiness here is "its port accepts a TCP connection".

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::Error;

/// How long [`ServerProcess::spawn`] waits for the port by default.
pub const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// A server under test, running as a child process. Dropping it kills the
/// process (SIGKILL) and waits for it, even when a test panics.
#[derive(Debug)]
pub struct ServerProcess {
    child: Child,
    program: String,
    addr: SocketAddr,
}

impl ServerProcess {
    /// Spawns `command` and waits up to [`READY_TIMEOUT`] until `addr`
    /// accepts connections. Its stdin is closed; its stdout and stderr go
    /// where `command` sends them (inherited unless set).
    pub fn spawn(command: Command, addr: SocketAddr) -> Result<ServerProcess, Error> {
        ServerProcess::spawn_with_timeout(command, addr, READY_TIMEOUT)
    }

    /// [`spawn`](ServerProcess::spawn) with a chosen readiness timeout.
    pub fn spawn_with_timeout(
        mut command: Command,
        addr: SocketAddr,
        timeout: Duration,
    ) -> Result<ServerProcess, Error> {
        let program = command.get_program().to_string_lossy().into_owned();
        let child = command
            .stdin(Stdio::null())
            .spawn()
            .map_err(|e| Error::io(format!("spawning {program}"), e))?;
        let mut server = ServerProcess {
            child,
            program,
            addr,
        };
        server.wait_for_port(addr, timeout)?;
        Ok(server)
    }

    /// Waits until another address of the server (a second listener, say
    /// gRPC beside HTTP) accepts connections. On a timeout the server is
    /// killed; if it exits, that is the error.
    pub fn wait_for_port(&mut self, addr: SocketAddr, timeout: Duration) -> Result<(), Error> {
        let deadline = Instant::now() + timeout;
        loop {
            if TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_ok() {
                return Ok(());
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(Error::Exited {
                    program: self.program.clone(),
                    addr,
                    status,
                });
            }
            if Instant::now() >= deadline {
                self.kill();
                return Err(Error::NotReady {
                    program: self.program.clone(),
                    addr,
                    waited: timeout,
                });
            }
            // Polling a port has no event to wait on; 20 ms keeps the
            // start-up delay small without spinning.
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The process id, for [`Scenario::with_server_pid`](crate::Scenario::with_server_pid).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The address it was spawned for.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Whether it is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Kills it (SIGKILL) and waits for it to exit.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A release binary of this workspace, e.g. `kit-load-echo` or a server
/// under test, in `$CARGO_TARGET_DIR/release` (or the workspace's
/// `target/release`). A bench in another crate cannot name another
/// package's binary with `env!("CARGO_BIN_EXE_…")`; this finds it, or
/// says how to build it.
pub fn workspace_binary(name: &str) -> Result<PathBuf, Error> {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let path = target.join("release").join(name);
    if path.is_file() {
        Ok(path)
    } else {
        Err(Error::invalid(
            "binary",
            format!(
                "{} is missing: build it first, e.g. `cargo build --release -p kit-load --bins` \
                 for kit-load-echo, or `cargo build --release -p <package> --bin {name}`",
                path.display()
            ),
        ))
    }
}

/// A TCP port on 127.0.0.1 that was free a moment ago (another process may
/// take it before the server binds it; a server that fails to bind exits,
/// which [`ServerProcess::spawn`] reports).
pub fn free_port() -> Result<u16, Error> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .map_err(|e| Error::io("finding a free port", e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| Error::io("finding a free port", e))?;
    Ok(addr.port())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_that_exits_is_reported() {
        let port = free_port().unwrap();
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "exit 3"]);
        let err = ServerProcess::spawn(cmd, addr).unwrap_err();
        assert!(matches!(err, Error::Exited { .. }), "{err}");
        assert!(err.to_string().contains("exit status: 3"), "{err}");
    }

    #[test]
    fn a_missing_program_is_an_io_error() {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, 1));
        let err =
            ServerProcess::spawn(Command::new("/nonexistent/kit-load-server"), addr).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("spawning /nonexistent/kit-load-server"),
            "{err}"
        );
    }

    #[test]
    fn missing_workspace_binaries_say_how_to_build_them() {
        let err = workspace_binary("no-such-kit-binary")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("no-such-kit-binary is missing: build it first"),
            "{err}"
        );
    }

    #[test]
    fn a_server_that_never_listens_times_out_and_is_killed() {
        let port = free_port().unwrap();
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let mut cmd = Command::new("sleep");
        cmd.arg("30");
        let err =
            ServerProcess::spawn_with_timeout(cmd, addr, Duration::from_millis(200)).unwrap_err();
        assert!(matches!(err, Error::NotReady { .. }), "{err}");
    }
}
