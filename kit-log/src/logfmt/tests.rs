use std::fmt;

use proptest::prelude::*;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::FormatTime;
use tracing_subscriber::layer::SubscriberExt;

use super::*;
use crate::Capture;

/// A clock stopped at one instant, so lines can be compared whole.
struct Fixed;

impl FormatTime for Fixed {
    fn format_time(&self, w: &mut Writer<'_>) -> fmt::Result {
        w.write_str("2026-11-21T21:05:31.497385Z")
    }
}

/// Runs `f` under a subscriber formatting with `format`, returns the lines.
fn capture<T>(format: Logfmt<T>, f: impl FnOnce()) -> Vec<String>
where
    T: FormatTime + Send + Sync + 'static,
{
    let out = Capture::new();
    let layer = tracing_subscriber::fmt::layer()
        .fmt_fields(LogfmtFields)
        .event_format(format)
        .with_writer(out.clone());
    let subscriber = tracing_subscriber::registry().with(layer);
    tracing::subscriber::with_default(subscriber, f);
    out.lines()
}

#[test]
fn a_line_has_go_kit_shape() {
    let lines = capture(Logfmt::new().with_timer(Fixed).with_caller(false), || {
        tracing::info!(method = "Sum", a = 1, b = -2, ok = true, "call");
    });
    assert_eq!(
        lines,
        [
            "ts=2026-11-21T21:05:31.497385Z level=info target=kit_log::logfmt::tests msg=call method=Sum a=1 b=-2 ok=true"
        ]
    );
}

#[test]
fn caller_is_file_and_line() {
    let expected_line = line!() + 2;
    let lines = capture(Logfmt::new().without_time().with_target(false), || {
        tracing::warn!("x");
    });
    assert_eq!(
        lines,
        [format!(
            "level=warn caller={}:{expected_line} msg=x",
            file!()
        )]
    );
}

#[test]
fn default_timestamps_are_utc_rfc3339() {
    let lines = capture(Logfmt::new(), || tracing::error!("x"));
    let line = parse(&lines[0]).unwrap();
    let ts = line.get("ts").unwrap();
    // 2026-11-21T21:05:31.497385Z
    assert_eq!(ts.len(), 27, "{ts}");
    assert!(ts.ends_with('Z') && ts.as_bytes()[10] == b'T', "{ts}");
    assert!(ts[..4].parse::<u32>().unwrap() >= 2024, "{ts}");
    assert_eq!(line.get("level"), Some("error"));
}

#[test]
fn span_fields_lead_like_go_kit_with() {
    let lines = capture(
        Logfmt::new()
            .without_time()
            .with_caller(false)
            .with_target(false),
        || {
            let outer = tracing::info_span!("rpc", method = "Sum", peer = "10.0.0.1:5 x");
            let _outer = outer.enter();
            let inner = tracing::info_span!("db", table = "kv");
            let _inner = inner.enter();
            tracing::info!(rows = 3u64);
        },
    );
    assert_eq!(
        lines,
        [r#"level=info method=Sum peer="10.0.0.1:5 x" table=kv rows=3"#]
    );
}

#[test]
fn fields_recorded_later_on_a_span_appear() {
    let lines = capture(
        Logfmt::new()
            .without_time()
            .with_caller(false)
            .with_target(false),
        || {
            let span = tracing::info_span!("rpc", user = tracing::field::Empty);
            span.record("user", "a b");
            let _g = span.enter();
            tracing::info!("in");
        },
    );
    assert_eq!(lines, [r#"level=info user="a b" msg=in"#]);
}

#[test]
fn hostile_values_stay_on_one_line() {
    let evil = "x\" y=z\nlevel=error \u{1b}[2J\\";
    let lines = capture(Logfmt::new(), || {
        tracing::info!(evil, debug = ?evil, display = %evil, bytes = &b"\xff\x00ok"[..], "{evil}");
    });
    assert_eq!(lines.len(), 1, "{lines:?}");
    let line = parse(&lines[0]).unwrap();
    assert_eq!(line.get("evil"), Some(evil));
    assert_eq!(line.get("msg"), Some(evil));
    assert_eq!(line.get("display"), Some(evil));
    assert_eq!(line.get("debug"), Some(format!("{evil:?}").as_str()));
    assert_eq!(line.get_bytes("bytes"), Some(&b"\xff\x00ok"[..]));
    assert_eq!(line.get("level"), Some("info"));
    assert!(!lines[0].contains('\u{1b}'));
}

#[test]
fn errors_use_their_display() {
    let err = kit_endpoint::Error::unavailable("breaker open");
    let lines = capture(Logfmt::new().without_time(), || {
        tracing::error!(err = &err as &(dyn std::error::Error + 'static));
    });
    let line = parse(&lines[0]).unwrap();
    assert_eq!(line.get("err"), Some("unavailable: breaker open"));
}

fn key() -> impl Strategy<Value = String> {
    "[a-z_][a-z0-9_.]{0,8}"
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Any text and bytes written as values parse back unchanged.
    #[test]
    fn pairs_round_trip(
        pairs in proptest::collection::vec((key(), any::<String>()), 0..6),
        raw in proptest::collection::vec(any::<u8>(), 0..16),
    ) {
        let mut line = String::new();
        for (k, v) in &pairs {
            if !line.is_empty() {
                line.push(' ');
            }
            write_pair(&mut line, k, v).unwrap();
        }
        line.push_str(" raw=");
        escape::write_bytes(&mut line, &raw).unwrap();
        prop_assert!(!line.contains('\n') && !line.contains('\r'));
        let parsed = parse(&line).unwrap();
        let mut expected: Vec<(String, Vec<u8>)> =
            pairs.into_iter().map(|(k, v)| (k, v.into_bytes())).collect();
        expected.push(("raw".into(), raw));
        prop_assert_eq!(parsed.pairs, expected);
    }

    /// The same through a real subscriber: every line an event makes,
    /// whatever its values, parses back to the same key/values.
    #[test]
    fn events_round_trip(
        s in any::<String>(),
        raw in proptest::collection::vec(any::<u8>(), 0..16),
        n in any::<i64>(),
    ) {
        let lines = capture(Logfmt::new(), || {
            let span = tracing::info_span!("rpc", ctx = s.as_str());
            let _g = span.enter();
            tracing::info!(s = s.as_str(), raw = &raw[..], n, d = ?s, "{s}");
        });
        prop_assert_eq!(lines.len(), 1);
        let line = parse(&lines[0]).unwrap();
        prop_assert_eq!(
            line.keys().collect::<Vec<_>>(),
            ["ts", "level", "target", "caller", "ctx", "msg", "s", "raw", "n", "d"]
        );
        prop_assert_eq!(line.get("ctx"), Some(s.as_str()));
        prop_assert_eq!(line.get("msg"), Some(s.as_str()));
        prop_assert_eq!(line.get("s"), Some(s.as_str()));
        prop_assert_eq!(line.get_bytes("raw"), Some(&raw[..]));
        let n_text = n.to_string();
        prop_assert_eq!(line.get("n"), Some(n_text.as_str()));
        let debug = format!("{s:?}");
        prop_assert_eq!(line.get("d"), Some(debug.as_str()));
    }
}

#[test]
fn caller_paths_needing_quotes_are_quoted() {
    let mut s = String::new();
    let mut w = visit::FieldWriter::new(&mut s);
    w.pair_caller("my dir/a.rs", 3).unwrap();
    w.pair_caller("src/a.rs", 4).unwrap();
    w.pair_caller("", 5).unwrap();
    assert_eq!(s, r#"caller="my dir/a.rs:3" caller=src/a.rs:4 caller=:5"#);
    let line = parse(&s).unwrap();
    assert_eq!(line.get("caller"), Some("my dir/a.rs:3"));
}
