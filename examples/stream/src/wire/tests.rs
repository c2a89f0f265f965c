//! Body decoding against roshi-server's recorded behaviour, garbage, and
//! round trips.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use proptest::prelude::*;

use super::*;
use crate::crdt::Event;

type Tuple = (Vec<u8>, f64, Vec<u8>);

fn events(body: &str) -> Result<Vec<Tuple>, String> {
    decode_events(body.as_bytes(), &Limits::default())
        .map(|v| {
            v.into_iter()
                .map(|e| (e.key.to_vec(), e.score.get(), e.member.to_vec()))
                .collect()
        })
        .map_err(|e| e.to_string())
}

fn keys(body: &str) -> Result<Vec<Vec<u8>>, String> {
    decode_keys(body.as_bytes(), &Limits::default())
        .map(|v| v.into_iter().map(|k| k.to_vec()).collect())
        .map_err(|e| e.to_string())
}

fn t(k: &str, s: f64, m: &str) -> Tuple {
    (k.as_bytes().to_vec(), s, m.as_bytes().to_vec())
}

#[test]
fn recorded_messages() {
    assert_eq!(events("").unwrap_err(), "EOF");
    assert_eq!(events("[{\"key\"").unwrap_err(), "unexpected EOF");
    assert_eq!(
        events(r#"[{"key":"!!!!"}]"#).unwrap_err(),
        "illegal base64 data at input byte 0"
    );
    assert_eq!(
        keys("[1]").unwrap_err(),
        "json: cannot unmarshal number into Go value of type []uint8"
    );
    assert_eq!(
        events("{}").unwrap_err(),
        "json: cannot unmarshal object into Go value of type []common.KeyScoreMember"
    );
    assert_eq!(
        events(r#"[{"score":"1"}]"#).unwrap_err(),
        "json: cannot unmarshal string into Go struct field jsonKeyScoreMember.score of type float64"
    );
    assert_eq!(
        events(r#"[{"score":1e400}]"#).unwrap_err(),
        "json: cannot unmarshal number 1e400 into Go struct field jsonKeyScoreMember.score of type float64"
    );
}

#[test]
fn go_decoding_rules() {
    // case-insensitive names, unknown fields, missing fields
    assert_eq!(
        events(r#"[{"KEY":"Zm9v","Score":1.5,"mEmBeR":"YmFy","extra":[1,{"x":null}]}]"#),
        Ok(vec![t("foo", 1.5, "bar")])
    );
    assert_eq!(
        events(r#"[{"ſcore":2,"\u212aey":"YQ=="}]"#),
        Ok(vec![t("a", 2.0, "")])
    );
    assert_eq!(
        events(r#"[{}, null, {"key":null,"member":null,"score":null}]"#),
        Ok(vec![t("", 0.0, ""); 3])
    );
    assert_eq!(events("null"), Ok(vec![]));
    assert_eq!(events(" [] trailing garbage {"), Ok(vec![]));
    assert_eq!(
        events(r#"[{"key":"YQ==","key":"Yg=="}]"#),
        Ok(vec![t("b", 0.0, "")])
    );
    assert_eq!(
        events(r#"[{"key":[102,111,111]}]"#),
        Ok(vec![t("foo", 0.0, "")])
    );
    assert_eq!(
        events(r#"[{"key":"Zm9v\n","member":"\u0059\u0051=="}]"#),
        Ok(vec![t("foo", 0.0, "a")])
    );
    assert_eq!(events(r#"[{"score":-0}]"#).unwrap()[0].1.to_bits(), 0);
    // one bad element rejects the batch, and syntax errors win over type errors
    assert_eq!(
        events(r#"[{"key":"YQ=="},{"key":1}]"#).unwrap_err(),
        "json: cannot unmarshal number into Go struct field jsonKeyScoreMember.key of type []uint8"
    );
    assert_eq!(
        events(r#"[{"key":1}, x]"#).unwrap_err(),
        "invalid character 'x' looking for beginning of value"
    );
    assert_eq!(
        events(r#"["a"]"#).unwrap_err(),
        "json: cannot unmarshal string into Go value of type common.jsonKeyScoreMember"
    );
    assert_eq!(
        events("[[]]").unwrap_err(),
        "json: cannot unmarshal array into Go value of type common.jsonKeyScoreMember"
    );
    assert_eq!(
        events("true").unwrap_err(),
        "json: cannot unmarshal bool into Go value of type []common.KeyScoreMember"
    );
    assert_eq!(
        events("12 x").unwrap_err(),
        "json: cannot unmarshal number into Go value of type []common.KeyScoreMember"
    );
    assert_eq!(
        events(r#"[{"key":[256]}]"#).unwrap_err(),
        "json: cannot unmarshal number 256 into Go struct field jsonKeyScoreMember.key of type uint8"
    );
    assert_eq!(
        events(r#"[{"member":{}}]"#).unwrap_err(),
        "json: cannot unmarshal object into Go struct field jsonKeyScoreMember.member of type []uint8"
    );
    assert_eq!(
        events(r#"[{"score":true}]"#).unwrap_err(),
        "json: cannot unmarshal bool into Go struct field jsonKeyScoreMember.score of type float64"
    );
    assert_eq!(
        events(r#"[{"score":-1e309}]"#).unwrap_err(),
        "json: cannot unmarshal number -1e309 into Go struct field jsonKeyScoreMember.score of type float64"
    );
    assert_eq!(events(r#"[{"score":1e-400}]"#), Ok(vec![t("", 0.0, "")]));
}

#[test]
fn select_keys() {
    assert_eq!(
        keys(r#"["Zm9v","YmFy",null,[1,2]]"#),
        Ok(vec![b"foo".to_vec(), b"bar".to_vec(), vec![], vec![1, 2]])
    );
    assert_eq!(keys("null"), Ok(vec![]));
    assert_eq!(keys("").unwrap_err(), "EOF");
    assert_eq!(
        keys("{}").unwrap_err(),
        "json: cannot unmarshal object into Go value of type [][]uint8"
    );
    assert_eq!(
        keys(r#"["a"]"#).unwrap_err(),
        "illegal base64 data at input byte 0"
    );
    assert_eq!(
        keys(r#"[["x"]]"#).unwrap_err(),
        "json: cannot unmarshal string into Go value of type uint8"
    );
}

#[test]
fn limits_are_enforced() {
    let limits = Limits {
        max_events: 2,
        max_keys: 1,
        max_key_bytes: 3,
        max_member_bytes: 1,
        ..Limits::default()
    };
    let e = |b: &str| {
        decode_events(b.as_bytes(), &limits)
            .map(|v| v.len())
            .map_err(|e| e.to_string())
    };
    assert_eq!(e("[{},{}]"), Ok(2));
    assert!(e("[{},{},{}]").unwrap_err().contains("too many events"));
    assert!(
        e(r#"[{"key":"YWJjZA=="}]"#)
            .unwrap_err()
            .contains("more than 3 bytes")
    );
    assert!(
        e(r#"[{"member":[1,2,3,4,5,6,7,8,9]}]"#)
            .unwrap_err()
            .contains("more than 1 bytes")
    );
    assert!(
        decode_keys(br#"["YQ==","Yg=="]"#, &limits)
            .unwrap_err()
            .to_string()
            .contains("too many keys")
    );
    let err: kit_endpoint::Error = decode_events(b"", &limits).unwrap_err().into();
    assert_eq!(err.code(), kit_endpoint::Code::InvalidArgument);
}

/// Writes events as a client might: random field-name case, whitespace,
/// unknown fields, field order.
fn to_json(events: &[Event], upper: bool, spaced: bool) -> String {
    let sp = if spaced { " \n" } else { "" };
    let parts: Vec<String> = events
        .iter()
        .map(|e| {
            let k = if upper { "KEY" } else { "key" };
            format!(
                "{{{sp}\"member\":{sp}\"{}\",\"x\":[{{}}],\"{k}\":\"{}\",{sp}\"score\":{}{sp}}}",
                STANDARD.encode(&e.member),
                STANDARD.encode(&e.key),
                go_float(e.score.get())
            )
        })
        .collect();
    format!("{sp}[{}]{sp}", parts.join(&format!(",{sp}")))
}

fn event() -> impl Strategy<Value = Event> {
    (
        prop::collection::vec(any::<u8>(), 0..12),
        any::<f64>().prop_filter("finite", |f| f.is_finite()),
        prop::collection::vec(any::<u8>(), 0..12),
    )
        .prop_map(|(k, s, m)| Event {
            key: k.into(),
            score: crate::crdt::Score::new(s).unwrap_or(crate::crdt::Score::ZERO),
            member: m.into(),
        })
}

proptest! {
    #[test]
    fn events_round_trip(evs in prop::collection::vec(event(), 0..8), upper: bool, spaced: bool) {
        let json = to_json(&evs, upper, spaced);
        prop_assert_eq!(decode_events(json.as_bytes(), &Limits::default()).unwrap(), evs);
    }

    #[test]
    fn keys_round_trip(ks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..12), 0..8)) {
        let json = format!("[{}]", ks.iter().map(|k| format!("\"{}\"", STANDARD.encode(k))).collect::<Vec<_>>().join(","));
        let got: Vec<Vec<u8>> = decode_keys(json.as_bytes(), &Limits::default()).unwrap().into_iter().map(|k| k.to_vec()).collect();
        prop_assert_eq!(got, ks);
    }

    /// The same functions the fuzz targets call, on random bytes.
    #[test]
    fn garbage_bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..128)) {
        let limits = Limits::default();
        let _ = decode_events(&data, &limits);
        let _ = decode_keys(&data, &limits);
        let _ = parse_cursor(&data);
        let _ = parse_select_query(&String::from_utf8_lossy(&data), &limits);
    }

    /// Garbage that looks like JSON, to get past the syntax check.
    #[test]
    fn json_like_garbage_never_panics(s in r#"[\[\]{}",:0-9a-zA-Z=+/\\. \-]{0,64}"#) {
        let limits = Limits::default();
        let _ = decode_events(s.as_bytes(), &limits);
        let _ = decode_keys(s.as_bytes(), &limits);
        let _ = decode_events(format!("[{{{s}").as_bytes(), &limits);
    }

    #[test]
    fn mutated_valid_bodies_never_panic(evs in prop::collection::vec(event(), 1..4), at in any::<prop::sample::Index>(), byte: u8) {
        let mut json = to_json(&evs, false, false).into_bytes();
        let i = at.index(json.len());
        json[i] = byte;
        let _ = decode_events(&json, &Limits::default());
        json.truncate(i);
        let err = decode_events(&json, &Limits::default());
        prop_assert!(err.is_err() || json.is_empty() || i > 0);
    }
}

proptest! {
    /// Go's float format reads back as the same number, and uses exponent
    /// form exactly outside [1e-6, 1e21).
    #[test]
    fn go_floats_round_trip(v in any::<f64>().prop_filter("finite", |v| v.is_finite())) {
        let text = go_float(v);
        prop_assert_eq!(text.parse::<f64>().unwrap(), v);
        let fixed = v == 0.0 || (1e-6..1e21).contains(&v.abs());
        prop_assert_eq!(!text.contains('e'), fixed, "{}", text);
        prop_assert!(!text.ends_with(".0") && !text.contains("e0") && !text.contains("e-0"));
    }

    /// Whole numbers (timestamps) take integer formatting, which must write
    /// exactly what the float formatting writes, up to and past 2^53.
    #[test]
    fn whole_floats_format_as_float_formatting_does(
        n in -(1i64 << 54)..(1i64 << 54),
        scale in prop::sample::select(vec![1.0, 1e3, 1e6, 0.5]),
    ) {
        let v = n as f64 * scale;
        prop_assume!(v != 0.0 && v.abs() < 1e21);
        prop_assert_eq!(go_float(v), format!("{v}"));
    }

    /// A coalesced response's records are an insert body: decoding them
    /// gives the events back.
    #[test]
    fn coalesced_records_decode_as_an_insert_body(evs in prop::collection::vec(event(), 0..8), ns in any::<u64>()) {
        let body = encode_coalesced(&evs, std::time::Duration::from_nanos(ns));
        let closed = body.ends_with("]}\n");
        prop_assert!(closed);
        let start = body.find("\"records\":").unwrap() + "\"records\":".len();
        let records = &body[start..body.len() - 2];
        prop_assert_eq!(decode_events(records.as_bytes(), &Limits::default()).unwrap(), evs);
    }
}
