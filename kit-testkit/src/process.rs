//! Spawning a server binary, waiting until it is ready, killing it on drop.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::LaunchError;

/// How many of a server's last log lines are kept for error messages.
const LOG_LINES: usize = 200;

/// What it takes to launch one kind of server.
#[derive(Clone, Debug)]
pub struct Spec {
    /// The binary's file name, looked up on `PATH` and in the sbin folders.
    pub binary: &'static str,
    /// The Debian package that provides the binary, for the error message.
    pub package: &'static str,
    /// Command-line arguments.
    pub args: Vec<OsString>,
    /// A substring of a stdout or stderr line that means "ready to serve".
    pub ready_line: &'static str,
    /// How long to wait for that line.
    pub ready_timeout: Duration,
}

/// Finds a binary on `PATH`, then in the sbin folders (`dnsmasq` lives in
/// `/usr/sbin`, which is not on every user's `PATH`).
pub fn find_binary(binary: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/local/sbin", "/usr/sbin", "/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(binary))
        .find(|p| p.is_file())
}

/// A running server process. Dropping it kills the process and waits for it
/// to exit, so its ports are free again when `drop` returns; this happens on
/// a test's panic too, as the stack unwinds.
#[derive(Debug)]
pub struct ChildServer {
    spec: Spec,
    child: Option<Child>,
    log: Arc<Mutex<VecDeque<String>>>,
}

impl ChildServer {
    /// Spawns the server and waits until it logs its ready line.
    pub fn spawn(spec: Spec) -> Result<ChildServer, LaunchError> {
        let mut server = ChildServer {
            spec,
            child: None,
            log: Arc::default(),
        };
        server.start()?;
        Ok(server)
    }

    /// Starts the process again after [`kill`](ChildServer::kill), with the
    /// same arguments (so the same ports and data directory).
    pub fn start(&mut self) -> Result<(), LaunchError> {
        self.kill();
        let spec = self.spec.clone();
        let path = find_binary(spec.binary).ok_or(LaunchError::Missing {
            binary: spec.binary,
            package: spec.package,
        })?;
        let mut child = Command::new(&path)
            .args(&spec.args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| LaunchError::Io {
                what: format!("spawning {}", path.display()),
                source,
            })?;
        let (tx, rx) = mpsc::channel();
        if let Some(out) = child.stdout.take() {
            drain(out, tx.clone(), self.log.clone());
        }
        if let Some(err) = child.stderr.take() {
            drain(err, tx, self.log.clone());
        }
        self.child = Some(child);

        let deadline = Instant::now() + spec.ready_timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) if line.contains(spec.ready_line) => return Ok(()),
                Ok(_) => continue,
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {
                    self.kill();
                    return Err(LaunchError::NotReady {
                        binary: spec.binary,
                        waited: spec.ready_timeout,
                        log: self.log_tail(),
                    });
                }
            }
        }
    }

    /// Kills the process (SIGKILL) and waits for it to exit. Does nothing if
    /// it is not running.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            // A paused process dies of SIGKILL too; no SIGCONT needed.
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops the process with SIGSTOP, as a hung server or a network
    /// partition looks to its clients: connections stay open, nothing
    /// answers. [`resume`](ChildServer::resume) continues it.
    pub fn pause(&mut self) -> Result<(), LaunchError> {
        self.signal("STOP")
    }

    /// Continues a [`pause`](ChildServer::pause)d process (SIGCONT).
    pub fn resume(&mut self) -> Result<(), LaunchError> {
        self.signal("CONT")
    }

    /// Sends a signal with the `kill` command (no unsafe code, no libc).
    fn signal(&mut self, name: &str) -> Result<(), LaunchError> {
        let what = format!("sending SIG{name} to {}", self.spec.binary);
        let Some(pid) = self.pid() else {
            return Err(LaunchError::Io {
                what,
                source: std::io::Error::other("the process is not running"),
            });
        };
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(pid.to_string())
            .status()
            .map_err(|source| LaunchError::Io {
                what: what.clone(),
                source,
            })?;
        if status.success() {
            Ok(())
        } else {
            Err(LaunchError::Io {
                what,
                source: std::io::Error::other(format!("kill exited with {status}")),
            })
        }
    }

    /// The process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// The last lines the server logged, for diagnostics.
    pub fn log_tail(&self) -> String {
        let log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        log.iter().cloned().collect::<Vec<_>>().join("\n")
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Reads a pipe line by line on a thread: keeps the tail, forwards each line
/// to whoever waits for readiness, and keeps draining so the child never
/// blocks on a full pipe.
fn drain(
    pipe: impl Read + Send + 'static,
    tx: mpsc::Sender<String>,
    log: Arc<Mutex<VecDeque<String>>>,
) {
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            {
                let mut log = log.lock().unwrap_or_else(|e| e.into_inner());
                if log.len() == LOG_LINES {
                    log.pop_front();
                }
                log.push_back(line.clone());
            }
            let _ = tx.send(line);
        }
    });
}
