use super::*;

const GOOD: &str = r#"{
  "baseline": "raw",
  "rounds": 3,
  "interleave": false,
  "settings": { "connections": 16, "duration": "5s", "warmup": "500ms" },
  "servers": { "echo": { "command": ["kit-load-echo", "--http", "127.0.0.1:{port}"], "quiet": true } },
  "scenarios": [
    { "name": "raw", "server": "echo", "http": { "url": "http://127.0.0.1:{port}/sum", "method": "POST",
      "headers": ["Content-Type: application/json"], "body": "{\"a\":1,\"b\":2}" } },
    { "name": "wrk", "server": "echo", "engine": "wrk", "aux": ["store"], "http": { "url": "http://127.0.0.1:{port}/" } },
    { "name": "grpc", "server": "echo", "pid": 77, "baseline": "grpc", "settings": { "connections": 2, "streams": 8 },
      "grpc": { "url": "http://127.0.0.1:{port2}/", "path": "/pb.Add/Sum", "body_hex": "0801 1002" } },
    { "name": "batch", "server": "echo", "items": 100,
      "http": { "url": "http://127.0.0.1:{port}/", "bodies": ["a", "b"], "http2": true } }
  ]
}"#;

fn started() -> BTreeMap<String, Started> {
    BTreeMap::from([
        (
            "echo".to_owned(),
            Started {
                ports: vec![4242, 4343],
                pid: 99,
            },
        ),
        (
            "store".to_owned(),
            Started {
                ports: vec![6379],
                pid: 55,
            },
        ),
    ])
}

#[test]
fn a_good_file_becomes_a_comparison() {
    let file = ScenarioFile::parse(GOOD).unwrap();
    let c = file.comparison(&started()).unwrap();
    assert_eq!(c.baseline(), "raw");
    assert_eq!(c.order().len(), 12);
    assert_eq!(c.order()[..3], [(1, 0), (2, 0), (3, 0)], "not interleaved");
    let s = c.scenarios();
    let Load::Http(raw) = s[0].load() else {
        panic!("{:?}", s[0].load())
    };
    assert_eq!(raw.url().to_string(), "http://127.0.0.1:4242/sum");
    assert_eq!(raw.method(), http::Method::POST);
    assert_eq!(raw.headers()["content-type"], "application/json");
    assert_eq!(raw.bodies().get(0), r#"{"a":1,"b":2}"#);
    assert_eq!(s[0].server_pid(), Some(99));
    assert_eq!(s[0].settings().connections, 16);
    assert_eq!(s[0].settings().duration, std::time::Duration::from_secs(5));
    assert!(matches!(s[1].load(), Load::Wrk(_)));
    assert_eq!(s[1].aux_pids(), [55]);
    assert_eq!(s[0].aux_pids(), [] as [u32; 0]);
    let Load::Grpc(grpc) = s[2].load() else {
        panic!("{:?}", s[2].load())
    };
    assert_eq!(grpc.url().to_string(), "http://127.0.0.1:4343/");
    assert_eq!(
        grpc.bodies().get(0),
        bytes::Bytes::from_static(&[8, 1, 16, 2])
    );
    assert_eq!(s[2].server_pid(), Some(77));
    assert_eq!(s[2].baseline(), Some("grpc"));
    assert_eq!(
        (s[2].settings().connections, s[2].settings().streams),
        (2, 8)
    );
    assert_eq!(
        s[2].settings().warmup,
        std::time::Duration::from_millis(500)
    );
    assert_eq!(s[3].items_per_request(), 100);
    let Load::Http(batch) = s[3].load() else {
        panic!("{:?}", s[3].load())
    };
    assert_eq!((batch.bodies().len(), batch.is_http2()), (2, true));
}

fn error_of(json: &str) -> String {
    match ScenarioFile::parse(json) {
        Err(e) => e.to_string(),
        Ok(file) => file.comparison(&started()).unwrap_err().to_string(),
    }
}

#[test]
fn garbage_files_give_clear_errors() {
    let one = |scenario: &str| format!(r#"{{"baseline": "a", "scenarios": [{scenario}]}}"#);
    let cases = [
        ("", "EOF while parsing"),
        ("3", "invalid type"),
        (r#"{"scenarios": []}"#, "missing field `baseline`"),
        (
            r#"{"baseline": "a", "scenarios": [], "extra": 1}"#,
            "unknown field `extra`",
        ),
        (r#"{"baseline": "a", "scenarios": []}"#, "no scenarios"),
        (&one(r#"{"name": "a"}"#), "exactly one of `http` and `grpc`"),
        (
            &one(
                r#"{"name": "a", "http": {"url": "http://h/"}, "grpc": {"url": "http://h", "path": "/a/b"}}"#,
            ),
            "exactly one",
        ),
        (
            &one(r#"{"name": "a", "engine": "wrk", "grpc": {"url": "http://h", "path": "/a/b"}}"#),
            "wrk cannot load gRPC",
        ),
        (
            &one(r#"{"name": "a", "engine": "ab", "http": {"url": "http://h/"}}"#),
            "unknown variant `ab`",
        ),
        (
            &one(r#"{"name": "a", "server": "nope", "http": {"url": "http://h/"}}"#),
            "no server named \"nope\"",
        ),
        (
            &one(r#"{"name": "a", "aux": ["nope"], "http": {"url": "http://h/"}}"#),
            "no server named \"nope\" in `servers` (aux)",
        ),
        (
            &one(r#"{"name": "a", "http": {"url": "http://h:{port}/"}}"#),
            "needs a `server`",
        ),
        (
            &one(r#"{"name": "a", "http": {"url": "http://h/", "method": "GE T"}}"#),
            "invalid method",
        ),
        (
            &one(r#"{"name": "a", "http": {"url": "http://h/", "headers": ["nocolon"]}}"#),
            "expected `Name: value`",
        ),
        (
            &one(r#"{"name": "a", "http": {"url": "http://h/", "body": "x", "bodies": ["y"]}}"#),
            "give one of body",
        ),
        (
            &one(r#"{"name": "a", "http": {"url": "http://h/", "bodies": []}}"#),
            "an empty list",
        ),
        (
            &one(r#"{"name": "a", "http": {"url": "http://h/", "body_hex": "zz"}}"#),
            "invalid hex",
        ),
        (
            &one(r#"{"name": "a", "http": {"url": "http://h/", "bodyy": "x"}}"#),
            "unknown field `bodyy`",
        ),
        (
            &one(r#"{"name": "a", "settings": {"duration": "ten"}, "http": {"url": "http://h/"}}"#),
            "invalid duration",
        ),
        (
            &one(r#"{"name": "a", "settings": {"connections": -1}, "http": {"url": "http://h/"}}"#),
            "invalid value",
        ),
        (
            &one(r#"{"name": "a", "settings": {"streams": 4}, "http": {"url": "http://h/"}}"#),
            "HTTP/1.1 keeps one",
        ),
        (
            &one(r#"{"name": "a", "grpc": {"url": "http://h", "path": "Sum"}}"#),
            "expected /package.Service/Method",
        ),
        (
            &one(r#"{"name": "a", "http": {"url": "https://h/"}}"#),
            "https is not supported",
        ),
        (
            &one(r#"{"name": "b", "http": {"url": "http://h/"}}"#),
            "is not a scenario",
        ),
        (
            &one(r#"{"name": "a", "server": "echo", "http": {"url": "http://h:{port3}/"}}"#),
            "has 2 port(s)",
        ),
        (
            &one(r#"{"name": "a", "server": "echo", "http": {"url": "http://h:{ports}/"}}"#),
            "has 2 port(s)",
        ),
    ];
    for (json, want) in cases {
        let err = error_of(json);
        assert!(
            err.contains(want),
            "{json}\n  gave: {err}\n  wanted: {want}"
        );
    }
}

#[test]
fn ports_fill_every_placeholder() {
    assert_eq!(
        fill_ports("a:{port} b:{port1} c:{port2}", &[1, 2]).unwrap(),
        "a:1 b:1 c:2"
    );
    let many: Vec<u16> = (1..=12).collect();
    assert_eq!(fill_ports("{port12}/{port1}", &many).unwrap(), "12/1");
    assert!(fill_ports("{port2}", &[1]).is_err());
}

#[test]
fn port_counts_are_bounded() {
    for (server, want) in [
        (r#"{"command": ["x"], "ports": 0}"#, "0 is not in 1..=16"),
        (r#"{"command": ["x"], "ports": 17}"#, "17 is not in 1..=16"),
        (
            r#"{"command": ["x"], "ports": 2, "port": 80}"#,
            "a fixed `port`",
        ),
    ] {
        let json = format!(
            r#"{{"baseline": "a", "servers": {{"s": {server}}}, "scenarios": [{{"name": "a", "http": {{"url": "http://h/"}}}}]}}"#
        );
        let err = ScenarioFile::parse(&json)
            .unwrap()
            .start()
            .unwrap_err()
            .to_string();
        assert!(err.contains(want), "{server}: {err}");
    }
}

#[test]
fn servers_with_empty_commands_are_refused_before_anything_starts() {
    let json = r#"{"baseline": "a", "servers": {"s": {"command": []}},
        "scenarios": [{"name": "a", "server": "s", "http": {"url": "http://127.0.0.1:{port}/"}}]}"#;
    let err = ScenarioFile::parse(json)
        .unwrap()
        .start()
        .unwrap_err()
        .to_string();
    assert!(err.contains("an empty command"), "{err}");
}

#[test]
fn a_bad_scenario_starts_no_server() {
    // The server would be `false`, which exits at once; the bad scenario
    // must be reported instead, before any server is spawned.
    let json = r#"{"baseline": "a", "servers": {"s": {"command": ["false"]}},
        "scenarios": [{"name": "a", "server": "s", "http": {"url": "http://127.0.0.1:{port}/", "method": "GE T"}}]}"#;
    let err = ScenarioFile::parse(json)
        .unwrap()
        .start()
        .unwrap_err()
        .to_string();
    assert!(err.contains("invalid method"), "{err}");
}
