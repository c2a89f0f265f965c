//! Prints how the adaptive limit follows a simulated backend that slows
//! down and speeds up again, for Gradient2, for Vegas, and for Gradient2
//! with Netflix's default tolerance (which drifts: see `adaptive::gradient2`).
//!
//! Run with `cargo run --release -p kit-ratelimit --example adaptive_trace`.
//!
//! The simulation runs on paused tokio time: a 90-second trace takes a
//! second or two, and prints the same numbers every time. See
//! `tests/support/sim.rs` for the backend model.

#![allow(clippy::print_stdout, clippy::unwrap_used)]

#[path = "../tests/support/sim.rs"]
mod sim;

use kit_ratelimit::adaptive::{AdaptiveLimiter, Algorithm, Gradient2, Vegas};

fn trace(name: &str, algorithm: impl Algorithm) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    let sim = sim::Sim::standard();
    let rows = rt.block_on(sim::run(&sim, AdaptiveLimiter::new(algorithm)));
    println!(
        "\n{name}: {} workers × {:?} per request ({} req/s), {} req/s offered\n",
        sim.workers,
        sim.service,
        sim.workers as f64 / sim.service.as_secs_f64(),
        sim.offered_rps
    );
    println!("{}", sim::table(&rows, 3));
}

fn main() {
    trace("Gradient2", Gradient2::new().initial_limit(10).min_limit(5));
    trace("Vegas", Vegas::new().initial_limit(10));
    trace(
        "Gradient2 with Netflix's tolerance of 1.5",
        Gradient2::new()
            .initial_limit(10)
            .min_limit(5)
            .tolerance(1.5),
    );
}
