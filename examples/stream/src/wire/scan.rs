//! A JSON syntax check that fails the way Go's `encoding/json` decoder does.
//!
//! `json.NewDecoder(body).Decode(&v)` first reads one whole JSON value and
//! checks its syntax, and only then unmarshals it. So a syntax error
//! anywhere wins over a type error earlier in the value, an empty body is
//! `EOF`, a cut-off one `unexpected EOF`, and bytes after the first value are
//! never looked at. [`first_value`] does that check, iteratively (no
//! recursion, so deep nesting cannot overflow the stack; Go's own limit of
//! 10000 levels applies), and returns where the first value ends.

/// Go's nesting limit (`maxNestingDepth` in encoding/json's scanner).
const MAX_DEPTH: usize = 10_000;

/// A syntax failure with Go's message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ScanError {
    /// No value at all: Go's `io.EOF`.
    Eof,
    /// The value was cut off: Go's `io.ErrUnexpectedEOF`.
    UnexpectedEof,
    /// A `*json.SyntaxError`'s message.
    Syntax(String),
}

impl ScanError {
    pub(crate) fn message(&self) -> String {
        match self {
            ScanError::Eof => "EOF".into(),
            ScanError::UnexpectedEof => "unexpected EOF".into(),
            ScanError::Syntax(m) => m.clone(),
        }
    }
}

fn invalid(c: u8, context: &str) -> ScanError {
    ScanError::Syntax(format!("invalid character {} {context}", quote_char(c)))
}

/// Go's `quoteChar`: the byte as a rune in single quotes, escaped as
/// `strconv.Quote` escapes it.
pub(crate) fn quote_char(c: u8) -> String {
    match c {
        b'\'' => r"'\''".into(),
        b'"' => "'\"'".into(),
        b'\\' => r"'\\'".into(),
        0x07 => r"'\a'".into(),
        0x08 => r"'\b'".into(),
        0x0c => r"'\f'".into(),
        b'\n' => r"'\n'".into(),
        b'\r' => r"'\r'".into(),
        b'\t' => r"'\t'".into(),
        0x0b => r"'\v'".into(),
        0x00..0x20 | 0x7f => format!(r"'\x{c:02x}'"),
        0x80..0xa1 | 0xad => format!(r"'\u{c:04x}'"),
        _ => format!("'{}'", char::from(c)),
    }
}

pub(crate) fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

/// What the scanner expects after a value ends.
#[derive(Clone, Copy, PartialEq)]
enum Frame {
    Array,
    /// Inside an object, about to read a value (after `:`).
    ObjectValue,
}

/// Checks the syntax of the first JSON value in `input`; returns the offset
/// just past it.
pub(crate) fn first_value(input: &[u8]) -> Result<usize, ScanError> {
    let mut stack: Vec<Frame> = Vec::new();
    let mut i = skip_space(input, 0);
    if i == input.len() {
        return Err(ScanError::Eof);
    }
    // Each turn reads one value (opening containers as it goes), then the
    // punctuation after it.
    'value: loop {
        let c = *input.get(i).ok_or(ScanError::UnexpectedEof)?;
        match c {
            b'{' | b'[' => {
                if stack.len() >= MAX_DEPTH {
                    return Err(invalid(c, "exceeded max depth"));
                }
                i = skip_space(input, i + 1);
                let next = *input.get(i).ok_or(ScanError::UnexpectedEof)?;
                if c == b'[' {
                    stack.push(Frame::Array);
                    if next == b']' {
                        i += 1;
                    } else {
                        continue 'value;
                    }
                } else {
                    stack.push(Frame::ObjectValue);
                    match next {
                        b'}' => i += 1,
                        b'"' => {
                            i = object_key(input, i)?;
                            continue 'value;
                        }
                        _ => {
                            return Err(invalid(
                                next,
                                "looking for beginning of object key string",
                            ));
                        }
                    }
                }
                stack.pop();
            }
            b'"' => i = string(input, i)?,
            b'-' | b'0'..=b'9' => {
                i = number(input, i)?;
                if stack.is_empty() {
                    return Ok(i);
                }
            }
            b't' => i = literal(input, i, b"true")?,
            b'f' => i = literal(input, i, b"false")?,
            b'n' => i = literal(input, i, b"null")?,
            _ => return Err(invalid(c, "looking for beginning of value")),
        }
        // After a value: close containers or move to the next element.
        loop {
            let Some(frame) = stack.last().copied() else {
                return Ok(i);
            };
            i = skip_space(input, i);
            let c = *input.get(i).ok_or(ScanError::UnexpectedEof)?;
            match (frame, c) {
                (Frame::Array, b',') => {
                    i = skip_space(input, i + 1);
                    continue 'value;
                }
                (Frame::ObjectValue, b',') => {
                    i = skip_space(input, i + 1);
                    let c = *input.get(i).ok_or(ScanError::UnexpectedEof)?;
                    if c != b'"' {
                        return Err(invalid(c, "looking for beginning of object key string"));
                    }
                    i = object_key(input, i)?;
                    continue 'value;
                }
                (Frame::Array, b']') | (Frame::ObjectValue, b'}') => {
                    stack.pop();
                    i += 1;
                }
                (Frame::Array, _) => return Err(invalid(c, "after array element")),
                (Frame::ObjectValue, _) => {
                    return Err(invalid(c, "after object key:value pair"));
                }
            }
        }
    }
}

fn skip_space(input: &[u8], mut i: usize) -> usize {
    while input.get(i).is_some_and(|&c| is_space(c)) {
        i += 1;
    }
    i
}

/// A key string at `i`, the `:` after it and the space before the value.
fn object_key(input: &[u8], i: usize) -> Result<usize, ScanError> {
    let i = skip_space(input, string(input, i)?);
    let c = *input.get(i).ok_or(ScanError::UnexpectedEof)?;
    if c != b':' {
        return Err(invalid(c, "after object key"));
    }
    Ok(skip_space(input, i + 1))
}

/// A string starting at the `"` at `i`; returns the offset past its close.
fn string(input: &[u8], mut i: usize) -> Result<usize, ScanError> {
    i += 1;
    loop {
        let c = *input.get(i).ok_or(ScanError::UnexpectedEof)?;
        i += 1;
        match c {
            b'"' => return Ok(i),
            b'\\' => {
                let e = *input.get(i).ok_or(ScanError::UnexpectedEof)?;
                i += 1;
                match e {
                    b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => {}
                    b'u' => {
                        for _ in 0..4 {
                            let h = *input.get(i).ok_or(ScanError::UnexpectedEof)?;
                            if !h.is_ascii_hexdigit() {
                                return Err(invalid(h, r"in \u hexadecimal character escape"));
                            }
                            i += 1;
                        }
                    }
                    _ => return Err(invalid(e, "in string escape code")),
                }
            }
            0x00..0x20 => return Err(invalid(c, "in string literal")),
            _ => {}
        }
    }
}

/// A number at `i`; returns the offset past it. At the end of the input a
/// complete number ends there (Go feeds the scanner a final space).
fn number(input: &[u8], mut i: usize) -> Result<usize, ScanError> {
    let digits = |input: &[u8], mut i: usize| {
        while input.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        i
    };
    if input[i] == b'-' {
        i += 1;
        let c = *input.get(i).ok_or(ScanError::UnexpectedEof)?;
        if !c.is_ascii_digit() {
            return Err(invalid(c, "in numeric literal"));
        }
    }
    i = if input[i] == b'0' {
        i + 1
    } else {
        digits(input, i)
    };
    if input.get(i) == Some(&b'.') {
        i += 1;
        let c = *input.get(i).ok_or(ScanError::UnexpectedEof)?;
        if !c.is_ascii_digit() {
            return Err(invalid(c, "after decimal point in numeric literal"));
        }
        i = digits(input, i);
    }
    if matches!(input.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(input.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let c = *input.get(i).ok_or(ScanError::UnexpectedEof)?;
        if !c.is_ascii_digit() {
            return Err(invalid(c, "in exponent of numeric literal"));
        }
        i = digits(input, i);
    }
    Ok(i)
}

fn literal(input: &[u8], i: usize, word: &'static [u8]) -> Result<usize, ScanError> {
    let name = std::str::from_utf8(word).unwrap_or_default();
    for (k, &want) in word.iter().enumerate().skip(1) {
        let c = *input.get(i + k).ok_or(ScanError::UnexpectedEof)?;
        if c != want {
            let context = format!("in literal {name} (expecting {})", quote_char(want));
            return Err(invalid(c, &context));
        }
    }
    Ok(i + word.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(s: &str) -> String {
        first_value(s.as_bytes()).unwrap_err().message()
    }

    #[test]
    fn ends_of_values() {
        assert_eq!(first_value(b" [1, {\"a\": [true]}] trailing"), Ok(19));
        assert_eq!(first_value(b"12"), Ok(2));
        assert_eq!(first_value(b"12x"), Ok(2));
        assert_eq!(first_value(b"nullx"), Ok(4));
        assert_eq!(first_value(b"\"a\\u00e9\" ["), Ok(9));
        assert_eq!(first_value(b"[]]"), Ok(2));
        assert_eq!(first_value(b"{}"), Ok(2));
    }

    #[test]
    fn go_messages() {
        assert_eq!(err(""), "EOF");
        assert_eq!(err(" \n\t"), "EOF");
        for cut in [
            "[",
            "[{\"key\"",
            "-",
            "tru",
            "\"abc",
            "[1,",
            "{\"a\":",
            "1.",
            "1e",
        ] {
            assert_eq!(err(cut), "unexpected EOF", "{cut}");
        }
        assert_eq!(
            err("x"),
            "invalid character 'x' looking for beginning of value"
        );
        assert_eq!(
            err("[1,]"),
            "invalid character ']' looking for beginning of value"
        );
        assert_eq!(err("[1 2]"), "invalid character '2' after array element");
        assert_eq!(err("[01]"), "invalid character '1' after array element");
        assert_eq!(
            err("{1}"),
            "invalid character '1' looking for beginning of object key string"
        );
        assert_eq!(err("{\"a\" 1}"), "invalid character '1' after object key");
        assert_eq!(
            err("{\"a\":1 2}"),
            "invalid character '2' after object key:value pair"
        );
        assert_eq!(
            err("{\"a\":1,}"),
            "invalid character '}' looking for beginning of object key string"
        );
        assert_eq!(err("[-a]"), "invalid character 'a' in numeric literal");
        assert_eq!(
            err("[1.e]"),
            "invalid character 'e' after decimal point in numeric literal"
        );
        assert_eq!(
            err("[1e+]"),
            "invalid character ']' in exponent of numeric literal"
        );
        assert_eq!(
            err("[trux]"),
            "invalid character 'x' in literal true (expecting 'e')"
        );
        assert_eq!(
            err("[nul]"),
            "invalid character ']' in literal null (expecting 'l')"
        );
        assert_eq!(err("\"a\nb\""), r"invalid character '\n' in string literal");
        assert_eq!(
            err(r#""\x""#),
            "invalid character 'x' in string escape code"
        );
        assert_eq!(
            err(r#""\u12g4""#),
            r"invalid character 'g' in \u hexadecimal character escape"
        );
        assert_eq!(
            err("\u{feff}[]"),
            "invalid character 'ï' looking for beginning of value"
        );
        assert_eq!(
            err("'a'"),
            r"invalid character '\'' looking for beginning of value"
        );
        assert_eq!(
            err("<"),
            "invalid character '<' looking for beginning of value"
        );
        assert_eq!(
            err("\u{1}"),
            r"invalid character '\x01' looking for beginning of value"
        );
    }

    #[test]
    fn depth_is_bounded_without_recursion() {
        let deep = "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH);
        assert_eq!(first_value(deep.as_bytes()), Ok(deep.len()));
        let deeper = "[".repeat(MAX_DEPTH + 1);
        assert_eq!(err(&deeper), "invalid character '[' exceeded max depth");
        let huge = "[".repeat(1_000_000);
        assert_eq!(err(&huge), "invalid character '[' exceeded max depth");
    }
}
