//! The same HTTP load through the `wrk` binary (Debian package `wrk`).
//!
//! kit's reference figures (Go kit's addsvc, roshi-server) were taken with
//! `wrk -t1 -c64 -d10s`; running wrk beside kit-load in one comparison
//! shows the two agree, or quotes figures taken exactly the same way. The
//! method, headers and bodies go to wrk in a generated Lua script whose
//! `done` hook prints wrk's exact counts and percentiles on one line, so
//! nothing is scraped from wrk's human-readable summary.

use std::fmt::Write as _;
use std::io::ErrorKind;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::cpu::{CpuTime, StatTimes, ticks_of};
use crate::stats::{Latency, Outcomes};
use crate::{Engine, Error, HttpLoad, Report, Settings};

/// The marker of the line the script's `done` hook prints.
const MARK: &str = "KITLOAD-WRK";

/// Runs wrk: a warm-up run (if any), then the measured run.
pub(crate) fn run(
    name: &str,
    load: &HttpLoad,
    settings: &Settings,
    pid: Option<u32>,
    aux: &[u32],
) -> Result<Report, Error> {
    check(load, settings)?;
    // An auxiliary process that cannot be read is an error before the run,
    // as for kit-load's own engine, not a silently missing column.
    for &p in aux {
        StatTimes::read(Some(p))?;
    }
    let duration = whole_seconds("duration", settings.duration)?;
    let script = Script::write(load)?;
    if !settings.warmup.is_zero() {
        let warmup = settings.warmup.as_secs_f64().ceil() as u64;
        invoke(load, settings, warmup, &script)?;
    }
    let server_before = pid.map(|p| StatTimes::read(Some(p))).transpose()?;
    let aux_before = ticks_of(aux);
    let own_before = StatTimes::read(None)?;
    let summary = invoke(load, settings, duration, &script)?;
    let own_after = StatTimes::read(None)?;
    let aux_after = ticks_of(aux);
    let server_cpu = match (pid, server_before) {
        (Some(p), Some(before)) => StatTimes::read(Some(p))
            .ok()
            .map(|after| CpuTime::between(before.own(), after.own())),
        _ => None,
    };
    let mut report = summary.report(name, settings);
    report.server_cpu = server_cpu;
    report.aux_cpu = match (aux.is_empty(), aux_before, aux_after) {
        (false, Some(before), Some(after)) => Some(CpuTime::between(before, after)),
        _ => None,
    };
    report.loadgen_cpu = Some(CpuTime::between(
        own_before.children(),
        own_after.children(),
    ));
    Ok(report)
}

/// Checks that wrk can run this load with these settings.
pub(crate) fn check(load: &HttpLoad, settings: &Settings) -> Result<(), Error> {
    settings.validate()?;
    if load.is_http2() || settings.streams > 1 {
        return Err(Error::Wrk(
            "wrk speaks HTTP/1.1 with one request in flight per connection; \
             drop http2 and streams for a wrk scenario"
                .into(),
        ));
    }
    whole_seconds("duration", settings.duration).map(drop)
}

fn whole_seconds(what: &'static str, d: Duration) -> Result<u64, Error> {
    if d.subsec_nanos() != 0 || d.is_zero() {
        return Err(Error::invalid(
            what,
            format!("{d:?}: wrk takes whole seconds"),
        ));
    }
    Ok(d.as_secs())
}

fn invoke(
    load: &HttpLoad,
    settings: &Settings,
    secs: u64,
    script: &Script,
) -> Result<Summary, Error> {
    let timeout = settings.timeout.as_secs_f64().ceil().max(1.0) as u64;
    let output = Command::new("wrk")
        .arg(format!("-t{}", settings.threads))
        .arg(format!("-c{}", settings.connections))
        .arg(format!("-d{secs}s"))
        .arg(format!("--timeout={timeout}s"))
        .arg("-s")
        .arg(&script.path)
        .arg(load.url().to_string())
        .output()
        .map_err(|e| match e.kind() {
            ErrorKind::NotFound => Error::Wrk(
                "`wrk` was not found on PATH: install the Debian package `wrk` \
                 (apt-get install -y wrk)"
                    .into(),
            ),
            _ => Error::io("running wrk", e),
        })?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(Error::Wrk(format!("{}: {stdout}{stderr}", output.status)));
    }
    Summary::parse(&stdout)
}

/// A generated Lua script in the temporary directory, removed on drop.
#[derive(Debug)]
struct Script {
    path: std::path::PathBuf,
}

impl Script {
    fn write(load: &HttpLoad) -> Result<Script, Error> {
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let n = COUNT.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("kit-load-{}-{n}.lua", std::process::id()));
        std::fs::write(&path, lua(load))
            .map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
        Ok(Script { path })
    }
}

impl Drop for Script {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// A Lua string literal of any bytes: printable ASCII as is, the rest as
/// decimal escapes.
fn lua_string(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 2);
    out.push('"');
    for &b in bytes {
        match b {
            b'"' | b'\\' => {
                out.push('\\');
                out.push(b as char);
            }
            0x20..=0x7e => out.push(b as char),
            _ => {
                let _ = write!(out, "\\{b:03}");
            }
        }
    }
    out.push('"');
    out
}

/// The script: method, headers, body (or a rotation of bodies), and a
/// `done` hook printing exact figures.
pub(crate) fn lua(load: &HttpLoad) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "wrk.method = {}",
        lua_string(load.method().as_str().as_bytes())
    );
    for (name, value) in load.headers() {
        let _ = writeln!(
            s,
            "wrk.headers[{}] = {}",
            lua_string(name.as_str().as_bytes()),
            lua_string(value.as_bytes())
        );
    }
    let bodies = load.bodies().as_slice();
    if let [body] = bodies {
        let _ = writeln!(s, "wrk.body = {}", lua_string(body));
    } else {
        let list: Vec<String> = bodies.iter().map(|b| lua_string(b)).collect();
        let _ = writeln!(s, "local bodies = {{ {} }}", list.join(", "));
        s.push_str("local i = 0\nrequest = function()\n  i = i % #bodies + 1\n  return wrk.format(nil, nil, nil, bodies[i])\nend\n");
    }
    let _ = writeln!(
        s,
        "done = function(s, l, r)\n  io.write(string.format(\"{MARK}{}\\n\", \
         s.duration, s.requests, s.bytes, s.errors.connect, s.errors.read, s.errors.write, \
         s.errors.status, s.errors.timeout, l:percentile(50), l:percentile(90), l:percentile(99), \
         l.max, l.mean))\nend",
        " %.0f".repeat(13)
    );
    s
}

/// wrk's figures, as its `done` hook printed them (times in µs).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Summary {
    pub(crate) fields: [u64; 13],
}

impl Summary {
    pub(crate) fn parse(stdout: &str) -> Result<Summary, Error> {
        let bad = || {
            Error::Wrk(format!(
                "no `{MARK}` line with 13 numbers in its output:\n{stdout}"
            ))
        };
        let line = stdout
            .lines()
            .find_map(|l| l.strip_prefix(MARK))
            .ok_or_else(bad)?;
        let numbers: Vec<u64> = line
            .split_whitespace()
            .map(|w| {
                w.parse::<f64>()
                    .ok()
                    .filter(|x| x.is_finite() && *x >= 0.0)
                    .map(|x| x as u64)
            })
            .collect::<Option<_>>()
            .ok_or_else(bad)?;
        let fields: [u64; 13] = numbers.try_into().map_err(|_| bad())?;
        Ok(Summary { fields })
    }

    pub(crate) fn report(&self, name: &str, settings: &Settings) -> Report {
        let [
            dur,
            requests,
            bytes,
            connect,
            read,
            write,
            status,
            timeout,
            p50,
            p90,
            p99,
            max,
            mean,
        ] = self.fields;
        let us = Duration::from_micros;
        let status = status.min(requests);
        Report {
            name: name.to_owned(),
            engine: Engine::Wrk,
            settings: settings.clone(),
            rounds: 1,
            requests,
            outcomes: Outcomes {
                ok_other: requests - status,
                failed_other: status,
                connect_errors: connect,
                io_errors: read + write,
                timeouts: timeout,
                ..Outcomes::default()
            },
            elapsed: us(dur),
            bytes_read: bytes,
            latency: Latency {
                count: requests,
                mean: us(mean),
                p50: us(p50),
                p90: us(p90),
                p99: us(p99),
                max: us(max),
            },
            items_per_request: 1,
            server_cpu: None,
            loadgen_cpu: None,
            aux_cpu: None,
            histogram: None,
        }
    }
}

#[cfg(test)]
mod tests;
