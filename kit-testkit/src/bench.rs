//! Ratios against a baseline, from criterion's own estimates.
//!
//! criterion prints each benchmark's time but not how it compares with
//! another measured in the same run. Benchmarks in kit build their
//! `Criterion` with [`criterion()`], then call [`report`] with the baseline and
//! the benchmarks to compare; it reads the mean estimates criterion wrote and
//! prints one table.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::Criterion;

/// Where kit's benchmarks keep criterion's output: `$CARGO_TARGET_DIR/criterion`,
/// or `target/criterion` under the workspace root.
pub fn output_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("criterion")
}

/// A `Criterion` that writes where [`report`] reads, with measurement times
/// short enough for a 2-core machine.
pub fn criterion() -> Criterion {
    Criterion::default()
        .output_directory(&output_dir())
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args()
}

/// The mean time, in nanoseconds, criterion estimated for `id`
/// (`"group/function"` or `"group/function/parameter"`).
pub fn mean_ns(id: &str) -> Option<f64> {
    let path = output_dir().join(id).join("new").join("estimates.json");
    let text = std::fs::read_to_string(path).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    json.get("mean")?.get("point_estimate")?.as_f64()
}

/// Prints a table of each benchmark's mean beside `baseline`'s: the time,
/// the time added over the baseline, and the ratio. Benchmarks criterion did
/// not run (filtered out) are listed as missing.
#[allow(clippy::print_stdout)]
pub fn report(title: &str, baseline: &str, ids: &[&str]) {
    let mut out = String::new();
    let _ = writeln!(out, "\n== {title} ==");
    let Some(base) = mean_ns(baseline) else {
        let _ = writeln!(out, "baseline {baseline} was not run");
        println!("{out}");
        return;
    };
    let _ = writeln!(
        out,
        "{:<48} {:>12} {:>12} {:>9}",
        "benchmark", "mean ns", "added ns", "ratio"
    );
    let _ = writeln!(
        out,
        "{:<48} {:>12.2} {:>12} {:>9}",
        baseline, base, "-", "1.00"
    );
    for id in ids {
        match mean_ns(id) {
            Some(ns) => {
                let _ = writeln!(
                    out,
                    "{:<48} {:>12.2} {:>12.2} {:>9.2}",
                    id,
                    ns,
                    ns - base,
                    ns / base
                );
            }
            None => {
                let _ = writeln!(out, "{id:<48} (not run)");
            }
        }
    }
    println!("{out}");
}
