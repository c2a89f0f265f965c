//! A run's figures: counts, rates, latency, CPU per request.

use std::fmt;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde_json::{Value, json};

use crate::cpu::CpuTime;
use crate::run::Measured;
use crate::stats::{Latency, Outcomes};
use crate::{Error, Settings};

/// What generated the load.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// kit-load's own hyper/tonic client.
    KitLoad,
    /// The `wrk` binary, for cross-checking kit-load's figures.
    Wrk,
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            Engine::KitLoad => "kit-load",
            Engine::Wrk => "wrk",
        })
    }
}

/// The figures of one scenario: one run, or several rounds merged.
#[derive(Clone, Debug)]
pub struct Report {
    /// The scenario's name.
    pub name: String,
    /// What generated the load.
    pub engine: Engine,
    /// How it was driven.
    pub settings: Settings,
    /// How many runs these figures add up (1 for a single run).
    pub rounds: usize,
    /// Requests that finished in the measured window, whatever the outcome.
    pub requests: u64,
    /// Their outcomes.
    pub outcomes: Outcomes,
    /// The measured time (all rounds together).
    pub elapsed: Duration,
    /// Response body bytes read.
    pub bytes_read: u64,
    /// Latency of every response (any status).
    pub latency: Latency,
    /// Items (events, records…) per request, for an items/s figure; 1 by
    /// default.
    pub items_per_request: u64,
    /// The server's CPU time over the window, when its PID was given.
    pub server_cpu: Option<CpuTime>,
    /// The load generator's own CPU time over the window (for wrk, the wrk
    /// process's).
    pub loadgen_cpu: Option<CpuTime>,
    /// The CPU time of the auxiliary processes over the window (a store
    /// the server calls, such as Redis), all together, when their PIDs
    /// were given ([`Scenario::with_aux_pid`](crate::Scenario::with_aux_pid)).
    pub aux_cpu: Option<CpuTime>,
    /// The latency histogram (kit-load's engine only; wrk reports figures).
    pub histogram: Option<Histogram<u64>>,
}

impl Report {
    /// A report from kit-load's own measurement.
    pub(crate) fn measured(
        name: &str,
        settings: &Settings,
        items_per_request: u64,
        m: Measured,
    ) -> Report {
        Report {
            name: name.to_owned(),
            engine: Engine::KitLoad,
            settings: settings.clone(),
            rounds: 1,
            requests: m.rec.requests,
            outcomes: m.rec.outcomes,
            elapsed: m.elapsed,
            bytes_read: m.rec.bytes,
            latency: Latency::from_histogram(&m.rec.hist),
            items_per_request,
            server_cpu: m.server_cpu,
            loadgen_cpu: m.loadgen_cpu,
            aux_cpu: m.aux_cpu,
            histogram: Some(m.rec.hist),
        }
    }

    fn per_second(&self, n: u64) -> f64 {
        if self.elapsed.is_zero() {
            0.0
        } else {
            n as f64 / self.elapsed.as_secs_f64()
        }
    }

    /// Requests per second, whatever their outcome (wrk's figure).
    pub fn rps(&self) -> f64 {
        self.per_second(self.requests)
    }

    /// Successful requests per second: the figure ratios compare.
    pub fn ok_rps(&self) -> f64 {
        self.per_second(self.outcomes.successes())
    }

    /// Successful items per second (`ok_rps × items_per_request`).
    pub fn items_per_sec(&self) -> f64 {
        self.ok_rps() * self.items_per_request as f64
    }

    /// Every failure (see [`Outcomes::errors`]).
    pub fn errors(&self) -> u64 {
        self.outcomes.errors()
    }

    /// Server CPU per request, in microseconds.
    pub fn server_us_per_request(&self) -> Option<f64> {
        self.server_cpu?.micros_per(self.requests)
    }

    /// Load-generator CPU per request, in microseconds.
    pub fn loadgen_us_per_request(&self) -> Option<f64> {
        self.loadgen_cpu?.micros_per(self.requests)
    }

    /// Auxiliary processes' CPU per request, in microseconds.
    pub fn aux_us_per_request(&self) -> Option<f64> {
        self.aux_cpu?.micros_per(self.requests)
    }

    /// Adds another round of the same scenario. Latency figures merge
    /// exactly when both have histograms; otherwise (wrk) each percentile
    /// is the request-weighted mean of the rounds' and `max` the largest.
    pub fn merge(&mut self, other: &Report) -> Result<(), Error> {
        let weighted = |a: Duration, b: Duration| {
            let (na, nb) = (self.requests as f64, other.requests as f64);
            if na + nb == 0.0 {
                return a.max(b);
            }
            Duration::from_secs_f64((a.as_secs_f64() * na + b.as_secs_f64() * nb) / (na + nb))
        };
        let latency = match (&mut self.histogram, &other.histogram) {
            (Some(mine), Some(theirs)) => {
                mine.add(theirs)
                    .map_err(|e| Error::invalid("histogram merge", format!("{e:?}")))?;
                Latency::from_histogram(mine)
            }
            _ => {
                self.histogram = None;
                let (a, b) = (self.latency, other.latency);
                Latency {
                    count: a.count + b.count,
                    mean: weighted(a.mean, b.mean),
                    p50: weighted(a.p50, b.p50),
                    p90: weighted(a.p90, b.p90),
                    p99: weighted(a.p99, b.p99),
                    max: a.max.max(b.max),
                }
            }
        };
        self.latency = latency;
        self.rounds += other.rounds;
        self.requests += other.requests;
        self.outcomes.merge(&other.outcomes);
        self.elapsed += other.elapsed;
        self.bytes_read += other.bytes_read;
        let add = |a: Option<CpuTime>, b: Option<CpuTime>| Some(a?.add(&b?));
        self.server_cpu = add(self.server_cpu, other.server_cpu);
        self.loadgen_cpu = add(self.loadgen_cpu, other.loadgen_cpu);
        self.aux_cpu = add(self.aux_cpu, other.aux_cpu);
        Ok(())
    }

    /// The figures as one JSON object, for JSON-lines output: rates, counts,
    /// outcomes, latency in microseconds, CPU per request in microseconds
    /// and in cores, and the settings.
    pub fn to_json(&self) -> Value {
        let us = |d: Duration| d.as_secs_f64() * 1e6;
        let cpu = |c: Option<CpuTime>| match c {
            Some(c) => json!({
                "us_per_request": c.micros_per(self.requests),
                "cores": c.cores(self.elapsed),
                "ticks": c.ticks,
                "clk_tck": c.clock.per_second,
                "clk_tck_assumed": c.clock.assumed,
            }),
            None => Value::Null,
        };
        let map = |m: Vec<(String, u64)>| {
            Value::Object(m.into_iter().map(|(k, v)| (k, v.into())).collect())
        };
        let o = &self.outcomes;
        json!({
            "scenario": self.name,
            "engine": self.engine.to_string(),
            "rounds": self.rounds,
            "seconds": self.elapsed.as_secs_f64(),
            "requests": self.requests,
            "ok": o.successes(),
            "errors": self.errors(),
            "rps": self.rps(),
            "ok_rps": self.ok_rps(),
            "items_per_request": self.items_per_request,
            "items_per_sec": self.items_per_sec(),
            "bytes_read": self.bytes_read,
            "outcomes": {
                "http": map(o.http.iter().map(|(k, v)| (k.to_string(), *v)).collect()),
                "grpc": map(o.grpc.iter().map(|(k, v)| (k.to_string(), *v)).collect()),
                "ok_other": o.ok_other,
                "failed_other": o.failed_other,
                "connect_errors": o.connect_errors,
                "io_errors": o.io_errors,
                "timeouts": o.timeouts,
            },
            "latency_us": {
                "count": self.latency.count,
                "mean": us(self.latency.mean),
                "p50": us(self.latency.p50),
                "p90": us(self.latency.p90),
                "p99": us(self.latency.p99),
                "max": us(self.latency.max),
            },
            "server_cpu": cpu(self.server_cpu),
            "loadgen_cpu": cpu(self.loadgen_cpu),
            "aux_cpu": cpu(self.aux_cpu),
            "settings": {
                "connections": self.settings.connections,
                "streams": self.settings.streams,
                "threads": self.settings.threads,
                "duration_s": self.settings.duration.as_secs_f64(),
                "warmup_s": self.settings.warmup.as_secs_f64(),
                "timeout_s": self.settings.timeout.as_secs_f64(),
            },
        })
    }
}
