//! The adaptive limit against a simulated backend whose latency grows with
//! concurrency past its capacity (see `support/sim.rs`), on paused time.
//!
//! Print the traces with `cargo nextest run -p kit-ratelimit --test adaptive --no-capture`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

#[path = "support/sim.rs"]
mod sim;

use std::time::Duration;

use kit_ratelimit::adaptive::{AdaptiveLimiter, Algorithm, Gradient2, Vegas};
use kit_ratelimit::hooks::Counters;
use std::sync::Arc;

fn simulate(sim: &sim::Sim, algorithm: impl Algorithm) -> (Vec<sim::Row>, Arc<Counters>) {
    let counters = Arc::new(Counters::new());
    let limiter = AdaptiveLimiter::builder(algorithm)
        .hooks(counters.clone())
        .build();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    (rt.block_on(sim::run(sim, limiter)), counters)
}

/// In the last 10 s of each phase: the limit sits between the backend's
/// capacity and 1.6 × it, the backend is kept busy (goodput within 2% of
/// its throughput), and latency stays under 1.6 × the service time.
/// Within 5 s of each change the limit has crossed to the new side.
fn assert_tracks_capacity(name: &str, sim: &sim::Sim, rows: &[sim::Row]) {
    let service_ms = sim.service.as_secs_f64() * 1000.0;
    let mut end = 0.0;
    let mut previous: Option<usize> = None;
    for phase in &sim.phases {
        let start = end;
        end += phase.secs as f64;
        let capacity = phase.workers as f64;
        let tail = sim::tail(rows, end, 10.0);
        assert_eq!(tail.len(), 10, "{name}: rows for {}", phase.name);
        let limit = sim::mean(&tail, |r| r.limit as f64);
        let latency = sim::mean(&tail, |r| r.latency_ms);
        let goodput = sim::mean(&tail, |r| r.goodput);
        let throughput = capacity / sim.service.as_secs_f64();
        assert!(
            (capacity..=1.6 * capacity).contains(&limit),
            "{name}, {} phase ending at {end}s: mean limit {limit} for capacity {capacity}",
            phase.name
        );
        assert!(
            goodput >= 0.98 * throughput,
            "{name}: goodput {goodput} < {throughput}"
        );
        assert!(latency <= 1.6 * service_ms, "{name}: latency {latency}ms");
        if let Some(before) = previous {
            let early = sim::tail(rows, start + 5.0, 1.0)[0].limit as f64;
            if (phase.workers as f64) < before as f64 {
                assert!(
                    early <= 1.6 * capacity,
                    "{name}: still {early} 5s after slowing down"
                );
            } else {
                assert!(
                    early >= capacity,
                    "{name}: only {early} 5s after speeding up"
                );
            }
        }
        previous = Some(phase.workers);
    }
}

#[test]
fn vegas_converges_near_capacity_and_recovers() {
    let sim = sim::Sim::standard();
    let (rows, counters) = simulate(&sim, Vegas::new().initial_limit(10));
    println!("Vegas\n{}", sim::table(&rows, 3));
    assert_tracks_capacity("vegas", &sim, &rows);
    assert!(counters.limit_changes() > 3);
    assert!(counters.rejected_total() > 0);
}

#[test]
fn gradient2_converges_near_capacity_and_recovers() {
    let sim = sim::Sim::standard();
    let (rows, counters) = simulate(&sim, Gradient2::new().initial_limit(10).min_limit(5));
    println!("Gradient2\n{}", sim::table(&rows, 3));
    assert_tracks_capacity("gradient2", &sim, &rows);
    assert_eq!(counters.last_limit() as usize, rows.last().unwrap().limit);
}

#[test]
fn netflix_tolerance_drifts_past_capacity() {
    // The reason kit's Gradient2 defaults to tolerance 1.0: with 1.5 the
    // baseline follows the queueing latency up. If this starts failing,
    // the default deserves a second look.
    let sim = sim::Sim::standard();
    let (rows, _) = simulate(
        &sim,
        Gradient2::new()
            .initial_limit(10)
            .min_limit(5)
            .tolerance(1.5),
    );
    let first = sim::tail(&rows, 30.0, 10.0);
    assert!(sim::mean(&first, |r| r.limit as f64) > 1.6 * 40.0);
}

#[test]
fn simulations_repeat_exactly() {
    let sim = sim::Sim {
        phases: vec![
            sim::Phase {
                name: "healthy",
                secs: 5,
                workers: 40,
            },
            sim::Phase {
                name: "slow",
                secs: 5,
                workers: 10,
            },
        ],
        ..sim::Sim::standard()
    };
    let a = simulate(&sim, Vegas::new()).0;
    let b = simulate(&sim, Vegas::new()).0;
    let key = |rows: &[sim::Row]| -> Vec<(usize, usize, u64)> {
        rows.iter()
            .map(|r| (r.limit, r.in_flight, (r.latency_ms * 1000.0) as u64))
            .collect()
    };
    assert_eq!(key(&a), key(&b));
    assert_eq!(a.len(), 10);
    assert!(sim.every == Duration::from_secs(1));
}
