//! One-second loads against the in-crate echo server (`kit-load-echo`), in
//! its own process: the counts must add up, a healthy server must give no
//! errors, and a failing one must have every failure counted. No timing
//! is asserted: the machine is shared.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{Ipv4Addr, SocketAddr};
use std::process::{Command, Stdio};
use std::time::Duration;

use bytes::Bytes;
use kit_load::{
    Bodies, Comparison, GrpcLoad, HttpLoad, Load, Report, Scenario, ServerProcess, Settings,
    free_port, parse_hex,
};

/// The echo server with HTTP and gRPC on free ports.
struct Echo {
    server: ServerProcess,
    http: SocketAddr,
    grpc: SocketAddr,
}

fn echo() -> Echo {
    let addr = || SocketAddr::from((Ipv4Addr::LOCALHOST, free_port().unwrap()));
    let (http, grpc) = (addr(), addr());
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kit-load-echo"));
    cmd.args([
        "--http",
        &http.to_string(),
        "--grpc",
        &grpc.to_string(),
        "--threads",
        "1",
    ])
    .stdout(Stdio::null());
    let mut server = ServerProcess::spawn(cmd, http).unwrap();
    server.wait_for_port(grpc, Duration::from_secs(30)).unwrap();
    Echo { server, http, grpc }
}

fn settings() -> Settings {
    Settings {
        connections: 4,
        duration: Duration::from_secs(1),
        warmup: Duration::from_millis(200),
        ..Settings::default()
    }
}

fn run(echo: &Echo, load: Load, settings: Settings) -> Report {
    Scenario::new("t", load)
        .with_settings(settings)
        .with_server_pid(echo.server.pid())
        .run()
        .unwrap()
}

/// What every run must satisfy, healthy server or not.
fn consistent(r: &Report) {
    assert!(r.requests > 0, "no requests: {r:?}");
    assert_eq!(r.requests, r.outcomes.total(), "{:?}", r.outcomes);
    assert_eq!(r.latency.count, r.outcomes.responses());
    assert_eq!(r.histogram.as_ref().unwrap().len(), r.outcomes.responses());
    assert!(r.latency.p50 <= r.latency.p90 && r.latency.p90 <= r.latency.p99);
    assert!(r.latency.p99 <= r.latency.max);
    assert!(r.server_cpu.is_some() && r.loadgen_cpu.is_some());
    assert_eq!(r.elapsed, Duration::from_secs(1));
}

#[test]
fn http1_against_a_healthy_server_counts_every_response_as_200() {
    let echo = echo();
    let load = HttpLoad::new(&format!("http://{}/", echo.http)).unwrap();
    let r = run(&echo, Load::Http(load), settings());
    consistent(&r);
    assert_eq!(r.errors(), 0, "{:?}", r.outcomes);
    assert_eq!(r.outcomes.http[&200], r.requests);
    assert_eq!(r.bytes_read, r.requests * "Hello, World!".len() as u64);
    assert_eq!(r.outcomes.successes(), r.requests);
}

#[test]
fn http1_against_500s_counts_every_one_as_an_error() {
    let echo = echo();
    let load = HttpLoad::new(&format!("http://{}/status/500", echo.http)).unwrap();
    let r = run(&echo, Load::Http(load), settings());
    consistent(&r);
    assert_eq!(r.outcomes.http.keys().copied().collect::<Vec<_>>(), [500]);
    assert_eq!(r.errors(), r.requests);
    assert_eq!(r.ok_rps(), 0.0);
}

#[test]
fn rotated_bodies_reach_the_server_in_turn() {
    let echo = echo();
    let bodies =
        Bodies::rotate([Bytes::from(r#"{"a":1,"b":2}"#), Bytes::from("not json")]).unwrap();
    let load = HttpLoad::new(&format!("http://{}/sum", echo.http))
        .unwrap()
        .with_method(http::Method::POST)
        .with_bodies(bodies);
    let threads = Settings {
        threads: 2,
        ..settings()
    };
    let r = run(&echo, Load::Http(load), threads);
    consistent(&r);
    let (ok, bad) = (r.outcomes.http[&200], r.outcomes.http[&400]);
    assert_eq!(ok + bad, r.requests);
    // Each connection alternates, so the two differ by at most one per connection.
    assert!(ok.abs_diff(bad) <= 4, "{ok} vs {bad}");
}

#[test]
fn http2_streams_share_connections() {
    let echo = echo();
    let load = HttpLoad::new(&format!("http://{}/echo", echo.http))
        .unwrap()
        .with_method(http::Method::POST)
        .with_body("ping")
        .with_http2(true);
    let r = run(
        &echo,
        Load::Http(load),
        Settings {
            connections: 2,
            streams: 8,
            ..settings()
        },
    );
    consistent(&r);
    assert_eq!(r.errors(), 0, "{:?}", r.outcomes);
    assert_eq!(r.bytes_read, 4 * r.requests);
}

#[test]
fn grpc_replies_are_counted_by_code() {
    let echo = echo();
    let url = format!("http://{}", echo.grpc);
    let grpc = |path| {
        GrpcLoad::new(&url, path)
            .unwrap()
            .with_body(parse_hex("0801 1002").unwrap())
    };
    let many = Settings {
        connections: 2,
        streams: 4,
        ..settings()
    };

    let ok = run(&echo, Load::Grpc(grpc("/kitload.Echo/Echo")), many.clone());
    consistent(&ok);
    assert_eq!(ok.errors(), 0, "{:?}", ok.outcomes);
    assert_eq!(ok.outcomes.grpc[&0], ok.requests);
    assert_eq!(ok.bytes_read, 4 * ok.requests);

    let failing = run(&echo, Load::Grpc(grpc("/kitload.Echo/Fail")), many.clone());
    consistent(&failing);
    assert_eq!(
        failing.outcomes.grpc.keys().copied().collect::<Vec<_>>(),
        [13]
    );
    assert_eq!(failing.errors(), failing.requests);

    let missing = run(&echo, Load::Grpc(grpc("/kitload.Echo/Nope")), many);
    consistent(&missing);
    assert_eq!(
        missing.outcomes.grpc.keys().copied().collect::<Vec<_>>(),
        [12]
    );
}

#[test]
fn a_closed_port_gives_connect_errors_and_no_requests() {
    let port = free_port().unwrap();
    let short = Settings {
        warmup: Duration::ZERO,
        ..settings()
    };
    for load in [
        Load::Http(HttpLoad::new(&format!("http://127.0.0.1:{port}/")).unwrap()),
        Load::Grpc(GrpcLoad::new(&format!("http://127.0.0.1:{port}"), "/a.B/C").unwrap()),
    ] {
        let r = Scenario::new("closed", load)
            .with_settings(short.clone())
            .run()
            .unwrap();
        assert_eq!(r.requests, 0);
        assert_eq!(r.outcomes.total(), 0);
        assert!(r.outcomes.connect_errors > 0, "{:?}", r.outcomes);
        assert_eq!(r.errors(), r.outcomes.connect_errors);
    }
}

#[test]
fn a_comparison_runs_every_round_and_compares_with_the_baseline() {
    let echo = echo();
    let scenario = |name: &str, path: &str| {
        let load = HttpLoad::new(&format!("http://{}{path}", echo.http)).unwrap();
        Scenario::new(name, Load::Http(load))
            .with_settings(Settings {
                duration: Duration::from_millis(500),
                ..settings()
            })
            .with_server_pid(echo.server.pid())
    };
    let report = Comparison::new("hello")
        .with_scenario(scenario("hello", "/"))
        .with_scenario(scenario("json", "/json"))
        .with_rounds(2)
        .run()
        .unwrap();
    let order: Vec<(usize, &str)> = report
        .runs
        .iter()
        .map(|r| (r.round, r.report.name.as_str()))
        .collect();
    // The second round runs in reverse.
    assert_eq!(
        order,
        [(1, "hello"), (1, "json"), (2, "json"), (2, "hello")]
    );
    let json = report.row("json").unwrap();
    assert_eq!(json.report.rounds, 2);
    let per_round: u64 = report
        .runs
        .iter()
        .filter(|r| r.report.name == "json")
        .map(|r| r.report.requests)
        .sum();
    assert_eq!(json.report.requests, per_round);
    let ratio = report.ratio("json").unwrap();
    let expected = json.report.ok_rps() / report.row("hello").unwrap().report.ok_rps();
    assert!((ratio - expected).abs() < 1e-12);
    assert_eq!(report.ratio("hello"), Some(1.0));
    assert_eq!(
        report
            .table()
            .lines()
            .filter(|l| l.starts_with("json "))
            .count(),
        1
    );
    assert_eq!(report.json_lines().lines().count(), 6);
}

#[test]
fn dropping_a_server_process_kills_it() {
    let echo = echo();
    let pid = echo.server.pid();
    assert!(std::path::Path::new(&format!("/proc/{pid}")).exists());
    drop(echo);
    assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists());
}

#[test]
fn a_scenario_file_starts_its_servers_and_runs_against_them() {
    let echo = env!("CARGO_BIN_EXE_kit-load-echo");
    let json = format!(
        r#"{{
      "baseline": "http",
      "settings": {{ "connections": 2, "duration": "500ms", "warmup": "100ms" }},
      "servers": {{ "echo": {{ "command": ["{echo}", "--http", "127.0.0.1:{{port}}", "--grpc", "127.0.0.1:{{port2}}"],
                              "ports": 2, "quiet": true }} }},
      "scenarios": [
        {{ "name": "http", "server": "echo", "http": {{ "url": "http://127.0.0.1:{{port}}/json" }} }},
        {{ "name": "grpc", "server": "echo", "baseline": "grpc",
           "grpc": {{ "url": "http://127.0.0.1:{{port2}}", "path": "/kitload.Echo/Echo", "body_hex": "0a03616263" }} }}
      ]
    }}"#
    );
    let prepared = kit_load::file::ScenarioFile::parse(&json)
        .unwrap()
        .start()
        .unwrap();
    let pid = prepared.servers[0].1.pid();
    let report = prepared.comparison.run().unwrap();
    for row in &report.rows {
        let r = &row.report;
        assert!(
            r.requests > 0 && r.errors() == 0,
            "{}: {:?}",
            r.name,
            r.outcomes
        );
        assert!(
            r.server_cpu.is_some(),
            "{}: the server's PID was not used",
            r.name
        );
    }
    assert_eq!(
        report.row("grpc").unwrap().report.bytes_read,
        5 * report.row("grpc").unwrap().report.requests
    );
    drop(prepared);
    assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists());
}

#[test]
fn a_server_that_never_answers_gives_timeouts_not_a_hang() {
    // Accepts, reads, never replies. (A stand-in for a hung server, so it
    // may live in this process: no figure of its own is measured.)
    let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    let settings = Settings {
        timeout: Duration::from_millis(100),
        warmup: Duration::ZERO,
        ..settings()
    };
    let load = HttpLoad::new(&format!("http://{addr}/")).unwrap();
    let r = Scenario::new("hung", Load::Http(load))
        .with_settings(settings)
        .run()
        .unwrap();
    assert!(r.outcomes.timeouts > 0, "{:?}", r.outcomes);
    assert_eq!(r.requests, r.outcomes.total());
    assert_eq!(r.requests, r.outcomes.timeouts);
    assert_eq!(r.latency.count, 0);
}

#[test]
fn auxiliary_processes_count_their_own_cpu() {
    let echo = echo();
    let mut idle = std::process::Command::new("sleep")
        .arg("60")
        .spawn()
        .expect("sleep(1) runs");
    let load = || Load::Http(HttpLoad::new(&format!("http://{}/", echo.http)).unwrap());
    // The busy server counted as its own auxiliary: the same ticks, give
    // or take the one that passes between the two readings.
    let busy = Scenario::new("busy", load())
        .with_settings(settings())
        .with_server_pid(echo.server.pid())
        .with_aux_pid(echo.server.pid())
        .run()
        .unwrap();
    let (server, aux) = (busy.server_cpu.unwrap().ticks, busy.aux_cpu.unwrap().ticks);
    assert!(server > 0 && aux.abs_diff(server) <= 1, "{server} vs {aux}");
    // An idle process beside the same load: next to nothing.
    let quiet = Scenario::new("quiet", load())
        .with_settings(settings())
        .with_aux_pid(idle.id())
        .run()
        .unwrap();
    let _ = idle.kill();
    let _ = idle.wait();
    assert!(quiet.aux_cpu.unwrap().ticks <= 1, "{:?}", quiet.aux_cpu);
    assert_eq!(quiet.server_cpu, None);
}
