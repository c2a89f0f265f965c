//! Responses, byte for byte as roshi-server's Go `json.Encoder` writes them.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;

use crate::crdt::{Entry, Event};

/// `{"duration":"…","inserted":N}\n`.
///
/// ```
/// use std::time::Duration;
/// use stream::wire::encode_inserted;
///
/// let body = encode_inserted(2, Duration::from_micros(523_020) / 1000);
/// assert_eq!(body, "{\"duration\":\"523.02µs\",\"inserted\":2}\n");
/// ```
pub fn encode_inserted(n: usize, took: Duration) -> String {
    format!(
        "{{\"duration\":\"{}\",\"inserted\":{n}}}\n",
        go_duration(took)
    )
}

/// `{"deleted":N,"duration":"…"}\n`.
pub fn encode_deleted(n: usize, took: Duration) -> String {
    format!(
        "{{\"deleted\":{n},\"duration\":\"{}\"}}\n",
        go_duration(took)
    )
}

/// `{"duration":"…","records":{"<key>":[…],…}}\n`: one list per key,
/// the JSON keys being the raw key bytes as Go encodes a `map[string]`:
/// sorted bytewise, HTML-escaped, invalid UTF-8 as U+FFFD. Duplicate keys
/// in `per_key` are written once, with the first list.
pub fn encode_selected(per_key: &[(Bytes, Vec<Entry>)], took: Duration) -> String {
    let mut sorted: Vec<&(Bytes, Vec<Entry>)> = per_key.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    sorted.dedup_by(|a, b| a.0 == b.0);
    let mut out = format!("{{\"duration\":\"{}\",\"records\":{{", go_duration(took));
    for (i, (key, entries)) in sorted.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        go_string(&mut out, key);
        out.push_str(":[");
        let key64 = STANDARD.encode(key);
        for (j, e) in entries.iter().enumerate() {
            if j > 0 {
                out.push(',');
            }
            element(&mut out, &key64, e.score.get(), &e.member);
        }
        out.push(']');
    }
    out.push_str("}}\n");
    out
}

/// `{"duration":"…","records":[…]}\n`: a coalesced select.
pub fn encode_coalesced(events: &[Event], took: Duration) -> String {
    let mut out = format!("{{\"duration\":\"{}\",\"records\":[", go_duration(took));
    for (i, e) in events.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        element(&mut out, &STANDARD.encode(&e.key), e.score.get(), &e.member);
    }
    out.push_str("]}\n");
    out
}

/// `{"code":N,"description":"<status text>","error":"<message>"}\n`.
///
/// ```
/// use stream::wire::encode_error;
///
/// assert_eq!(
///     encode_error(400, "cannot specify both offset and start/stop"),
///     "{\"code\":400,\"description\":\"Bad Request\",\"error\":\"cannot specify both offset and start/stop\"}\n",
/// );
/// ```
pub fn encode_error(status: u16, message: &str) -> String {
    let mut out = format!("{{\"code\":{status},\"description\":");
    go_string(&mut out, status_text(status).as_bytes());
    out.push_str(",\"error\":");
    go_string(&mut out, message.as_bytes());
    out.push_str("}\n");
    out
}

/// Go's `http.StatusText` for the statuses a stream server answers with
/// (`""` for others, as Go).
pub fn status_text(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        412 => "Precondition Failed",
        413 => "Request Entity Too Large",
        429 => "Too Many Requests",
        499 => "",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "",
    }
}

fn element(out: &mut String, key64: &str, score: f64, member: &[u8]) {
    out.push_str("{\"key\":\"");
    out.push_str(key64);
    out.push_str("\",\"score\":");
    write_go_float(out, score);
    out.push_str(",\"member\":\"");
    STANDARD.encode_string(member, out);
    out.push_str("\"}");
}

/// A float64 as Go's `encoding/json` writes it: the shortest form that
/// round-trips, fixed notation for `1e-6 <= |x| < 1e21`, otherwise exponent
/// form with a sign and at least one digit (`1e+21`, `1e-7`).
///
/// ```
/// use stream::wire::go_float;
///
/// assert_eq!(go_float(1e21), "1e+21");
/// assert_eq!(go_float(123456789012345680.0), "123456789012345680");
/// assert_eq!(go_float(1e-7), "1e-7");
/// assert_eq!(go_float(-5.0), "-5");
/// ```
pub fn go_float(v: f64) -> String {
    let mut out = String::new();
    write_go_float(&mut out, v);
    out
}

/// 2^53: every whole number below it is an `f64` exactly.
pub(crate) const MAX_EXACT: f64 = 9_007_199_254_740_992.0;

/// [`go_float`], appended to `out` without an intermediate string in the
/// common case (scores are normally timestamps, in fixed notation).
pub fn write_go_float(out: &mut String, v: f64) {
    use std::fmt::Write as _;
    let abs = v.abs();
    // Whole numbers below 2^53 (timestamps): every such number is exactly
    // representable and so are its neighbours, so its shortest round-trip
    // form is all its digits, and integer formatting is several times
    // cheaper than float formatting. Zero keeps its sign below.
    if v.fract() == 0.0 && abs < MAX_EXACT && abs != 0.0 {
        let _ = write!(out, "{}", v as i64);
        return;
    }
    if abs == 0.0 || (1e-6..1e21).contains(&abs) {
        // Rust's Display is the shortest round-trip form, never exponential.
        let _ = write!(out, "{v}");
        return;
    }
    // `{:e}` is the shortest round-trip mantissa with a bare exponent: "1.5e-7".
    let text = format!("{v:e}");
    match text.split_once('e') {
        Some((mantissa, exp)) if exp.starts_with('-') => {
            let _ = write!(out, "{mantissa}e{exp}");
        }
        Some((mantissa, exp)) => {
            let _ = write!(out, "{mantissa}e+{exp}");
        }
        None => out.push_str(&text),
    }
}

/// Go's `time.Duration.String()`: `523.02µs`, `1.5ms`, `2m3.5s`, `0s`.
///
/// ```
/// use std::time::Duration;
/// use stream::wire::go_duration;
///
/// assert_eq!(go_duration(Duration::from_nanos(1_500_000)), "1.5ms");
/// assert_eq!(go_duration(Duration::from_secs(3723)), "1h2m3s");
/// ```
pub fn go_duration(d: Duration) -> String {
    // Go's Duration is an i64 of nanoseconds.
    let ns = u64::try_from(d.as_nanos())
        .unwrap_or(u64::MAX)
        .min(i64::MAX as u64);
    if ns == 0 {
        return "0s".into();
    }
    if ns < 1_000 {
        return format!("{ns}ns");
    }
    if ns < 1_000_000 {
        return format!("{}µs", frac(ns, 3));
    }
    if ns < 1_000_000_000 {
        return format!("{}ms", frac(ns, 6));
    }
    let secs = ns / 1_000_000_000;
    let s = format!("{}s", frac(ns % 60_000_000_000, 9));
    let (mins, hours) = (secs / 60 % 60, secs / 3600);
    match (hours, mins) {
        (0, 0) => s,
        (0, m) => format!("{m}m{s}"),
        (h, m) => format!("{h}h{m}m{s}"),
    }
}

/// `v / 10^prec` with the fraction's trailing zeros (and a bare point) dropped.
fn frac(v: u64, prec: u32) -> String {
    let unit = 10u64.pow(prec);
    let (int, fraction) = (v / unit, v % unit);
    if fraction == 0 {
        return int.to_string();
    }
    let digits = format!("{fraction:0width$}", width = prec as usize);
    format!("{int}.{}", digits.trim_end_matches('0'))
}

/// Appends `bytes` as a JSON string the way Go's encoder does with HTML
/// escaping on: `<`, `>`, `&`, U+2028 and U+2029 as `\u` escapes, control
/// characters as `\n`, `\r`, `\t`, `\b`, `\f` or `\u00XX`, and each byte that
/// is not valid UTF-8 as `\ufffd`.
pub fn go_string(out: &mut String, bytes: &[u8]) {
    out.push('"');
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\u{8}' => out.push_str("\\b"),
                '\u{c}' => out.push_str("\\f"),
                '<' | '>' | '&' | '\u{0}'..='\u{1f}' | '\u{2028}' | '\u{2029}' => {
                    out.push_str(&format!("\\u{:04x}", c as u32));
                }
                c => out.push(c),
            }
        }
        for _ in chunk.invalid() {
            out.push_str("\\ufffd");
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crdt::Score;

    #[test]
    fn floats_like_go() {
        let cases = [
            (1e21, "1e+21"),
            (1e20, "100000000000000000000"),
            (123456789012345680.0, "123456789012345680"),
            (0.000001, "0.000001"),
            (1e-7, "1e-7"),
            (f64::MAX, "1.7976931348623157e+308"),
            (1.5, "1.5"),
            (0.0, "0"),
            (-5.0, "-5"),
            (1.05, "1.05"),
            (1.99, "1.99"),
            (-1.5e-10, "-1.5e-10"),
            (5e-324, "5e-324"),
            (1.234e100, "1.234e+100"),
            (0.1 + 0.2, "0.30000000000000004"),
        ];
        for (v, want) in cases {
            assert_eq!(go_float(v), want, "{v:e}");
        }
    }

    #[test]
    fn durations_like_go() {
        let d = Duration::from_nanos;
        let cases = [
            (d(0), "0s"),
            (d(1), "1ns"),
            (d(999), "999ns"),
            (d(1000), "1µs"),
            (d(523_020), "523.02µs"),
            (d(1_500_000), "1.5ms"),
            (d(1_000_000_000), "1s"),
            (d(61_500_000_000), "1m1.5s"),
            (d(3_600_000_000_000), "1h0m0s"),
            (d(3_600_000_000_001), "1h0m0.000000001s"),
            (Duration::MAX, "2562047h47m16.854775807s"),
        ];
        for (v, want) in cases {
            assert_eq!(go_duration(v), want);
        }
    }

    #[test]
    fn strings_like_go() {
        let s = |b: &[u8]| {
            let mut out = String::new();
            go_string(&mut out, b);
            out
        };
        assert_eq!(s(b"foo"), r#""foo""#);
        assert_eq!(s(b"<a&b>"), r#""\u003ca\u0026b\u003e""#);
        assert_eq!(s(b"\"\\\n\x01\x7f"), "\"\\\"\\\\\\n\\u0001\x7f\"");
        assert_eq!(s(b"\xff\xfe"), r#""\ufffd\ufffd""#);
        assert_eq!(s(b"\xf0\x9f\x98"), r#""\ufffd\ufffd\ufffd""#);
        assert_eq!(s("é\u{2028}".as_bytes()), "\"é\\u2028\"");
    }

    #[test]
    fn responses() {
        let took = Duration::from_nanos(213_030);
        let e = |v: f64, m: &'static [u8]| Entry {
            score: Score::new(v).unwrap(),
            member: Bytes::from_static(m),
        };
        let per_key = vec![(
            Bytes::from_static(b"foo"),
            vec![e(1.99, b"baz"), e(1.05, b"bar")],
        )];
        assert_eq!(
            encode_selected(&per_key, took),
            "{\"duration\":\"213.03µs\",\"records\":{\"foo\":[{\"key\":\"Zm9v\",\"score\":1.99,\"member\":\"YmF6\"},{\"key\":\"Zm9v\",\"score\":1.05,\"member\":\"YmFy\"}]}}\n"
        );
        let two = vec![
            (Bytes::from_static(b"b"), vec![]),
            (Bytes::from_static(b"<"), vec![]),
            (Bytes::from_static(b"b"), vec![e(1.0, b"x")]),
        ];
        assert_eq!(
            encode_selected(&two, took),
            "{\"duration\":\"213.03µs\",\"records\":{\"\\u003c\":[],\"b\":[]}}\n"
        );
        assert_eq!(
            encode_selected(&[], took),
            "{\"duration\":\"213.03µs\",\"records\":{}}\n"
        );
        assert_eq!(
            encode_coalesced(&[], took),
            "{\"duration\":\"213.03µs\",\"records\":[]}\n"
        );
        assert_eq!(
            encode_deleted(1, took),
            "{\"deleted\":1,\"duration\":\"213.03µs\"}\n"
        );
        assert_eq!(
            encode_error(500, "no quorum (a; b)"),
            "{\"code\":500,\"description\":\"Internal Server Error\",\"error\":\"no quorum (a; b)\"}\n"
        );
        assert_eq!(
            encode_error(400, "invalid character '<' looking for beginning of value"),
            "{\"code\":400,\"description\":\"Bad Request\",\"error\":\"invalid character '\\u003c' looking for beginning of value\"}\n"
        );
    }
}
