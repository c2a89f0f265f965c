use std::time::Duration;

use clap::Parser;
use clap::error::ErrorKind;

use super::*;

fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
    Cli::try_parse_from(std::iter::once("kit-load").chain(args.iter().copied()))
}

fn http(args: &[&str]) -> HttpArgs {
    match parse(args).unwrap().command {
        Command::Http(a) => a,
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_http_example_parses_with_wrk_like_defaults() {
    let a = http(&[
        "http",
        "--url",
        "http://127.0.0.1:8080/sum",
        "--method",
        "POST",
        "--body",
        r#"{"a":1,"b":2}"#,
        "-c",
        "64",
        "-d",
        "10s",
        "--pid",
        "42",
        "-H",
        "Content-Type: application/json",
    ]);
    assert_eq!(a.method, Method::POST);
    assert_eq!(a.common.pid, Some(42));
    let s = a.common.settings();
    assert_eq!((s.connections, s.streams, s.threads), (64, 1, 1));
    assert_eq!(
        (s.duration, s.warmup, s.timeout),
        (
            Duration::from_secs(10),
            Duration::from_secs(1),
            Duration::from_secs(2)
        )
    );
    let c = a.comparison().unwrap();
    assert_eq!(c.scenarios().len(), 1);
    assert_eq!(c.scenarios()[0].server_pid(), Some(42));
    let Load::Http(load) = c.scenarios()[0].load() else {
        panic!()
    };
    assert_eq!(load.headers()["content-type"], "application/json");
    assert_eq!(load.bodies().get(0), r#"{"a":1,"b":2}"#);
}

#[test]
fn vs_wrk_adds_a_wrk_baseline() {
    let c = http(&[
        "http",
        "--url",
        "http://127.0.0.1:1/",
        "--vs-wrk",
        "--rounds",
        "2",
    ])
    .comparison()
    .unwrap();
    let names: Vec<&str> = c.scenarios().iter().map(|s| s.name()).collect();
    assert_eq!(names, ["wrk", "kit-load"]);
    assert_eq!(c.baseline(), "wrk");
    assert!(matches!(c.scenarios()[0].load(), Load::Wrk(_)));
    assert_eq!(c.order().len(), 4);
}

#[test]
fn the_grpc_example_joins_hex_values() {
    let cli = parse(&[
        "grpc",
        "--url",
        "http://127.0.0.1:8082",
        "--path",
        "/pb.Add/Sum",
        "--body-hex",
        "0801",
        "1002",
        "-c",
        "64",
        "-d",
        "10s",
    ])
    .unwrap();
    let Command::Grpc(a) = cli.command else {
        panic!()
    };
    let c = a.comparison().unwrap();
    let Load::Grpc(load) = c.scenarios()[0].load() else {
        panic!()
    };
    assert_eq!(
        load.bodies().get(0),
        bytes::Bytes::from_static(&[8, 1, 16, 2])
    );
    assert_eq!(load.path().as_str(), "/pb.Add/Sum");
}

#[test]
fn compare_takes_a_file_and_overrides() {
    let Command::Compare(a) = parse(&[
        "compare",
        "x.json",
        "--rounds",
        "3",
        "--sequential",
        "-d",
        "2s",
    ])
    .unwrap()
    .command
    else {
        panic!()
    };
    assert_eq!(
        (a.rounds, a.sequential, a.duration),
        (Some(3), true, Some(Duration::from_secs(2)))
    );
}

#[test]
fn garbage_flags_are_rejected_by_clap_with_the_reason() {
    let url = ["http", "--url", "http://127.0.0.1:1/"];
    let with = |extra: &[&'static str]| -> Vec<&'static str> {
        url.iter().chain(extra).copied().collect()
    };
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec![], "Usage"),
        (vec!["http"], "--url"),
        (vec!["grpc", "--url", "http://h:1"], "--path"),
        (vec!["compare"], "FILE"),
        (with(&["-c", "0"]), "0 is not in 1..=10000"),
        (with(&["-c", "lots"]), "\"lots\" is not a whole number"),
        (with(&["-c", "-5"]), "unexpected argument"),
        (with(&["-c", "99999999"]), "is not in 1..=10000"),
        (with(&["-t", "65"]), "65 is not in 1..=64"),
        (with(&["-s", "0"]), "0 is not in 1..=1000"),
        (with(&["-d", "10x"]), "unknown unit"),
        (with(&["-d", "25h"]), "between 0 and 24h"),
        (with(&["-w", ""]), "empty"),
        (with(&["--timeout=-1s"]), "invalid duration"),
        (with(&["-X", "GE T"]), "is not an HTTP method"),
        (with(&["-X", ""]), "is not an HTTP method"),
        (with(&["--pid", "abc"]), "invalid digit"),
        (
            with(&["--body", "x", "--bodies-file", "f"]),
            "cannot be used with",
        ),
        (with(&["--rounds", "0"]), "0 is not in 1..=1000"),
        (with(&["--bogus"]), "unexpected argument '--bogus'"),
    ];
    for (args, want) in cases {
        let err = parse(&args).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains(want),
            "{args:?}\n  gave: {text}\n  wanted: {want}"
        );
        assert_ne!(err.kind(), ErrorKind::DisplayHelp, "{args:?}");
    }
}

#[test]
fn garbage_values_are_rejected_when_the_load_is_built() {
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["http", "--url", "127.0.0.1:8080"], "no scheme"),
        (
            vec!["http", "--url", "https://h/"],
            "https is not supported",
        ),
        (
            vec!["http", "--url", "http://h/", "-H", "nocolon"],
            "expected `Name: value`",
        ),
        (
            vec!["http", "--url", "http://h/", "-H", "bad name: v"],
            "is not a header name",
        ),
        (
            vec!["http", "--url", "http://h/", "-s", "4"],
            "HTTP/1.1 keeps one request",
        ),
        (
            vec![
                "http",
                "--url",
                "http://h/",
                "--bodies-file",
                "/nonexistent/b",
            ],
            "reading /nonexistent/b",
        ),
        (
            vec!["http", "--url", "http://h/", "-t", "8", "-c", "4"],
            "each thread needs a connection",
        ),
        (
            vec!["http", "--url", "http://h/", "--vs-wrk", "-d", "1500ms"],
            "whole seconds",
        ),
        (
            vec!["grpc", "--url", "http://h:1", "--path", "Sum"],
            "expected /package.Service/Method",
        ),
        (
            vec!["grpc", "--url", "http://h:1/x", "--path", "/a/b"],
            "has no path",
        ),
        (
            vec![
                "grpc",
                "--url",
                "http://h:1",
                "--path",
                "/a/b",
                "--body-hex",
                "0g",
            ],
            "not a hex digit",
        ),
        (
            vec![
                "grpc",
                "--url",
                "http://h:1",
                "--path",
                "/a/b",
                "--body-hex",
                "080",
            ],
            "odd number",
        ),
    ];
    for (args, want) in cases {
        let cli = parse(&args).unwrap_or_else(|e| panic!("{args:?}: {e}"));
        let err = match cli.command {
            Command::Http(a) => a.comparison().unwrap_err(),
            Command::Grpc(a) => a.comparison().unwrap_err(),
            Command::Compare(_) => panic!(),
        };
        let text = err.to_string();
        assert!(
            text.contains(want),
            "{args:?}\n  gave: {text}\n  wanted: {want}"
        );
    }
}

#[test]
fn help_documents_every_flag() {
    use clap::CommandFactory;
    let mut cmd = Cli::command();
    cmd.build();
    for sub in cmd.get_subcommands() {
        for arg in sub.get_arguments() {
            let id = arg.get_id().as_str();
            if id == "help" || id == "version" {
                continue;
            }
            assert!(
                arg.get_help().is_some(),
                "{} --{id} has no help",
                sub.get_name()
            );
        }
    }
}
