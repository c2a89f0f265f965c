//! `stream-walker`: anti-entropy for a stream farm on Redis, with
//! roshi-walker's flags.
//!
//! Run with `cargo run -p stream --features redis --bin stream-walker --
//! -redis.instances 'a:6379,b:6379;c:6379,d:6379' -once`.
//!
//! Each pass scans every key of every cluster (tombstone-only keys
//! included) and repairs it on every cluster that differs, at most
//! `-max.keys.per.second` keys a second. With `-checkpoint FILE` an
//! interrupted pass resumes where it stopped. Progress goes to the log as
//! structured lines every `-scan.log.interval`, and to a progress bar on
//! stderr when stderr is a terminal (a dozen lines below: no crate needed
//! for one line redrawn with `\r`).

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;
use stream::farm::config::parse_go_duration;
use stream::farm::walker::Progress;
use stream::farm::{FarmConfig, WalkerOptions, go_flags};

/// roshi-walker's flags (Go's single dash works too).
#[derive(Debug, Parser)]
#[command(
    name = "stream-walker",
    about = "Walks every key of a stream farm on Redis and repairs it."
)]
struct Flags {
    #[command(flatten)]
    farm: FarmConfig,
    /// Keys per SCAN step and per repair batch.
    #[arg(long = "batch.size", default_value_t = 100)]
    batch_size: usize,
    /// Keys repaired a second at most; at least batch.size.
    #[arg(long = "max.keys.per.second", default_value_t = 1000)]
    max_keys_per_second: u32,
    /// How often to log progress.
    #[arg(long = "scan.log.interval", default_value = "5s", value_parser = parse_go_duration)]
    log_interval: Duration,
    /// One pass, then exit.
    #[arg(long = "once")]
    once: bool,
    /// Where to keep the position, to resume an interrupted pass.
    #[arg(long = "checkpoint")]
    checkpoint: Option<PathBuf>,
}

#[allow(clippy::print_stderr)]
fn main() -> ExitCode {
    // logfmt lines on stderr (KIT_LOG, KIT_LOG_FORMAT), as the stream binary
    let _logs = match kit_log::init() {
        Ok(guard) => guard,
        Err(e) => {
            eprintln!("stream-walker: {e}");
            return ExitCode::FAILURE;
        }
    };
    let flags = match Flags::try_parse_from(go_flags(std::env::args())) {
        Ok(f) => f,
        Err(e) => e.exit(),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!(error = %e, "could not start the runtime");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(flags)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "stream-walker failed");
            ExitCode::FAILURE
        }
    }
}

async fn run(flags: Flags) -> Result<(), Box<dyn std::error::Error>> {
    // The walker repairs by itself; the farm's own read repair is not used.
    let mut config = flags.farm.clone();
    config.repair_strategy = "NoRepairs".into();
    // Every cluster must take a repair: quorum is irrelevant, reads are not made.
    let farm = config.connect().await?;
    let walker = farm.walker(WalkerOptions {
        batch_size: flags.batch_size,
        keys_per_second: flags.max_keys_per_second,
        checkpoint: flags.checkpoint.clone(),
        ..WalkerOptions::default()
    })?;
    let bar = std::io::stderr().is_terminal();
    loop {
        let started = Instant::now();
        let mut last_log = Instant::now();
        let mut report = |p: &Progress| {
            if last_log.elapsed() >= flags.log_interval {
                last_log = Instant::now();
                log(p, started);
            }
            if bar {
                draw(p, started);
            }
        };
        let done = walker.pass(&mut report).await;
        if bar {
            let _ = writeln!(std::io::stderr());
        }
        tracing::info!(
            keys = done.keys,
            written = done.written,
            failed = done.failed,
            skipped = ?done.skipped,
            seconds = started.elapsed().as_secs_f64(),
            "pass complete"
        );
        if flags.once {
            return Ok(());
        }
    }
}

fn log(p: &Progress, started: Instant) {
    tracing::info!(
        replica = p.position.replica,
        shard = %p.shard_name,
        shards_done = p.shards_done,
        shards_total = p.shards_total,
        keys = p.keys,
        written = p.written,
        failed = p.failed,
        keys_per_second = stream::farm::walker::rate(p.keys, started),
        "walking"
    );
}

/// One line, redrawn: `[#######.............] 3/6 shards  1234 keys  980 keys/s`.
fn draw(p: &Progress, started: Instant) {
    const WIDTH: usize = 30;
    let filled = (p.shards_done * WIDTH)
        .checked_div(p.shards_total)
        .unwrap_or(WIDTH);
    let line = format!(
        "\r[{}{}] {}/{} shards  {} keys  {} written  {:.0} keys/s ",
        "#".repeat(filled.min(WIDTH)),
        ".".repeat(WIDTH - filled.min(WIDTH)),
        p.shards_done,
        p.shards_total,
        p.keys,
        p.written,
        stream::farm::walker::rate(p.keys, started),
    );
    let mut err = std::io::stderr();
    let _ = err.write_all(line.as_bytes());
    let _ = err.flush();
}
