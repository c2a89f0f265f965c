//! Roshi's cursor string: `<decimal u64 of the f64 bits>A<URL-safe padded base64 member>`.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE;

use super::DecodeError;
use super::base64go::{self, Alphabet};
use super::reader::push_lossy_go;
use crate::crdt::Cursor;

/// Formats a cursor as Roshi does.
///
/// ```
/// use stream::crdt::Cursor;
/// use stream::wire::{format_cursor, parse_cursor};
///
/// let c = Cursor::new(1.23, &b"abc"[..]).unwrap();
/// assert_eq!(format_cursor(&c), "4608218246714312622AYWJj");
/// assert_eq!(parse_cursor(b"4608218246714312622AYWJj")?, c);
/// # Ok::<(), stream::wire::DecodeError>(())
/// ```
pub fn format_cursor(cursor: &Cursor) -> String {
    format!(
        "{}A{}",
        cursor.score().to_bits(),
        URL_SAFE.encode(cursor.member())
    )
}

/// Parses a cursor as roshi-server does, with its error messages: it splits
/// at the first `A`, reads a decimal `u64` of bits and a padded URL-safe
/// base64 member (an empty member is valid). A NaN score is rejected
/// (Roshi accepts it and then matches nothing); `-0` becomes `0`.
pub fn parse_cursor(s: &[u8]) -> Result<Cursor, DecodeError> {
    let shown = || {
        let mut text = String::new();
        push_lossy_go(&mut text, s);
        text
    };
    let Some(at) = s.iter().position(|&c| c == b'A') else {
        return Err(DecodeError::Cursor(format!(
            "invalid cursor string ({})",
            shown()
        )));
    };
    let (digits, member) = (&s[..at], &s[at + 1..]);
    let bits = parse_uint(digits).map_err(|why| {
        let mut quoted = String::new();
        push_lossy_go(&mut quoted, digits);
        DecodeError::Cursor(format!(
            "invalid score in cursor string (strconv.ParseUint: parsing {}: {why})",
            go_quote(&quoted)
        ))
    })?;
    let member = base64go::decode_stream(Alphabet::Url, member)
        .map_err(|e| DecodeError::Cursor(format!("invalid member in cursor string ({e})")))?;
    Cursor::new(f64::from_bits(bits), member)
        .map_err(|_| DecodeError::Cursor("invalid score in cursor string (NaN)".into()))
}

/// Go's `strconv.ParseUint(s, 10, 64)`, with its two reasons.
fn parse_uint(digits: &[u8]) -> Result<u64, &'static str> {
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err("invalid syntax");
    }
    let mut v: u64 = 0;
    for &d in digits {
        v = v
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(d - b'0')))
            .ok_or("value out of range")?;
    }
    Ok(v)
}

/// Go's `strconv.Quote`, enough for error messages.
fn go_quote(s: &str) -> String {
    let mut out = String::from('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{fffd}' => out.push_str("\\ufffd"),
            c if c.is_control() => {
                let n = c as u32;
                if n < 0x80 {
                    out.push_str(&format!("\\x{n:02x}"));
                } else {
                    out.push_str(&format!("\\u{n:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn err(s: &str) -> String {
        parse_cursor(s.as_bytes()).unwrap_err().to_string()
    }

    #[test]
    fn roshi_examples() {
        let c = |v: f64, m: &[u8]| Cursor::new(v, m.to_vec()).unwrap();
        assert_eq!(format_cursor(&c(0.0, b"")), "0A");
        assert_eq!(
            format_cursor(&c(-1.0, b"\xff")),
            "13830554455654793216A_w=="
        );
        assert_eq!(
            parse_cursor(b"13830554455654793216A_w==").unwrap(),
            c(-1.0, b"\xff")
        );
        assert_eq!(parse_cursor(b"0A").unwrap(), c(0.0, b""));
        assert_eq!(
            parse_cursor(b"4631586299280831283AZ2FtbWE=").unwrap(),
            c(45.4, b"gamma")
        );
        // -0 is 0
        assert_eq!(
            parse_cursor(b"9223372036854775808A")
                .unwrap()
                .score()
                .to_bits(),
            0
        );
        // the member may contain an 'A': only the first one splits
        assert_eq!(parse_cursor(b"0AQUFB").unwrap(), c(0.0, b"AAA"));
    }

    #[test]
    fn garbage() {
        assert_eq!(err("12345"), "invalid cursor string (12345)");
        assert_eq!(err(""), "invalid cursor string ()");
        assert_eq!(
            err("xA"),
            r#"invalid score in cursor string (strconv.ParseUint: parsing "x": invalid syntax)"#
        );
        assert_eq!(
            err("A"),
            r#"invalid score in cursor string (strconv.ParseUint: parsing "": invalid syntax)"#
        );
        assert_eq!(
            err("-1A"),
            r#"invalid score in cursor string (strconv.ParseUint: parsing "-1": invalid syntax)"#
        );
        assert_eq!(
            err("18446744073709551616A"),
            r#"invalid score in cursor string (strconv.ParseUint: parsing "18446744073709551616": value out of range)"#
        );
        assert_eq!(
            err("0AYQ"),
            "invalid member in cursor string (unexpected EOF)"
        );
        assert_eq!(
            err("0AYWJ"),
            "invalid member in cursor string (unexpected EOF)"
        );
        assert_eq!(
            err("0A!!!!"),
            "invalid member in cursor string (illegal base64 data at input byte 0)"
        );
        assert_eq!(
            err("9221120237041090560A"),
            "invalid score in cursor string (NaN)"
        );
        assert!(parse_cursor(b"\xffA").is_err());
    }

    proptest! {
        #[test]
        fn round_trips(v in any::<f64>(), member in prop::collection::vec(any::<u8>(), 0..40)) {
            if let Ok(c) = Cursor::new(v, member) {
                prop_assert_eq!(parse_cursor(format_cursor(&c).as_bytes()).unwrap(), c);
            }
        }

        #[test]
        fn garbage_never_panics(s in prop::collection::vec(any::<u8>(), 0..60)) {
            let _ = parse_cursor(&s);
        }
    }
}
