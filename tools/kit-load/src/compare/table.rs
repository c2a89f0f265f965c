//! The comparison table, for people and for closing notes.

use std::fmt::Write as _;

use super::{ComparisonReport, Row};
use crate::Report;
use crate::cpu::ClockTicks;
use crate::stats::Short;

/// `1234567.8` as `1,234,568`.
pub(crate) fn thousands(x: f64) -> String {
    let digits = format!("{:.0}", x.max(0.0));
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn micros(x: Option<f64>) -> String {
    x.map_or_else(|| "-".to_owned(), |us| format!("{us:.1}us"))
}

fn load(r: &Report) -> String {
    let s = &r.settings;
    if s.streams > 1 {
        format!("{}c×{}s/{}t", s.connections, s.streams, s.threads)
    } else {
        format!("{}c/{}t", s.connections, s.threads)
    }
}

fn cells(row: &Row, items: bool, aux: bool, medians: bool) -> Vec<String> {
    let r = &row.report;
    let mut cells = vec![
        r.name.clone(),
        r.engine.to_string(),
        load(r),
        thousands(r.rps()),
    ];
    if items {
        cells.push(thousands(r.items_per_sec()));
    }
    cells.extend([
        thousands(r.errors() as f64),
        Short(r.latency.p50).to_string(),
        Short(r.latency.p90).to_string(),
        Short(r.latency.p99).to_string(),
        Short(r.latency.max).to_string(),
        micros(r.server_us_per_request()),
    ]);
    if aux {
        cells.push(micros(r.aux_us_per_request()));
    }
    cells.extend([
        micros(r.loadgen_us_per_request()),
        row.baseline.clone(),
        ratio(row.ratio),
    ]);
    if medians {
        cells.push(ratio(row.median_ratio()));
    }
    cells
}

fn ratio(x: Option<f64>) -> String {
    x.map_or_else(|| "-".to_owned(), |x| format!("{x:.2}"))
}

/// Renders the table: a header, one line per scenario, then notes on
/// errors, rounds and how CPU was measured.
pub(crate) fn render(report: &ComparisonReport) -> String {
    let items = report.rows.iter().any(|r| r.report.items_per_request > 1);
    let mut header: Vec<&str> = vec!["scenario", "engine", "load", "req/s"];
    if items {
        header.push("items/s");
    }
    header.extend(["errors", "p50", "p90", "p99", "max", "srv CPU/req"]);
    // The auxiliary processes' CPU (Redis behind a store), when any
    // scenario counts some.
    let aux = report.rows.iter().any(|r| r.report.aux_cpu.is_some());
    if aux {
        header.push("aux CPU/req");
    }
    header.extend(["gen CPU/req", "vs", "ratio"]);
    // With several rounds, the median of per-round ratios beside the merged one.
    let medians = report.rows.iter().any(|r| r.round_ratios.len() > 1);
    if medians {
        header.push("median");
    }
    let lines: Vec<Vec<String>> = std::iter::once(header.iter().map(|h| (*h).to_owned()).collect())
        .chain(
            report
                .rows
                .iter()
                .map(|row| cells(row, items, aux, medians)),
        )
        .collect();
    let widths: Vec<usize> = (0..header.len())
        .map(|c| {
            lines
                .iter()
                .map(|l| l[c].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for line in &lines {
        let mut text = String::new();
        for (c, cell) in line.iter().enumerate() {
            // Names left-aligned, figures right-aligned.
            if c < 3 || header[c] == "vs" {
                let _ = write!(text, "{cell:<w$}  ", w = widths[c]);
            } else {
                let _ = write!(text, "{cell:>w$}  ", w = widths[c]);
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    }
    notes(report, &mut out);
    out
}

fn notes(report: &ComparisonReport, out: &mut String) {
    for row in &report.rows {
        let summary = row.report.outcomes.error_summary();
        if !summary.is_empty() {
            let _ = writeln!(out, "errors in {}: {summary}", row.report.name);
        }
    }
    let rounds = report
        .rows
        .iter()
        .map(|r| r.report.rounds)
        .max()
        .unwrap_or(0);
    let _ = writeln!(
        out,
        "req/s counts every response; ratio = successful req/s / the baseline's (vs), \
         {rounds} round(s) per scenario merged{}.",
        if rounds > 1 {
            "; median = the median of the per-round ratios"
        } else {
            ""
        }
    );
    let clock: Option<ClockTicks> = report
        .rows
        .iter()
        .find_map(|r| r.report.server_cpu.or(r.report.loadgen_cpu))
        .map(|c| c.clock);
    if let Some(clock) = clock {
        let source = if clock.assumed {
            "assumed: getconf CLK_TCK failed"
        } else {
            "from getconf CLK_TCK"
        };
        let _ = writeln!(
            out,
            "CPU/req: utime+stime from /proc/<pid>/stat over the window / requests; \
             CLK_TCK={} ({source}).",
            clock.per_second
        );
    }
    if report.rows.iter().any(|r| r.report.aux_cpu.is_some()) {
        let _ = writeln!(
            out,
            "aux CPU/req: the auxiliary processes a scenario names (a store its server \
             calls), together, over the same window."
        );
    }
}
