//! Reading a logfmt line back into key/value pairs.
//!
//! The parser accepts what [`Logfmt`](super::Logfmt) writes and the common
//! logfmt of other tools: `key=value` pairs separated by spaces, values bare
//! or quoted, with the escapes described in the [module docs](super). It is
//! strict about the rest, so a test that parses a line also checks that the
//! line is well formed: a key without `=`, an unterminated quote, an unknown
//! escape, text glued to a closing quote, or a character the writer would
//! have replaced or escaped (a `\` or control character in a key or a bare
//! value, a raw control character inside quotes) is an error, never a guess.
//!
//! Parsing is linear in the line's length and never panics.

use std::fmt;

use super::escape::{is_special, needs_quotes};

/// One parsed line: its key/value pairs in order. Keys may repeat (a span
/// field and an event field may share a name); lookups return the first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Line {
    /// The pairs, in the order they appear. Values are bytes, since a value
    /// may hold `\xNN` escapes of bytes that are not UTF-8.
    pub pairs: Vec<(String, Vec<u8>)>,
}

impl Line {
    /// The first value of `key`, when it is UTF-8.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.get_bytes(key)
            .and_then(|v| std::str::from_utf8(v).ok())
    }

    /// The first value of `key`, as bytes.
    pub fn get_bytes(&self, key: &str) -> Option<&[u8]> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_slice())
    }

    /// The keys, in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.pairs.iter().map(|(k, _)| k.as_str())
    }
}

/// Why a line is not well-formed logfmt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// Byte offset in the line where the problem was found.
    pub at: usize,
    /// What was wrong there.
    pub reason: &'static str,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bad logfmt at byte {}: {}", self.at, self.reason)
    }
}

impl std::error::Error for ParseError {}

/// Parses one line (a trailing `\n` or `\r\n` is allowed).
///
/// ```
/// let line = kit_log::logfmt::parse(r#"method=Sum took=1.5ms err="can't sum \"0\"""#).unwrap();
/// assert_eq!(line.get("method"), Some("Sum"));
/// assert_eq!(line.get("err"), Some(r#"can't sum "0""#));
/// assert!(kit_log::logfmt::parse("novalue").is_err());
/// ```
pub fn parse(line: &str) -> Result<Line, ParseError> {
    let line = line.strip_suffix('\n').unwrap_or(line);
    let line = line.strip_suffix('\r').unwrap_or(line);
    let bytes = line.as_bytes();
    let mut pos = 0;
    let mut out = Line::default();
    loop {
        while bytes.get(pos) == Some(&b' ') {
            pos += 1;
        }
        if pos == bytes.len() {
            return Ok(out);
        }
        let start = pos;
        let key = token(line, pos, |c| matches!(c, '=' | ' ' | '"'));
        pos += key.len();
        if key.is_empty() || bytes.get(pos) != Some(&b'=') {
            return Err(err(pos, "expected key=value"));
        }
        if let Some(at) = key.find(needs_quotes) {
            return Err(err(start + at, "key holds a character keys may not hold"));
        }
        pos += 1;
        let value = if bytes.get(pos) == Some(&b'"') {
            let (value, end) = quoted(line, pos + 1)?;
            if end < bytes.len() && bytes[end] != b' ' {
                return Err(err(end, "text after a closing quote"));
            }
            pos = end;
            value
        } else {
            let value = token(line, pos, |c| c == ' ');
            if let Some(at) = value.find(needs_quotes) {
                return Err(err(
                    pos + at,
                    "unquoted value holds a character that needs quotes",
                ));
            }
            pos += value.len();
            value.as_bytes().to_vec()
        };
        out.pairs.push((key.to_owned(), value));
    }
}

fn err(at: usize, reason: &'static str) -> ParseError {
    ParseError { at, reason }
}

/// The text of `line` from `pos` up to the first character `end` accepts
/// (or the end of the line). `pos` is always on a character boundary: the
/// parser only steps over whole characters and ASCII.
fn token(line: &str, pos: usize, end: impl Fn(char) -> bool) -> &str {
    let rest = line.get(pos..).unwrap_or_default();
    &rest[..rest.find(end).unwrap_or(rest.len())]
}

/// Reads a quoted value starting after its opening quote; returns the value
/// and the position after the closing quote. A character the writer always
/// escapes (a control character, U+2028, U+2029, U+FEFF) may not appear raw.
fn quoted(line: &str, mut pos: usize) -> Result<(Vec<u8>, usize), ParseError> {
    let bytes = line.as_bytes();
    let mut value = Vec::new();
    loop {
        match bytes.get(pos) {
            None => return Err(err(pos, "unterminated quoted value")),
            Some(b'"') => return Ok((value, pos + 1)),
            Some(b'\\') => {
                let (decoded, used) = escape(bytes, pos)?;
                value.extend_from_slice(&decoded);
                pos += used;
            }
            Some(_) => {
                let raw = token(line, pos, |c| matches!(c, '"' | '\\') || is_special(c));
                if raw.is_empty() {
                    return Err(err(
                        pos,
                        "quoted value holds a raw character that must be escaped",
                    ));
                }
                value.extend_from_slice(raw.as_bytes());
                pos += raw.len();
            }
        }
    }
}

/// Decodes the escape at `bytes[pos]` (a backslash); returns its bytes and
/// how many input bytes it used.
fn escape(bytes: &[u8], pos: usize) -> Result<(Vec<u8>, usize), ParseError> {
    let simple = |b: u8| Ok((vec![b], 2));
    match bytes.get(pos + 1) {
        Some(b'"') => simple(b'"'),
        Some(b'\\') => simple(b'\\'),
        Some(b'n') => simple(b'\n'),
        Some(b'r') => simple(b'\r'),
        Some(b't') => simple(b'\t'),
        Some(b'x') => {
            let n = hex(bytes, pos + 2, 2).ok_or_else(|| err(pos, "bad \\x escape"))?;
            Ok((vec![n as u8], 4))
        }
        Some(b'u') => {
            let n = hex(bytes, pos + 2, 4).ok_or_else(|| err(pos, "bad \\u escape"))?;
            let c = char::from_u32(n).ok_or_else(|| err(pos, "\\u escape is not a character"))?;
            let mut buf = [0; 4];
            Ok((c.encode_utf8(&mut buf).as_bytes().to_vec(), 6))
        }
        _ => Err(err(pos, "unknown escape")),
    }
}

/// `len` hex digits at `bytes[at..]`.
fn hex(bytes: &[u8], at: usize, len: usize) -> Option<u32> {
    let digits = std::str::from_utf8(bytes.get(at..at + len)?).ok()?;
    if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(digits, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reads_go_kit_lines() {
        let line = parse(
            "ts=2026-11-21T21:05:31.497385659Z caller=middleware.go:28 method=Sum a=1 b=2 v=3 err=null\n",
        )
        .unwrap();
        assert_eq!(
            line.keys().collect::<Vec<_>>(),
            ["ts", "caller", "method", "a", "b", "v", "err"]
        );
        assert_eq!(line.get("caller"), Some("middleware.go:28"));
        assert_eq!(line.get("err"), Some("null"));
    }

    #[test]
    fn decodes_every_escape() {
        let line = parse(r#"a="q\"b\\n\nr\rt\tu\u001bx\xff" e="""#).unwrap();
        assert_eq!(line.get_bytes("a"), Some(&b"q\"b\\n\nr\rt\tu\x1bx\xff"[..]));
        assert_eq!(line.get("a"), None, "not UTF-8");
        assert_eq!(line.get("e"), Some(""));
        assert_eq!(line.get("missing"), None);
    }

    #[test]
    fn garbage_is_an_error() {
        for bad in [
            "key",
            "=value",
            "a=1 b",
            r#"a="open"#,
            r#"a="x"y"#,
            r#"a=x"y"#,
            "a=b=c",
            r#"a="\q""#,
            r#"a="\x4""#,
            r#"a="\xzz""#,
            r#"a="\ud800""#,
            r#"a="\u12""#,
            r#"a="\"#,
            r#""k"=v"#,
            // what the writer never leaves raw (found by the fuzz target)
            "\0\u{2}=",
            "k\\=v",
            "k\u{1b}=v",
            "a=b\tc",
            "a=b\\c",
            "a=x\u{85}",
            "a=\"raw\u{1b}[31m\"",
            "a=\"line\u{2028}sep\"",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} parsed");
        }
        assert_eq!(parse("").unwrap(), Line::default());
        assert_eq!(parse("   ").unwrap(), Line::default());
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC*") {
            let _ = parse(&s);
        }

        #[test]
        fn never_panics_on_near_logfmt(s in r#"[a-z=" \\xu0-9f]{0,40}"#) {
            let _ = parse(&s);
        }
    }
}
