//! `kit-load`: closed-loop HTTP and gRPC load, figures as ratios against a
//! baseline measured in the same run.
//!
//! Run with `cargo run --release -p kit-load -- --help`.

#![forbid(unsafe_code)]
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod cli;

use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

use clap::Parser;
use kit_load::file::ScenarioFile;
use kit_load::{Comparison, ComparisonReport, Error, Run};

use crate::cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kit-load: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<(), Error> {
    match cli.command {
        Command::Http(args) => report(&args.comparison()?, args.common.json.as_deref()),
        Command::Grpc(args) => report(&args.comparison()?, args.common.json.as_deref()),
        Command::Compare(args) => {
            let mut file = ScenarioFile::read(&args.file)?;
            if let Some(rounds) = args.rounds {
                file.rounds = rounds;
            }
            if args.sequential {
                file.interleave = false;
            }
            let secs = |d: std::time::Duration| format!("{}s", d.as_secs_f64());
            for spec in std::iter::once(&mut file.settings)
                .chain(file.scenarios.iter_mut().map(|s| &mut s.settings))
            {
                if let Some(d) = args.duration {
                    spec.duration = Some(secs(d));
                }
                if let Some(w) = args.warmup {
                    spec.warmup = Some(secs(w));
                }
            }
            // The servers live until the report is printed.
            let prepared = file.start()?;
            for (name, server) in &prepared.servers {
                eprintln!("server {name}: pid {} on {}", server.pid(), server.addr());
            }
            report(&prepared.comparison, args.json.as_deref())
        }
    }
}

/// Runs a comparison, printing progress to stderr, then the table and the
/// JSON lines where asked.
fn report(comparison: &Comparison, json: Option<&Path>) -> Result<(), Error> {
    let total = comparison.order().len();
    let mut done = 0;
    let result = comparison.run_with(|run: &Run| {
        done += 1;
        let r = &run.report;
        eprintln!(
            "[{done}/{total}] {} ({}) round {}: {:.0} req/s, {} errors, p99 {:?}",
            r.name,
            r.engine,
            run.round,
            r.rps(),
            r.errors(),
            r.latency.p99
        );
    })?;
    emit(&result, json)
}

fn emit(result: &ComparisonReport, json: Option<&Path>) -> Result<(), Error> {
    let lines = result.json_lines();
    match json {
        Some(path) if path == Path::new("-") => {
            eprint!("{result}");
            print!("{lines}");
        }
        Some(path) => {
            print!("{result}");
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| Error::Io {
                    what: format!("opening {}", path.display()),
                    source: e,
                })?;
            file.write_all(lines.as_bytes()).map_err(|e| Error::Io {
                what: format!("writing {}", path.display()),
                source: e,
            })?;
        }
        None => print!("{result}"),
    }
    Ok(())
}
