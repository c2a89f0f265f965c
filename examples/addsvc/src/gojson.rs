//! JSON the way Go's `encoding/json` reads and writes it, for byte-level
//! compatibility with Go kit's addsvc.
//!
//! Reading: object keys match field names case-insensitively (Go kit's Go
//! client sends `{"A":1,"B":2}`), unknown keys are ignored, `null` leaves a
//! field at its zero value, a later duplicate key wins, and only the first
//! JSON value in the body is read (Go's `json.Decoder.Decode`). Writing:
//! Go's `json.Encoder` output, with `<`, `>`, `&`, U+2028 and U+2029
//! escaped and a trailing newline.
//!
//! serde_json does the parsing; this module only adds Go's matching rules,
//! with a small visitor instead of a map so that decoding allocates nothing
//! for integer requests.

use std::fmt::{self, Write as _};
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{self, DeserializeOwned, IgnoredAny, MapAccess, Visitor};

/// Two fields named `a` and `b` (any case), as in Go kit's request structs;
/// or one field `v`, with `B` unused, for responses.
#[derive(Debug, Default, PartialEq)]
pub struct Fields<A, B> {
    /// The value of `a` (or `v`).
    pub a: A,
    /// The value of `b`.
    pub b: B,
}

struct FieldsVisitor<A, B> {
    names: (&'static str, &'static str),
    _types: PhantomData<(A, B)>,
}

impl<'de, A, B> Visitor<'de> for FieldsVisitor<A, B>
where
    A: Deserialize<'de> + Default,
    B: Deserialize<'de> + Default,
{
    type Value = Fields<A, B>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    // Go decodes `null` into a struct as a no-op.
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Fields::default())
    }

    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
        let mut out = Fields::<A, B>::default();
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if key.eq_ignore_ascii_case(self.names.0) {
                if let Some(v) = map.next_value::<Option<A>>()? {
                    out.a = v;
                }
            } else if key.eq_ignore_ascii_case(self.names.1) {
                if let Some(v) = map.next_value::<Option<B>>()? {
                    out.b = v;
                }
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(out)
    }
}

/// Reads the first JSON value of `body` as an object with the two named
/// fields, by Go's rules. An empty body is the error `EOF`, as in Go.
pub fn decode_fields<A, B>(
    body: &[u8],
    names: (&'static str, &'static str),
) -> Result<Fields<A, B>, String>
where
    A: DeserializeOwned + Default,
    B: DeserializeOwned + Default,
{
    let mut de = serde_json::Deserializer::from_slice(body);
    let visitor = FieldsVisitor::<A, B> {
        names,
        _types: PhantomData,
    };
    match de::Deserializer::deserialize_any(&mut de, visitor) {
        Ok(fields) => Ok(fields),
        Err(e) if e.is_eof() && body.iter().all(u8::is_ascii_whitespace) => Err("EOF".to_owned()),
        Err(e) => Err(e.to_string()),
    }
}

/// Writes `s` as a JSON string the way Go's `json.Encoder` does (HTML-safe).
pub fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    type Ints = Fields<i64, i64>;

    fn ints(body: &str) -> Result<Ints, String> {
        decode_fields(body.as_bytes(), ("a", "b"))
    }

    #[test]
    fn go_matching_rules() {
        assert_eq!(ints(r#"{"a":1,"b":2}"#), Ok(Fields { a: 1, b: 2 }));
        assert_eq!(ints("{\"A\":1,\"B\":2}\n"), Ok(Fields { a: 1, b: 2 }));
        assert_eq!(
            ints(r#"{"a":1,"c":[1,{"x":null}],"b":2}"#),
            Ok(Fields { a: 1, b: 2 })
        );
        assert_eq!(ints(r#"{"a":1,"a":5}"#), Ok(Fields { a: 5, b: 0 }));
        assert_eq!(ints(r#"{"a":1,"a":null}"#), Ok(Fields { a: 1, b: 0 }));
        assert_eq!(ints("null"), Ok(Fields { a: 0, b: 0 }));
        assert_eq!(ints("{}"), Ok(Fields { a: 0, b: 0 }));
        assert_eq!(
            ints(r#"{"a":1,"b":2} trailing garbage"#),
            Ok(Fields { a: 1, b: 2 })
        );
    }

    #[test]
    fn garbage_is_an_error() {
        assert_eq!(ints(""), Err("EOF".into()));
        assert_eq!(ints("  \n"), Err("EOF".into()));
        for body in [
            "{",
            "[1,2]",
            "3",
            "\"x\"",
            r#"{"a":"1"}"#,
            r#"{"a":1.5}"#,
            r#"{"a":1e2}"#,
            r#"{"a":99999999999999999999}"#,
            "{\"a\":1,}",
            "\u{feff}{}",
        ] {
            assert!(ints(body).is_err(), "{body:?}");
        }
        let strings = decode_fields::<String, String>(br#"{"a":1}"#, ("a", "b"));
        assert!(strings.is_err());
    }

    #[test]
    fn strings_encode_like_go() {
        let mut out = String::new();
        write_string(&mut out, "a\"b\\<>&\n\u{1}\u{2028}é");
        assert_eq!(out, r#""a\"b\\\u003c\u003e\u0026\n\u0001\u2028é""#);
    }

    proptest! {
        #[test]
        fn any_bytes_decode_without_panic(body in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode_fields::<i64, i64>(&body, ("a", "b"));
            let _ = decode_fields::<String, String>(&body, ("a", "b"));
        }

        #[test]
        fn encoded_strings_parse_back(s in ".*") {
            let mut out = String::new();
            write_string(&mut out, &s);
            prop_assert_eq!(serde_json::from_str::<String>(&out).unwrap(), s);
        }
    }
}
