//! Request bodies: Roshi's insert/delete tuples and select keys, decoded
//! exactly as roshi-server's Go `encoding/json` decoding does.

use bytes::Bytes;

use super::base64go::{self, Alphabet};
use super::reader::{Kind, Reader};
use super::scan::first_value;
use super::{DecodeError, Limits};
use crate::crdt::{Event, Score};

const TUPLES: &str = "[]common.KeyScoreMember";
const TUPLE: &str = "common.jsonKeyScoreMember";

fn type_error(what: &str, into: &str) -> DecodeError {
    DecodeError::Json(format!(
        "json: cannot unmarshal {what} into Go value of type {into}"
    ))
}

fn field_error(what: &str, field: &str, ty: &str) -> DecodeError {
    DecodeError::Json(format!(
        "json: cannot unmarshal {what} into Go struct field jsonKeyScoreMember.{field} of type {ty}"
    ))
}

/// Decodes an insert or delete body: a JSON array of
/// `{"key":"<base64>","score":<number>,"member":"<base64>"}`.
///
/// As roshi-server: field names match case-insensitively, unknown fields
/// are ignored, a missing or `null` key or member is empty, a missing score
/// is 0, `null` is an empty list, an empty body is `EOF`, only the first
/// JSON value is read, and one bad element rejects the whole body with Go's
/// message. Unlike roshi-server, a score that is not finite is rejected
/// (JSON cannot carry NaN or infinities; `1e400` is out of range), and the
/// body is bounded by `limits`.
///
/// ```
/// use stream::wire::{Limits, decode_events};
///
/// let events = decode_events(br#"[{"key":"Zm9v","score":1.5,"member":"YmFy"}]"#, &Limits::default())?;
/// assert_eq!((&events[0].key[..], events[0].score.get(), &events[0].member[..]), (&b"foo"[..], 1.5, &b"bar"[..]));
/// let err = decode_events(b"", &Limits::default()).unwrap_err();
/// assert_eq!(err.to_string(), "EOF");
/// # Ok::<(), stream::wire::DecodeError>(())
/// ```
pub fn decode_events(body: &[u8], limits: &Limits) -> Result<Vec<Event>, DecodeError> {
    let end = first_value(body).map_err(|e| DecodeError::Json(e.message()))?;
    let mut r = Reader::new(&body[..end]);
    match r.peek() {
        Kind::Null => return Ok(Vec::new()),
        Kind::Array => {}
        other => return Err(type_error(other.go_name(), TUPLES)),
    }
    r.open();
    let mut events = Vec::new();
    let mut first = true;
    while r.has_next(first) {
        first = false;
        if events.len() == limits.max_events {
            return Err(DecodeError::TooLarge(format!(
                "too many events in one request (the limit is {})",
                limits.max_events
            )));
        }
        events.push(tuple(&mut r, limits)?);
    }
    Ok(events)
}

/// One element of the tuple array.
fn tuple(r: &mut Reader<'_>, limits: &Limits) -> Result<Event, DecodeError> {
    let (mut key, mut score, mut member) = (Vec::new(), 0.0f64, Vec::new());
    match r.peek() {
        Kind::Null => r.skip(),
        Kind::Object => {
            r.open();
            let mut first = true;
            while r.has_next(first) {
                first = false;
                let name = r.key();
                match field(&name) {
                    Field::Key => bytes_field(r, "key", &mut key, limits.max_key_bytes)?,
                    Field::Member => {
                        bytes_field(r, "member", &mut member, limits.max_member_bytes)?
                    }
                    Field::Score => score_field(r, &mut score)?,
                    Field::Other => r.skip(),
                }
            }
        }
        other => return Err(type_error(other.go_name(), TUPLE)),
    }
    let score = Score::new(score).map_err(|_| field_error("number", "score", "float64"))?;
    Ok(Event {
        key: Bytes::from(key),
        score,
        member: Bytes::from(member),
    })
}

/// The fields of a tuple.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    Key,
    Score,
    Member,
    Other,
}

/// Which field a name is, matched as Go matches it: ASCII names (all of
/// them, in practice) case-insensitively in place, others through
/// [`fold`].
fn field(name: &[u8]) -> Field {
    if name.is_ascii() {
        return if name.eq_ignore_ascii_case(b"key") {
            Field::Key
        } else if name.eq_ignore_ascii_case(b"score") {
            Field::Score
        } else if name.eq_ignore_ascii_case(b"member") {
            Field::Member
        } else {
            Field::Other
        };
    }
    match fold(name).as_deref() {
        Some("key") => Field::Key,
        Some("score") => Field::Score,
        Some("member") => Field::Member,
        _ => Field::Other,
    }
}

/// Go's case folding of field names: ASCII case, plus the two non-ASCII
/// letters that fold to ASCII ones in `key`, `score` and `member`
/// (U+017F long s, U+212A Kelvin sign).
fn fold(name: &[u8]) -> Option<String> {
    let name = std::str::from_utf8(name).ok()?;
    Some(
        name.chars()
            .map(|c| match c {
                '\u{17f}' => 's',
                '\u{212a}' => 'k',
                c => c.to_ascii_lowercase(),
            })
            .collect(),
    )
}

fn score_field(r: &mut Reader<'_>, score: &mut f64) -> Result<(), DecodeError> {
    match r.peek() {
        Kind::Number => {
            let text = r.number();
            match text.parse::<f64>() {
                Ok(v) if v.is_finite() => *score = v,
                _ => return Err(field_error(&format!("number {text}"), "score", "float64")),
            }
        }
        Kind::Null => r.skip(),
        other => return Err(field_error(other.go_name(), "score", "float64")),
    }
    Ok(())
}

/// A `[]byte` field: base64 text, `null`, or an array of numbers 0..=255.
fn bytes_field(
    r: &mut Reader<'_>,
    field: &str,
    out: &mut Vec<u8>,
    max: usize,
) -> Result<(), DecodeError> {
    let value = bytes_value(r, max, &|what, ty| field_error(what, field, ty))?;
    if let Some(v) = value {
        *out = v;
    }
    Ok(())
}

/// Decodes a Go `[]byte` value; `None` for `null` (no change). `err`
/// builds the type error for a value of the wrong kind and Go type name.
fn bytes_value(
    r: &mut Reader<'_>,
    max: usize,
    err: &dyn Fn(&str, &str) -> DecodeError,
) -> Result<Option<Vec<u8>>, DecodeError> {
    let bytes = match r.peek() {
        Kind::Null => {
            r.skip();
            Vec::new()
        }
        Kind::String => {
            let text = r.string();
            base64go::decode(Alphabet::Std, &text).map_err(|e| DecodeError::Json(e.to_string()))?
        }
        Kind::Array => {
            r.open();
            let mut bytes = Vec::new();
            let mut first = true;
            while r.has_next(first) {
                first = false;
                match r.peek() {
                    Kind::Number => {
                        let text = r.number();
                        let b = text
                            .parse::<u8>()
                            .map_err(|_| err(&format!("number {text}"), "uint8"))?;
                        bytes.push(b);
                    }
                    Kind::Null => {
                        r.skip();
                        bytes.push(0);
                    }
                    other => return Err(err(other.go_name(), "uint8")),
                }
                if bytes.len() > max {
                    break;
                }
            }
            bytes
        }
        other => return Err(err(other.go_name(), "[]uint8")),
    };
    if bytes.len() > max {
        return Err(DecodeError::TooLarge(format!(
            "a key or member of more than {max} bytes"
        )));
    }
    Ok(Some(bytes))
}

/// Decodes a select body: a JSON array of base64 keys, as roshi-server
/// decodes it into `[][]byte` (`null` is no keys; a `null` key is empty).
/// Duplicate keys are kept; the caller collapses them.
///
/// ```
/// use stream::wire::{Limits, decode_keys};
///
/// let keys = decode_keys(br#"["Zm9v", null]"#, &Limits::default())?;
/// assert_eq!(keys, vec![&b"foo"[..], &b""[..]]);
/// # Ok::<(), stream::wire::DecodeError>(())
/// ```
pub fn decode_keys(body: &[u8], limits: &Limits) -> Result<Vec<Bytes>, DecodeError> {
    let end = first_value(body).map_err(|e| DecodeError::Json(e.message()))?;
    let mut r = Reader::new(&body[..end]);
    match r.peek() {
        Kind::Null => return Ok(Vec::new()),
        Kind::Array => {}
        other => return Err(type_error(other.go_name(), "[][]uint8")),
    }
    r.open();
    let mut keys = Vec::new();
    let mut first = true;
    while r.has_next(first) {
        first = false;
        if keys.len() == limits.max_keys {
            return Err(DecodeError::TooLarge(format!(
                "too many keys in one select (the limit is {})",
                limits.max_keys
            )));
        }
        let key = bytes_value(&mut r, limits.max_key_bytes, &|what, ty| {
            type_error(what, ty)
        })?;
        keys.push(Bytes::from(key.unwrap_or_default()));
    }
    Ok(keys)
}
