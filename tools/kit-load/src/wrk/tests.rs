use super::*;

#[test]
fn lua_strings_escape_everything_unprintable() {
    assert_eq!(lua_string(b"plain {\"a\":1}"), r#""plain {\"a\":1}""#);
    assert_eq!(lua_string(b"a\\b"), r#""a\\b""#);
    assert_eq!(lua_string(&[0, b'\n', 0xff]), r#""\000\010\255""#);
}

#[test]
fn the_script_sets_method_headers_and_body() {
    let load = HttpLoad::new("http://127.0.0.1:1/sum")
        .unwrap()
        .with_method(http::Method::POST)
        .with_header("Content-Type", "application/json")
        .unwrap()
        .with_body(r#"{"a":1}"#);
    let script = lua(&load);
    assert!(script.contains(r#"wrk.method = "POST""#), "{script}");
    assert!(
        script.contains(r#"wrk.headers["content-type"] = "application/json""#),
        "{script}"
    );
    assert!(script.contains(r#"wrk.body = "{\"a\":1}""#), "{script}");
    assert!(!script.contains("request = function"), "{script}");
    assert!(script.contains("done = function"), "{script}");
    assert_eq!(script.matches("%.0f").count(), 13, "{script}");
}

#[test]
fn several_bodies_rotate_in_a_request_hook() {
    let bodies = crate::Bodies::rotate(["a", "b"].map(bytes::Bytes::from)).unwrap();
    let load = HttpLoad::new("http://127.0.0.1:1/")
        .unwrap()
        .with_bodies(bodies);
    let script = lua(&load);
    assert!(
        script.contains(r#"local bodies = { "a", "b" }"#),
        "{script}"
    );
    assert!(script.contains("request = function"), "{script}");
}

#[test]
fn summaries_parse_into_reports() {
    let out = "Running 10s test\nKITLOAD-WRK 10000000 500000 60000000 1 2 3 40 5 800 1500 9000 31000 950.5\n";
    let summary = Summary::parse(out).unwrap();
    let report = summary.report("wrk", &Settings::default());
    assert_eq!(report.engine, Engine::Wrk);
    assert_eq!(report.requests, 500_000);
    assert_eq!(report.outcomes.successes(), 499_960);
    assert_eq!(report.outcomes.failed_other, 40);
    assert_eq!(report.outcomes.connect_errors, 1);
    assert_eq!(report.outcomes.io_errors, 5);
    assert_eq!(report.outcomes.timeouts, 5);
    assert_eq!(report.elapsed, Duration::from_secs(10));
    assert_eq!(report.rps(), 50_000.0);
    assert_eq!(report.latency.p50, Duration::from_micros(800));
    assert_eq!(report.latency.p99, Duration::from_micros(9000));
    assert_eq!(report.latency.max, Duration::from_micros(31000));
    assert!(report.histogram.is_none());
}

#[test]
fn garbage_wrk_output_is_an_error() {
    for out in [
        "",
        "Requests/sec: 1000",
        "KITLOAD-WRK 1 2 3",
        "KITLOAD-WRK 1 2 3 4 5 6 7 8 9 10 11 12 13 14",
        "KITLOAD-WRK 1 2 3 4 5 6 7 8 9 10 11 12 x",
        "KITLOAD-WRK 1 2 3 4 5 6 7 8 9 10 11 12 -1",
        "KITLOAD-WRK 1 2 3 4 5 6 7 8 9 10 11 12 nan",
    ] {
        let err = Summary::parse(out).unwrap_err().to_string();
        assert!(
            err.starts_with("wrk: no `KITLOAD-WRK` line"),
            "{out:?}: {err}"
        );
    }
}

#[test]
fn wrk_needs_http1_one_stream_and_whole_seconds() {
    let load = HttpLoad::new("http://127.0.0.1:1/").unwrap();
    assert!(check(&load, &Settings::default()).is_ok());
    let half = Settings {
        duration: Duration::from_millis(1500),
        ..Settings::default()
    };
    assert!(
        check(&load, &half)
            .unwrap_err()
            .to_string()
            .contains("whole seconds")
    );
    let streams = Settings {
        streams: 2,
        ..Settings::default()
    };
    assert!(check(&load, &streams).is_err());
    assert!(check(&load.with_http2(true), &Settings::default()).is_err());
}
