//! Scenario files: a comparison, and the servers it runs against, in JSON.
//!
//! ```json
//! {
//!   "baseline": "wrk",
//!   "rounds": 2,
//!   "settings": { "connections": 64, "duration": "10s", "warmup": "1s" },
//!   "servers": {
//!     "echo": { "command": ["target/release/kit-load-echo", "--http", "127.0.0.1:{port}"] }
//!   },
//!   "scenarios": [
//!     { "name": "wrk", "server": "echo", "engine": "wrk", "http": { "url": "http://127.0.0.1:{port}/" } },
//!     { "name": "kit-load", "server": "echo", "http": { "url": "http://127.0.0.1:{port}/" } }
//!   ]
//! }
//! ```
//!
//! Each server gets a free port (or its fixed `"port"`), which replaces
//! `{port}` in its command and in the URLs of the scenarios that name it
//! (a server with `"ports": 2`, say HTTP and gRPC, gets `{port}` and
//! `{port2}`, and is ready when both accept);
//! its PID becomes their server PID, so their CPU per request is its. The
//! full format is in the crate's README. Unknown fields are errors, so a
//! typo is never silently ignored.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::{Command, Stdio};

use bytes::Bytes;
use serde::Deserialize;

use crate::body::{Bodies, parse_hex, read_bounded};
use crate::process::{READY_TIMEOUT, ServerProcess, free_port};
use crate::settings::parse_duration;
use crate::{Comparison, Error, GrpcLoad, HttpLoad, Load, Scenario, Settings};

/// A parsed scenario file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    /// The default baseline's scenario name.
    pub baseline: String,
    /// Rounds per scenario (default 1).
    #[serde(default = "one")]
    pub rounds: usize,
    /// Interleave rounds (default true).
    #[serde(default = "yes")]
    pub interleave: bool,
    /// Settings for every scenario; each may override them.
    #[serde(default)]
    pub settings: SettingsSpec,
    /// Servers to start, by name.
    #[serde(default)]
    pub servers: BTreeMap<String, ServerSpec>,
    /// The scenarios, in order.
    pub scenarios: Vec<ScenarioSpec>,
}

fn one() -> usize {
    1
}

fn yes() -> bool {
    true
}

/// [`Settings`] fields, each optional; durations as text (`"10s"`).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct SettingsSpec {
    pub connections: Option<usize>,
    pub streams: Option<usize>,
    pub threads: Option<usize>,
    pub duration: Option<String>,
    pub warmup: Option<String>,
    pub timeout: Option<String>,
}

impl SettingsSpec {
    /// These fields over `base`.
    pub fn apply(&self, base: &Settings) -> Result<Settings, Error> {
        let dur =
            |text: &Option<String>, default| text.as_deref().map_or(Ok(default), parse_duration);
        Ok(Settings {
            connections: self.connections.unwrap_or(base.connections),
            streams: self.streams.unwrap_or(base.streams),
            threads: self.threads.unwrap_or(base.threads),
            duration: dur(&self.duration, base.duration)?,
            warmup: dur(&self.warmup, base.warmup)?,
            timeout: dur(&self.timeout, base.timeout)?,
        })
    }
}

/// A server to start before the scenarios run.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSpec {
    /// Program and arguments; `{port}` (also `{port1}`), `{port2}`, … are
    /// replaced by the server's ports.
    pub command: Vec<String>,
    /// A fixed port on 127.0.0.1; by default a free one is chosen.
    pub port: Option<u16>,
    /// How many free ports to choose (default 1, at most 16); the server
    /// is ready when every one accepts connections.
    pub ports: Option<usize>,
    /// How long to wait for the port to accept (default 30 s).
    pub ready_timeout: Option<String>,
    /// Discard the server's stdout and stderr (default: inherit them).
    #[serde(default)]
    pub quiet: bool,
}

/// One scenario.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioSpec {
    /// Its name in the table.
    pub name: String,
    /// The server (from `servers`) it loads.
    pub server: Option<String>,
    /// A server PID to measure, for servers not started by the file.
    pub pid: Option<u32>,
    /// Other servers of the file whose CPU is counted too, together, as
    /// the auxiliary CPU (a store the server calls, such as Redis).
    #[serde(default)]
    pub aux: Vec<String>,
    /// Its own baseline, instead of the file's.
    pub baseline: Option<String>,
    /// `"kit-load"` (default) or `"wrk"` (HTTP only).
    #[serde(default)]
    pub engine: EngineSpec,
    /// Items per request, for items/s (default 1).
    pub items: Option<u64>,
    /// Settings over the file's.
    #[serde(default)]
    pub settings: SettingsSpec,
    /// An HTTP load.
    pub http: Option<HttpSpec>,
    /// A gRPC load.
    pub grpc: Option<GrpcSpec>,
}

/// Which engine a scenario uses.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum EngineSpec {
    /// kit-load's own client.
    #[default]
    KitLoad,
    /// The `wrk` binary.
    Wrk,
}

/// The body fields of [`HttpSpec`] and [`GrpcSpec`] (serde cannot both
/// flatten them into each and reject unknown fields, so each spells them
/// out and copies them here).
#[derive(Clone, Debug, Default)]
struct BodySpec {
    body: Option<String>,
    body_hex: Option<String>,
    bodies: Option<Vec<String>>,
    bodies_hex: Option<Vec<String>>,
    bodies_file: Option<String>,
    bodies_hex_file: Option<String>,
}

macro_rules! body_spec {
    ($spec:expr) => {
        BodySpec {
            body: $spec.body.clone(),
            body_hex: $spec.body_hex.clone(),
            bodies: $spec.bodies.clone(),
            bodies_hex: $spec.bodies_hex.clone(),
            bodies_file: $spec.bodies_file.clone(),
            bodies_hex_file: $spec.bodies_hex_file.clone(),
        }
    };
}

impl BodySpec {
    /// The bodies given, if any; an error if more than one form is given.
    fn bodies(&self) -> Result<Option<Bodies>, Error> {
        let given = [
            self.body.is_some(),
            self.body_hex.is_some(),
            self.bodies.is_some(),
            self.bodies_hex.is_some(),
            self.bodies_file.is_some(),
            self.bodies_hex_file.is_some(),
        ];
        if given.iter().filter(|g| **g).count() > 1 {
            return Err(Error::invalid(
                "body",
                "give one of body, body_hex, bodies, bodies_hex, bodies_file, bodies_hex_file",
            ));
        }
        let text = |v: &[String]| Bodies::rotate(v.iter().map(|s| Bytes::from(s.clone())));
        let hex = |v: &[String]| {
            Bodies::rotate(
                v.iter()
                    .map(|s| parse_hex(s))
                    .collect::<Result<Vec<_>, _>>()?,
            )
        };
        Ok(Some(if let Some(b) = &self.body {
            Bodies::one(b.clone())
        } else if let Some(b) = &self.body_hex {
            Bodies::one(parse_hex(b)?)
        } else if let Some(v) = &self.bodies {
            text(v)?
        } else if let Some(v) = &self.bodies_hex {
            hex(v)?
        } else if let Some(p) = &self.bodies_file {
            Bodies::from_lines_file(Path::new(p))?
        } else if let Some(p) = &self.bodies_hex_file {
            Bodies::from_hex_lines_file(Path::new(p))?
        } else {
            return Ok(None);
        }))
    }
}

/// An HTTP load.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSpec {
    /// `http://host:port/path`; `{port}`, `{port2}`… are the server's ports.
    pub url: String,
    /// The method (default GET).
    pub method: Option<String>,
    /// Headers as `"Name: value"`.
    #[serde(default)]
    pub headers: Vec<String>,
    /// Speak HTTP/2 (h2c).
    #[serde(default)]
    pub http2: bool,
    /// One body, as text.
    pub body: Option<String>,
    /// One body, in hex.
    pub body_hex: Option<String>,
    /// Bodies to rotate through, as text.
    pub bodies: Option<Vec<String>>,
    /// Bodies to rotate through, in hex.
    pub bodies_hex: Option<Vec<String>>,
    /// A file with one body per line.
    pub bodies_file: Option<String>,
    /// A file with one hex body per line.
    pub bodies_hex_file: Option<String>,
    /// Treat the bodies as templates: each `{seq}` becomes a number no
    /// other request gets, rising across the file's scenarios (kit-load's
    /// engine only).
    #[serde(default)]
    pub sequenced: bool,
}

/// A gRPC load.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrpcSpec {
    /// `http://host:port`; `{port}`, `{port2}`… are the server's ports.
    pub url: String,
    /// `/package.Service/Method`.
    pub path: String,
    /// Metadata as `"name: value"`.
    #[serde(default)]
    pub headers: Vec<String>,
    /// One body, as text.
    pub body: Option<String>,
    /// One body, in hex.
    pub body_hex: Option<String>,
    /// Bodies to rotate through, as text.
    pub bodies: Option<Vec<String>>,
    /// Bodies to rotate through, in hex.
    pub bodies_hex: Option<Vec<String>>,
    /// A file with one body per line.
    pub bodies_file: Option<String>,
    /// A file with one hex body per line.
    pub bodies_hex_file: Option<String>,
}

mod build;

pub use build::{MAX_PORTS, Prepared, Started};

impl ScenarioFile {
    /// Parses JSON; errors give the line and column.
    pub fn parse(text: &str) -> Result<ScenarioFile, Error> {
        serde_json::from_str(text).map_err(|e| Error::invalid("scenario file", e.to_string()))
    }

    /// Reads and parses a file.
    pub fn read(path: &Path) -> Result<ScenarioFile, Error> {
        ScenarioFile::parse(&read_bounded(path)?)
    }
}
