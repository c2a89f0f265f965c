//! Several scenarios in one run, each figure as a ratio against a baseline
//! measured in that same run.
//!
//! On a shared 2-core machine the figures drift from minute to minute
//! (another build starts, the CPU clocks down), so a ratio against a
//! baseline measured at the same time says more than any absolute figure.
//! Rounds run interleaved by default, every second round in reverse
//! (`A B, B A, A B, …`), so drift lands on every scenario alike and no
//! scenario always runs first or last in its round (with an even number of
//! rounds, each runs in every place equally often); each scenario's rounds
//! are then merged into one row.

mod table;

use std::collections::HashSet;

use serde_json::Value;

use crate::{Error, Report, Scenario};

/// The most rounds a comparison runs.
pub const MAX_ROUNDS: usize = 1_000;

/// A list of named scenarios, a baseline, and how many rounds to run.
///
/// ```no_run
/// use kit_load::{Comparison, HttpLoad, Load, Scenario};
///
/// let raw = Scenario::new("raw-axum", Load::Http(HttpLoad::new("http://127.0.0.1:8080/sum")?));
/// let kit = Scenario::new("kit-http", Load::Http(HttpLoad::new("http://127.0.0.1:8081/sum")?));
/// let report = Comparison::new("raw-axum")
///     .with_scenario(raw)
///     .with_scenario(kit)
///     .with_rounds(2)
///     .run()?;
/// println!("{report}");                       // the table
/// let ratio = report.ratio("kit-http");        // kit ok req/s ÷ raw ok req/s
/// print!("{}", report.json_lines());          // one JSON object per line
/// # Ok::<(), kit_load::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Comparison {
    baseline: String,
    scenarios: Vec<Scenario>,
    rounds: usize,
    interleave: bool,
}

impl Comparison {
    /// A comparison against the scenario named `baseline`: one round,
    /// interleaved.
    pub fn new(baseline: impl Into<String>) -> Comparison {
        Comparison {
            baseline: baseline.into(),
            scenarios: Vec::new(),
            rounds: 1,
            interleave: true,
        }
    }

    /// Adds a scenario; they run and print in the order added.
    pub fn with_scenario(mut self, scenario: Scenario) -> Comparison {
        self.scenarios.push(scenario);
        self
    }

    /// Runs every scenario `rounds` times.
    pub fn with_rounds(mut self, rounds: usize) -> Comparison {
        self.rounds = rounds;
        self
    }

    /// Interleaves rounds (`A B, B A, A B …`: every second round in
    /// reverse; the default) or runs each scenario's rounds back to back
    /// (`A A B B`).
    pub fn with_interleave(mut self, interleave: bool) -> Comparison {
        self.interleave = interleave;
        self
    }

    /// The scenarios.
    pub fn scenarios(&self) -> &[Scenario] {
        &self.scenarios
    }

    /// The default baseline's name.
    pub fn baseline(&self) -> &str {
        &self.baseline
    }

    /// Checks everything before anything runs: at least one scenario, each
    /// valid ([`Scenario::validate`]), unique names, every baseline named is
    /// a scenario, rounds in `1..=MAX_ROUNDS`.
    pub fn validate(&self) -> Result<(), Error> {
        if self.scenarios.is_empty() {
            return Err(Error::invalid("comparison", "no scenarios"));
        }
        if self.rounds == 0 || self.rounds > MAX_ROUNDS {
            return Err(Error::invalid(
                "rounds",
                format!("{} is not in 1..={MAX_ROUNDS}", self.rounds),
            ));
        }
        let mut names = HashSet::new();
        for s in &self.scenarios {
            s.validate()
                .map_err(|e| Error::invalid("scenario", format!("{:?}: {e}", s.name())))?;
            if !names.insert(s.name()) {
                return Err(Error::invalid(
                    "comparison",
                    format!("two scenarios are named {:?}", s.name()),
                ));
            }
        }
        for s in &self.scenarios {
            let baseline = s.baseline().unwrap_or(&self.baseline);
            if !names.contains(baseline) {
                return Err(Error::invalid(
                    "baseline",
                    format!("{baseline:?} (for {:?}) is not a scenario", s.name()),
                ));
            }
        }
        Ok(())
    }

    /// The order runs happen in: `(round, scenario index)`, rounds from 1.
    pub fn order(&self) -> Vec<(usize, usize)> {
        let n = self.scenarios.len();
        if self.interleave {
            (1..=self.rounds)
                .flat_map(|r| (0..n).map(move |i| (r, if r % 2 == 0 { n - 1 - i } else { i })))
                .collect()
        } else {
            (0..n)
                .flat_map(|i| (1..=self.rounds).map(move |r| (r, i)))
                .collect()
        }
    }

    /// Runs everything and builds the report.
    pub fn run(&self) -> Result<ComparisonReport, Error> {
        self.run_with(|_| ())
    }

    /// [`run`](Comparison::run), calling `each` after every single run (to
    /// print progress).
    pub fn run_with(&self, mut each: impl FnMut(&Run)) -> Result<ComparisonReport, Error> {
        self.validate()?;
        let mut runs = Vec::new();
        for (round, i) in self.order() {
            let run = Run {
                round,
                report: self.scenarios[i].run()?,
            };
            each(&run);
            runs.push(run);
        }
        let mut summaries = Vec::new();
        for s in &self.scenarios {
            let mut mine = runs.iter().filter(|r| r.report.name == s.name());
            let Some(first) = mine.next() else { continue };
            let mut merged = first.report.clone();
            for r in mine {
                merged.merge(&r.report)?;
            }
            let baseline = s.baseline().unwrap_or(&self.baseline).to_owned();
            summaries.push((merged, baseline));
        }
        Ok(ComparisonReport::new(summaries, runs))
    }
}

/// One run of one scenario in a comparison.
#[derive(Clone, Debug)]
pub struct Run {
    /// Which round, from 1.
    pub round: usize,
    /// Its figures.
    pub report: Report,
}

/// A scenario's merged figures beside its baseline's.
#[derive(Clone, Debug)]
pub struct Row {
    /// The scenario's rounds, merged.
    pub report: Report,
    /// The baseline's name.
    pub baseline: String,
    /// Its successful req/s over the baseline's, all rounds merged; `None`
    /// if the baseline is missing or had no successes.
    pub ratio: Option<f64>,
    /// The same ratio round by round: each round's run over the baseline's
    /// run in that round, measured moments apart. On a machine whose speed
    /// drifts (other work starting and stopping), the merged ratio leans
    /// toward the fastest rounds; the median of these does not.
    pub round_ratios: Vec<f64>,
}

impl Row {
    /// The median of [`round_ratios`](Row::round_ratios).
    pub fn median_ratio(&self) -> Option<f64> {
        let mut r = self.round_ratios.clone();
        if r.is_empty() {
            return None;
        }
        r.sort_by(f64::total_cmp);
        let mid = r.len() / 2;
        Some(if r.len() % 2 == 1 {
            r[mid]
        } else {
            (r[mid - 1] + r[mid]) / 2.0
        })
    }
}

/// A comparison's outcome: one row per scenario, and every single run.
#[derive(Clone, Debug)]
pub struct ComparisonReport {
    /// One row per scenario, in the order they were added.
    pub rows: Vec<Row>,
    /// Every run, in the order they ran.
    pub runs: Vec<Run>,
}

impl ComparisonReport {
    /// Builds rows from each scenario's merged report and its baseline's
    /// name, computing the ratios.
    pub fn new(summaries: Vec<(Report, String)>, runs: Vec<Run>) -> ComparisonReport {
        let rows = summaries
            .iter()
            .map(|(report, baseline)| {
                let base = summaries.iter().find(|(r, _)| &r.name == baseline);
                let ratio = base
                    .map(|(b, _)| b.ok_rps())
                    .filter(|rps| *rps > 0.0)
                    .map(|rps| report.ok_rps() / rps);
                Row {
                    report: report.clone(),
                    baseline: baseline.clone(),
                    ratio,
                    round_ratios: round_ratios(&runs, &report.name, baseline),
                }
            })
            .collect();
        ComparisonReport { rows, runs }
    }

    /// The row of a scenario.
    pub fn row(&self, name: &str) -> Option<&Row> {
        self.rows.iter().find(|r| r.report.name == name)
    }

    /// A scenario's ratio to its baseline.
    pub fn ratio(&self, name: &str) -> Option<f64> {
        self.row(name)?.ratio
    }

    /// The table, as [`Display`](std::fmt::Display) prints it.
    pub fn table(&self) -> String {
        table::render(self)
    }

    /// One JSON object per line: `"type": "run"` for each run (with its
    /// `round`), then `"type": "summary"` for each scenario (with its
    /// `baseline`, `ratio`, `round_ratios` and `median_ratio`); every other
    /// field as in
    /// [`Report::to_json`].
    pub fn json_lines(&self) -> String {
        let mut out = String::new();
        let mut line = |mut v: Value, extra: Vec<(&str, Value)>| {
            if let Value::Object(map) = &mut v {
                for (k, x) in extra {
                    map.insert(k.to_owned(), x);
                }
            }
            out.push_str(&v.to_string());
            out.push('\n');
        };
        for run in &self.runs {
            line(
                run.report.to_json(),
                vec![("type", "run".into()), ("round", run.round.into())],
            );
        }
        for row in &self.rows {
            line(
                row.report.to_json(),
                vec![
                    ("type", "summary".into()),
                    ("baseline", row.baseline.clone().into()),
                    ("ratio", row.ratio.into()),
                    ("round_ratios", row.round_ratios.clone().into()),
                    ("median_ratio", row.median_ratio().into()),
                ],
            );
        }
        out
    }
}

/// `name`'s successful rate over `baseline`'s, for each round both ran in.
fn round_ratios(runs: &[Run], name: &str, baseline: &str) -> Vec<f64> {
    let rate = |round: usize, who: &str| {
        runs.iter()
            .find(|r| r.round == round && r.report.name == who)
            .map(|r| r.report.ok_rps())
    };
    runs.iter()
        .filter(|r| r.report.name == name)
        .filter_map(|r| {
            let base = rate(r.round, baseline).filter(|b| *b > 0.0)?;
            Some(r.report.ok_rps() / base)
        })
        .collect()
}

impl std::fmt::Display for ComparisonReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.table())
    }
}

#[cfg(test)]
mod tests;
