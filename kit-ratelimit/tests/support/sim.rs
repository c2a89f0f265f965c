//! A simulated backend under open-loop load, for the adaptive limiter, on
//! paused tokio time: deterministic, and a simulated minute runs in
//! seconds.
//!
//! The backend has `workers` that each serve one request for `service`
//! time; requests beyond the free workers queue, first come first served.
//! Its latency is therefore `service` while concurrency is at most the
//! number of workers, and grows linearly with concurrency past it: its
//! capacity, in concurrency, is the number of workers. A phase with fewer
//! workers is the backend slowing down (some workers stall); the next phase
//! with all of them back is it speeding up again.
//!
//! Shared by `tests/adaptive.rs` and `examples/adaptive_trace.rs`.

#![allow(dead_code, unreachable_pub)]

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use kit_endpoint::{Code, Error, endpoint_fn};
use kit_ratelimit::adaptive::{AdaptiveLimitLayer, AdaptiveLimiter};
use tokio::sync::Semaphore;
use tokio::time::{Instant, MissedTickBehavior, interval, sleep, sleep_until};
use tower::{ServiceBuilder, ServiceExt};

/// One stretch of the simulation.
#[derive(Clone, Copy, Debug)]
pub struct Phase {
    pub name: &'static str,
    pub secs: u64,
    /// Workers serving requests in this phase.
    pub workers: usize,
}

/// The backend and the load.
#[derive(Clone, Debug)]
pub struct Sim {
    /// Time one worker spends on one request.
    pub service: Duration,
    /// All the workers the backend has.
    pub workers: usize,
    /// Requests offered per second, whatever happens to them.
    pub offered_rps: u64,
    pub phases: Vec<Phase>,
    /// One trace row per this much simulated time.
    pub every: Duration,
}

impl Sim {
    /// The standard run: 40 workers of 20 ms (2,000 req/s), 3,000 req/s
    /// offered; 30 s healthy, 30 s with half the workers stalled, 30 s
    /// healthy again.
    pub fn standard() -> Sim {
        Sim {
            service: Duration::from_millis(20),
            workers: 40,
            offered_rps: 3000,
            phases: vec![
                Phase {
                    name: "healthy",
                    secs: 30,
                    workers: 40,
                },
                Phase {
                    name: "slow",
                    secs: 30,
                    workers: 20,
                },
                Phase {
                    name: "healthy",
                    secs: 30,
                    workers: 40,
                },
            ],
            every: Duration::from_secs(1),
        }
    }
}

/// One row of the trace: what the limiter and the backend did over the
/// last `every` of simulated time.
#[derive(Clone, Copy, Debug)]
pub struct Row {
    /// Simulated seconds since the start, at the end of the interval.
    pub t: f64,
    pub phase: &'static str,
    /// Workers serving: the backend's capacity in concurrency.
    pub workers: usize,
    /// The limit at the end of the interval.
    pub limit: usize,
    /// Requests in flight at the end of the interval.
    pub in_flight: usize,
    /// Mean latency of the requests completed in the interval, in ms.
    pub latency_ms: f64,
    /// Requests completed per second.
    pub goodput: f64,
    /// Requests shed per second.
    pub shed: f64,
}

#[derive(Default)]
struct Stats {
    completed: AtomicU64,
    latency_nanos: AtomicU64,
    shed: AtomicU64,
}

impl Stats {
    fn take(&self) -> (u64, u64, u64) {
        (
            self.completed.swap(0, Ordering::Relaxed),
            self.latency_nanos.swap(0, Ordering::Relaxed),
            self.shed.swap(0, Ordering::Relaxed),
        )
    }
}

/// Runs `sim` against a backend guarded by `limiter`; call it on a
/// current-thread runtime with paused time.
pub async fn run(sim: &Sim, limiter: AdaptiveLimiter) -> Vec<Row> {
    let workers = Arc::new(Semaphore::new(sim.workers));
    let service = sim.service;
    let backend = {
        let workers = workers.clone();
        endpoint_fn(move |()| {
            let workers = workers.clone();
            async move {
                let _worker = workers
                    .acquire()
                    .await
                    .map_err(|_| Error::internal("closed"))?;
                sleep(service).await;
                Ok::<_, Error>(())
            }
        })
    };
    let svc = ServiceBuilder::new()
        .layer(AdaptiveLimitLayer::new(limiter.clone()))
        .service(backend);
    let stats = Arc::new(Stats::default());
    let start = Instant::now();
    let mut rows = Vec::new();
    let mut arrivals = interval(Duration::from_nanos(1_000_000_000 / sim.offered_rps.max(1)));
    arrivals.set_missed_tick_behavior(MissedTickBehavior::Burst);
    let mut phase_end = start;
    for phase in &sim.phases {
        phase_end += Duration::from_secs(phase.secs);
        let stalled = sim.workers.saturating_sub(phase.workers);
        if stalled > 0 {
            let workers = workers.clone();
            let n = u32::try_from(stalled).unwrap();
            tokio::spawn(async move {
                let _stall = workers.acquire_many_owned(n).await;
                sleep_until(phase_end).await;
            });
        }
        let mut next_row = Instant::now() + sim.every;
        loop {
            // `biased`: poll in order, so that runs repeat exactly.
            tokio::select! {
                biased;
                _ = sleep_until(next_row) => {
                    let (completed, nanos, shed) = stats.take();
                    let secs = sim.every.as_secs_f64();
                    rows.push(Row {
                        t: (Instant::now() - start).as_secs_f64(),
                        phase: phase.name,
                        workers: phase.workers,
                        limit: limiter.limit(),
                        in_flight: limiter.in_flight(),
                        latency_ms: if completed == 0 { 0.0 } else { nanos as f64 / completed as f64 / 1e6 },
                        goodput: completed as f64 / secs,
                        shed: shed as f64 / secs,
                    });
                    next_row += sim.every;
                    if next_row > phase_end {
                        break;
                    }
                }
                _ = arrivals.tick() => {
                    let (svc, stats) = (svc.clone(), stats.clone());
                    tokio::spawn(async move {
                        let sent = Instant::now();
                        match svc.oneshot(()).await {
                            Ok(()) => {
                                let nanos = u64::try_from(sent.elapsed().as_nanos()).unwrap();
                                stats.completed.fetch_add(1, Ordering::Relaxed);
                                stats.latency_nanos.fetch_add(nanos, Ordering::Relaxed);
                            }
                            Err(e) if e.code() == Code::ResourceExhausted => {
                                stats.shed.fetch_add(1, Ordering::Relaxed);
                            }
                            Err(e) => panic!("unexpected error {e}"),
                        }
                    });
                }
            }
        }
    }
    rows
}

/// The trace as a markdown table, one row per `stride` rows.
pub fn table(rows: &[Row], stride: usize) -> String {
    let mut out = String::from(
        "| time (s) | phase | workers | limit | in flight | latency (ms) | goodput (req/s) | shed (req/s) |\n\
         |---:|---|---:|---:|---:|---:|---:|---:|\n",
    );
    for row in rows
        .iter()
        .skip(stride.saturating_sub(1))
        .step_by(stride.max(1))
    {
        let _ = writeln!(
            out,
            "| {:.0} | {} | {} | {} | {} | {:.1} | {:.0} | {:.0} |",
            row.t,
            row.phase,
            row.workers,
            row.limit,
            row.in_flight,
            row.latency_ms,
            row.goodput,
            row.shed
        );
    }
    out
}

/// The rows of the last `secs` seconds of the phase that ends at `end`.
pub fn tail(rows: &[Row], end: f64, secs: f64) -> Vec<Row> {
    rows.iter()
        .copied()
        .filter(|r| r.t > end - secs + 1e-9 && r.t <= end + 1e-9)
        .collect()
}

pub fn mean(rows: &[Row], f: impl Fn(&Row) -> f64) -> f64 {
    rows.iter().map(f).sum::<f64>() / rows.len().max(1) as f64
}
