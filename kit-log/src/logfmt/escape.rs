//! Writing keys and values so that every line parses back.
//!
//! The rules follow go-logfmt, which Go kit uses, and tighten them:
//! - A key is written as it is, except that a space, `=`, `"`, `\` or any
//!   control character becomes `_`, and an empty key becomes `_`; keys come
//!   from tracing's static field names, so this only ever touches odd ones.
//! - A value is written bare when it is non-empty and holds none of: a space,
//!   `=`, `"`, `\`, a control character (C0, DEL, C1), U+2028, U+2029 or
//!   U+FEFF. Otherwise it is quoted, with `\"`, `\\`, `\n`, `\r`, `\t`, and
//!   `\uXXXX` for the other characters in that list, so a line is always one
//!   line and a terminal never sees a raw escape sequence.
//! - Bytes that are not UTF-8 are written as `\xNN` inside quotes: lossless,
//!   unlike U+FFFD, and never confused with text (a literal `\` is `\\`).

use std::fmt::{self, Write};

/// Whether `c` must be escaped inside a quoted value (and so forces quotes).
pub(crate) fn is_special(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}')
}

/// Whether `c` forces a value into quotes.
pub(crate) fn needs_quotes(c: char) -> bool {
    matches!(c, ' ' | '=' | '"' | '\\') || is_special(c)
}

/// Writes a key, replacing what a key may not hold with `_`.
pub(crate) fn write_key(out: &mut impl Write, key: &str) -> fmt::Result {
    if key.is_empty() {
        return out.write_char('_');
    }
    if !key.chars().any(needs_quotes) {
        return out.write_str(key);
    }
    for c in key.chars() {
        out.write_char(if needs_quotes(c) { '_' } else { c })?;
    }
    Ok(())
}

/// Writes a text value, quoting and escaping it when needed.
pub(crate) fn write_str(out: &mut impl Write, value: &str) -> fmt::Result {
    if !value.is_empty() && !value.chars().any(needs_quotes) {
        return out.write_str(value);
    }
    out.write_char('"')?;
    write_escaped(out, value)?;
    out.write_char('"')
}

/// Writes a byte-string value: as text when it is UTF-8, otherwise quoted
/// with each invalid byte as `\xNN`.
pub(crate) fn write_bytes(out: &mut impl Write, value: &[u8]) -> fmt::Result {
    if let Ok(text) = std::str::from_utf8(value) {
        return write_str(out, text);
    }
    out.write_char('"')?;
    for chunk in value.utf8_chunks() {
        write_escaped(out, chunk.valid())?;
        for byte in chunk.invalid() {
            write!(out, "\\x{byte:02x}")?;
        }
    }
    out.write_char('"')
}

/// Writes the inside of a quoted value.
fn write_escaped(out: &mut impl Write, value: &str) -> fmt::Result {
    let mut rest = value;
    while let Some(at) = rest.find(|c: char| matches!(c, '"' | '\\') || is_special(c)) {
        out.write_str(&rest[..at])?;
        let c = rest[at..].chars().next().unwrap_or('\0');
        match c {
            '"' => out.write_str("\\\"")?,
            '\\' => out.write_str("\\\\")?,
            '\n' => out.write_str("\\n")?,
            '\r' => out.write_str("\\r")?,
            '\t' => out.write_str("\\t")?,
            other => write!(out, "\\u{:04x}", u32::from(other))?,
        }
        rest = &rest[at + c.len_utf8()..];
    }
    out.write_str(rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(v: &str) -> String {
        let mut s = String::new();
        write_str(&mut s, v).unwrap();
        s
    }

    fn bytes(v: &[u8]) -> String {
        let mut s = String::new();
        write_bytes(&mut s, v).unwrap();
        s
    }

    fn key(k: &str) -> String {
        let mut s = String::new();
        write_key(&mut s, k).unwrap();
        s
    }

    #[test]
    fn plain_values_stay_bare() {
        assert_eq!(value("Sum"), "Sum");
        assert_eq!(value("1.5ms"), "1.5ms");
        assert_eq!(value("héllo"), "héllo");
        assert_eq!(value("a,b:c/d"), "a,b:c/d");
    }

    #[test]
    fn hostile_values_are_quoted_and_escaped() {
        assert_eq!(value(""), r#""""#);
        assert_eq!(value("a b"), r#""a b""#);
        assert_eq!(value("k=v"), r#""k=v""#);
        assert_eq!(value(r#"say "hi""#), r#""say \"hi\"""#);
        assert_eq!(value(r"C:\dir"), r#""C:\\dir""#);
        assert_eq!(value("two\nlines\r\t"), r#""two\nlines\r\t""#);
        assert_eq!(value("\u{1b}[31mred"), r#""\u001b[31mred""#);
        assert_eq!(value("\u{7f}\u{85}"), r#""\u007f\u0085""#);
        assert_eq!(value("a\u{2028}b"), r#""a\u2028b""#);
        assert_eq!(value("\0"), r#""\u0000""#);
    }

    #[test]
    fn invalid_utf8_is_shown_as_hex_bytes() {
        assert_eq!(bytes(b"ok"), "ok");
        assert_eq!(bytes(b"\xff\xfe"), r#""\xff\xfe""#);
        assert_eq!(bytes(b"a \xc3("), r#""a \xc3(""#);
        assert_eq!(bytes(b"\\\x80"), r#""\\\x80""#);
        assert_eq!(bytes(b""), r#""""#);
    }

    #[test]
    fn odd_keys_are_made_safe() {
        assert_eq!(key("method"), "method");
        assert_eq!(key("http.status"), "http.status");
        assert_eq!(key(""), "_");
        assert_eq!(key("a b=c\"d\\e\nf"), "a_b_c_d_e_f");
    }
}
