use std::collections::BTreeMap;
use std::time::Duration;

use super::*;
use crate::cpu::{ClockTicks, CpuTime};
use crate::stats::{Latency, Outcomes};
use crate::{Engine, HttpLoad, Load, Settings};

fn report(name: &str, ok: u64, failed: u64, secs: u64) -> Report {
    let clock = ClockTicks {
        per_second: 100,
        assumed: false,
    };
    Report {
        name: name.to_owned(),
        engine: Engine::KitLoad,
        settings: Settings::default(),
        rounds: 1,
        requests: ok + failed,
        outcomes: Outcomes {
            http: BTreeMap::from([(200, ok), (500, failed)]),
            ..Outcomes::default()
        },
        elapsed: Duration::from_secs(secs),
        bytes_read: 0,
        latency: Latency {
            count: ok + failed,
            mean: Duration::from_micros(700),
            p50: Duration::from_micros(612),
            p90: Duration::from_micros(1_500),
            p99: Duration::from_millis(4),
            max: Duration::from_millis(31),
        },
        items_per_request: 1,
        server_cpu: Some(CpuTime {
            ticks: 1_000,
            clock,
        }),
        loadgen_cpu: Some(CpuTime { ticks: 500, clock }),
        aux_cpu: None,
        histogram: None,
    }
}

fn sample() -> ComparisonReport {
    ComparisonReport::new(
        vec![
            (report("raw-axum", 1_000_000, 0, 10), "raw-axum".into()),
            (report("kit-http", 950_000, 50, 10), "raw-axum".into()),
            (report("kit-grpc", 400_000, 0, 10), "raw-tonic".into()),
        ],
        Vec::new(),
    )
}

#[test]
fn ratios_are_successful_rates_over_the_baseline() {
    let r = sample();
    assert_eq!(r.ratio("raw-axum"), Some(1.0));
    assert_eq!(r.ratio("kit-http"), Some(0.95));
    assert_eq!(
        r.ratio("kit-grpc"),
        None,
        "its baseline is not in the report"
    );
    assert_eq!(r.ratio("nope"), None);
}

#[test]
fn the_table_shows_every_figure_aligned() {
    let table = sample().table();
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("scenario"), "{table}");
    for col in [
        "req/s",
        "errors",
        "p50",
        "p90",
        "p99",
        "max",
        "srv CPU/req",
        "gen CPU/req",
        "vs",
        "ratio",
    ] {
        assert!(lines[0].contains(col), "{col}: {table}");
    }
    assert!(!lines[0].contains("items/s"), "{table}");
    assert!(!lines[0].contains("aux CPU/req"), "{table}");
    let axum = lines[1];
    assert!(axum.starts_with("raw-axum "), "{table}");
    for cell in [
        "kit-load", "64c/1t", "100,000", "612us", "1.50ms", "4.00ms", "31.00ms", "10.0us", "5.0us",
        "1.00",
    ] {
        assert!(axum.contains(cell), "{cell}: {axum}");
    }
    let kit = lines[2];
    assert!(
        kit.contains("95,005") && kit.contains(" 50 ") && kit.ends_with("0.95"),
        "{kit}"
    );
    assert!(lines[3].ends_with('-'), "{table}");
    // Columns line up: every row is as wide as the header up to the ratio.
    let ratio_at = lines[0].find("ratio").unwrap() + "ratio".len();
    assert_eq!(lines[1].len(), ratio_at, "{table}");
    assert_eq!(lines[2].len(), ratio_at, "{table}");
    assert!(table.contains("errors in kit-http: 500=50"), "{table}");
    assert!(
        table.contains("CLK_TCK=100 (from getconf CLK_TCK)"),
        "{table}"
    );
}

#[test]
fn an_items_column_appears_for_batches() {
    let mut batch = report("insert-100", 1_000, 0, 1);
    batch.items_per_request = 100;
    let table = ComparisonReport::new(vec![(batch, "insert-100".into())], Vec::new()).table();
    assert!(table.lines().next().unwrap().contains("items/s"), "{table}");
    assert!(table.contains("100,000"), "{table}");
}

#[test]
fn an_aux_column_appears_when_a_scenario_counts_other_processes() {
    let mut store = report("insert-1", 1_000, 0, 1);
    store.aux_cpu = Some(CpuTime {
        ticks: 2,
        clock: store.loadgen_cpu.unwrap().clock,
    });
    let plain = report("raw", 1_000, 0, 1);
    let table = ComparisonReport::new(
        vec![(plain, "raw".into()), (store, "raw".into())],
        Vec::new(),
    )
    .table();
    let lines: Vec<&str> = table.lines().collect();
    let header = lines[0];
    let at = |col: &str| header.find(col).unwrap_or_else(|| panic!("{col}: {table}"));
    assert!(at("srv CPU/req") < at("aux CPU/req") && at("aux CPU/req") < at("gen CPU/req"));
    // 2 ticks of 10 ms over 1,000 requests; the row without aux shows "-".
    assert!(lines[2].contains("20.0us"), "{table}");
    assert!(lines[1].contains(" - "), "{table}");
    assert!(
        table.contains("aux CPU/req: the auxiliary processes"),
        "{table}"
    );
}

#[test]
fn json_lines_have_runs_then_summaries() {
    let runs = vec![
        Run {
            round: 1,
            report: report("raw-axum", 10, 0, 1),
        },
        Run {
            round: 1,
            report: report("kit-http", 9, 1, 1),
        },
    ];
    let r = ComparisonReport::new(
        vec![
            (report("raw-axum", 10, 0, 1), "raw-axum".into()),
            (report("kit-http", 9, 1, 1), "raw-axum".into()),
        ],
        runs,
    );
    let lines: Vec<serde_json::Value> = r
        .json_lines()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[0]["type"], "run");
    assert_eq!(lines[0]["round"], 1);
    assert_eq!(lines[3]["type"], "summary");
    assert_eq!(lines[3]["scenario"], "kit-http");
    assert_eq!(lines[3]["baseline"], "raw-axum");
    assert_eq!(lines[3]["ratio"], 0.9);
    assert_eq!(lines[3]["round_ratios"], serde_json::json!([0.9]));
    assert_eq!(lines[3]["median_ratio"], 0.9);
    assert_eq!(lines[3]["requests"], 10);
    assert_eq!(lines[3]["errors"], 1);
    assert_eq!(lines[3]["outcomes"]["http"]["500"], 1);
    assert_eq!(lines[3]["latency_us"]["p99"], 4000.0);
    assert_eq!(lines[3]["server_cpu"]["us_per_request"], 1_000_000.0);
    assert_eq!(lines[3]["aux_cpu"], serde_json::Value::Null);
    assert_eq!(lines[3]["settings"]["connections"], 64);
}

#[test]
fn merging_rounds_adds_counts_and_weighs_latencies() {
    let mut a = report("x", 100, 0, 1);
    let mut b = report("x", 300, 0, 1);
    b.latency.p50 = Duration::from_micros(1_012);
    b.latency.max = Duration::from_millis(50);
    a.merge(&b).unwrap();
    assert_eq!((a.rounds, a.requests), (2, 400));
    assert_eq!(a.elapsed, Duration::from_secs(2));
    assert_eq!(a.rps(), 200.0);
    // (612×100 + 1012×300) / 400 = 912
    assert!(a.latency.p50.abs_diff(Duration::from_micros(912)) < Duration::from_nanos(10));
    assert_eq!(a.latency.max, Duration::from_millis(50));
    assert_eq!(a.server_cpu.unwrap().ticks, 2_000);
    // Auxiliary CPU adds up only when both rounds measured it.
    assert_eq!(a.aux_cpu, None);
    let clock = a.loadgen_cpu.unwrap().clock;
    let (mut c, mut d) = (report("x", 1, 0, 1), report("x", 1, 0, 1));
    c.aux_cpu = Some(CpuTime { ticks: 3, clock });
    d.aux_cpu = Some(CpuTime { ticks: 4, clock });
    c.merge(&d).unwrap();
    assert_eq!(c.aux_cpu.unwrap().ticks, 7);
}

fn scenario(name: &str) -> Scenario {
    Scenario::new(
        name,
        Load::Http(HttpLoad::new("http://127.0.0.1:1/").unwrap()),
    )
}

#[test]
fn comparisons_are_checked_before_running() {
    let err = |c: Comparison| c.validate().unwrap_err().to_string();
    assert!(err(Comparison::new("a")).contains("no scenarios"));
    assert!(
        err(Comparison::new("a")
            .with_scenario(scenario("a"))
            .with_scenario(scenario("a")))
        .contains("two scenarios")
    );
    assert!(
        err(Comparison::new("b").with_scenario(scenario("a")))
            .contains("\"b\" (for \"a\") is not a scenario")
    );
    assert!(
        err(Comparison::new("a").with_scenario(scenario("a").with_baseline("z"))).contains("\"z\"")
    );
    assert!(
        err(Comparison::new("a")
            .with_scenario(scenario("a"))
            .with_rounds(0))
        .contains("rounds")
    );
    let bad_settings = scenario("a").with_settings(Settings {
        connections: 0,
        ..Settings::default()
    });
    assert!(err(Comparison::new("a").with_scenario(bad_settings)).contains("connections"));
    assert!(
        Comparison::new("a")
            .with_scenario(scenario("a"))
            .validate()
            .is_ok()
    );
}

#[test]
fn rounds_interleave_or_run_back_to_back() {
    let c = Comparison::new("a")
        .with_scenario(scenario("a"))
        .with_scenario(scenario("b"))
        .with_scenario(scenario("c"))
        .with_rounds(3);
    // Every second round in reverse: A B C, C B A, A B C.
    assert_eq!(
        c.order(),
        [
            (1, 0),
            (1, 1),
            (1, 2),
            (2, 2),
            (2, 1),
            (2, 0),
            (3, 0),
            (3, 1),
            (3, 2)
        ]
    );
    assert_eq!(
        c.with_interleave(false).order(),
        [
            (1, 0),
            (2, 0),
            (3, 0),
            (1, 1),
            (2, 1),
            (3, 1),
            (1, 2),
            (2, 2),
            (3, 2)
        ]
    );
}

#[test]
fn per_round_ratios_and_their_median_resist_drift() {
    // The machine runs twice as fast in round 3: the merged ratio leans
    // toward it, the median of the per-round ratios does not.
    let rates = [(1, 100, 80), (2, 100, 90), (3, 1_000, 1_000)];
    let mut runs = Vec::new();
    for (round, base, kit) in rates {
        runs.push(Run {
            round,
            report: report("base", base, 0, 1),
        });
        runs.push(Run {
            round,
            report: report("kit", kit, 0, 1),
        });
    }
    let merged = |name: &str| {
        let mut it = runs.iter().filter(|r| r.report.name == name);
        let mut m = it.next().unwrap().report.clone();
        for r in it {
            m.merge(&r.report).unwrap();
        }
        m
    };
    let r = ComparisonReport::new(
        vec![
            (merged("base"), "base".into()),
            (merged("kit"), "base".into()),
        ],
        runs.clone(),
    );
    let kit = r.row("kit").unwrap();
    assert_eq!(kit.round_ratios, [0.8, 0.9, 1.0]);
    assert_eq!(kit.median_ratio(), Some(0.9));
    assert!((kit.ratio.unwrap() - 1_170.0 / 1_200.0).abs() < 1e-12);
    assert_eq!(r.row("base").unwrap().median_ratio(), Some(1.0));
    let table = r.table();
    assert!(table.lines().next().unwrap().ends_with("median"), "{table}");
    assert!(
        table.lines().nth(2).unwrap().ends_with("0.97    0.90"),
        "{table}"
    );
    let even = Row {
        round_ratios: vec![0.5, 1.0],
        ..kit.clone()
    };
    assert_eq!(even.median_ratio(), Some(0.75));
    let none = Row {
        round_ratios: Vec::new(),
        ..kit.clone()
    };
    assert_eq!(none.median_ratio(), None);
}
