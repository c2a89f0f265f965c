use std::collections::HashMap;

use super::*;
use crate::Capture;
use crate::logfmt::parse;

fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |k| map.get(k).cloned()
}

/// Logs through `builder` into memory and returns the lines.
fn run(builder: Builder, f: impl FnOnce()) -> Vec<String> {
    let out = Capture::new();
    let (subscriber, guard) = builder.writer(out.clone()).subscriber().unwrap();
    tracing::subscriber::with_default(subscriber, f);
    drop(guard);
    out.lines()
}

#[test]
fn environment_sets_filter_and_format() {
    let b = Builder::from_vars(vars(&[
        ("KIT_LOG", "warn,kit_log=debug"),
        ("KIT_LOG_FORMAT", " JSON "),
    ]))
    .unwrap();
    assert_eq!(b.format, Format::Json);
    assert_eq!(b.filter, "warn,kit_log=debug");
    let lines = run(b, || {
        tracing::debug!(target: "kit_log::x", shown = 1);
        tracing::info!(target: "other", hidden = 1);
        tracing::warn!(target: "other", shown = 2);
    });
    assert_eq!(lines.len(), 2, "{lines:?}");
    let first: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
    assert_eq!(first["shown"], 1);
    assert_eq!(first["level"], "DEBUG");
}

#[test]
fn unset_or_empty_variables_give_the_defaults() {
    for env in [vars(&[]), vars(&[("KIT_LOG", " "), ("KIT_LOG_FORMAT", "")])] {
        let b = Builder::from_vars(env).unwrap();
        assert_eq!((b.filter.as_str(), b.format), ("info", Format::Logfmt));
    }
}

#[test]
fn bad_variables_are_errors() {
    for filter in ["kit_log=loud", "[[[", "a=b=c", "info,=debug,{"] {
        let err = Builder::from_vars(vars(&[("KIT_LOG", filter)])).unwrap_err();
        assert!(matches!(err, SetupError::Filter { .. }), "{filter}: {err}");
    }
    for format in ["xml", "log fmt", "jsonx", "\u{0}"] {
        let err = Builder::from_vars(vars(&[("KIT_LOG_FORMAT", format)])).unwrap_err();
        assert!(matches!(err, SetupError::Format(_)), "{format}: {err}");
        assert!(err.to_string().contains("logfmt, json or pretty"));
    }
    assert!(Builder::new().filter("x=nope").subscriber().is_err());
}

#[test]
fn logfmt_with_everything_on() {
    let lines = run(Builder::new().non_blocking(false), || {
        tracing::info!(method = "Sum", "called");
    });
    let line = parse(&lines[0]).unwrap();
    assert_eq!(
        line.keys().collect::<Vec<_>>(),
        ["ts", "level", "target", "caller", "msg", "method"]
    );
    assert!(
        line.get("caller")
            .unwrap()
            .starts_with("kit-log/src/setup/tests.rs:")
    );
}

#[test]
fn logfmt_with_everything_off() {
    let b = Builder::new().timestamps(false).caller(false).target(false);
    let lines = run(b, || tracing::info!(method = "Sum"));
    assert_eq!(lines, ["level=info method=Sum"]);
}

#[test]
fn json_lines_carry_the_expected_fields() {
    let b = Builder::new().format(Format::Json);
    let lines = run(b, || {
        let span = tracing::info_span!("rpc", method = "Sum");
        let _g = span.enter();
        tracing::info!(a = 1, err = "a \"quoted\"\nvalue", "call");
    });
    let json: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
    assert_eq!(json["message"], "call");
    assert_eq!(json["a"], 1);
    assert_eq!(json["err"], "a \"quoted\"\nvalue");
    assert_eq!(json["level"], "INFO");
    assert_eq!(json["spans"][0]["method"], "Sum");
    assert!(
        json["filename"]
            .as_str()
            .unwrap()
            .ends_with("setup/tests.rs")
    );
    assert!(json["line_number"].is_u64());
    assert!(json["timestamp"].as_str().unwrap().ends_with('Z'));
    let no_ts = run(
        Builder::new()
            .format(Format::Json)
            .timestamps(false)
            .caller(false),
        || tracing::info!(a = 1),
    );
    let json: serde_json::Value = serde_json::from_str(&no_ts[0]).unwrap();
    assert!(
        json.get("timestamp").is_none() && json.get("filename").is_none(),
        "{json}"
    );
}

#[test]
fn pretty_writes_the_fields() {
    let b = Builder::new().format(Format::Pretty).timestamps(false);
    let text = run(b, || tracing::info!(method = "Sum", "called")).join("\n");
    assert!(
        text.contains("called") && text.contains("method: \"Sum\""),
        "{text}"
    );
}

#[test]
fn the_guard_flushes_the_non_blocking_writer() {
    let out = Capture::new();
    let (subscriber, guard) = Builder::new().writer(out.clone()).subscriber().unwrap();
    tracing::subscriber::with_default(subscriber, || {
        for i in 0..1000 {
            tracing::info!(i);
        }
    });
    drop(guard);
    let lines = out.lines();
    assert_eq!(lines.len(), 1000);
    assert_eq!(parse(&lines[999]).unwrap().get("i"), Some("999"));
}

#[test]
fn make_writer_is_used_as_is() {
    let out = Capture::new();
    let (subscriber, _guard) = Builder::new()
        .make_writer(out.clone())
        .subscriber()
        .unwrap();
    tracing::subscriber::with_default(subscriber, || tracing::info!("now"));
    // No guard dropped: the line is there at once, so no worker sits between.
    assert_eq!(out.lines().len(), 1);
}

#[test]
fn builder_debug_names_the_output() {
    let text = format!("{:?}", Builder::new().stdout());
    assert!(text.contains("stdout") && text.contains("Logfmt"), "{text}");
}
