//! Walking a JSON value that [`first_value`](super::scan::first_value) has
//! already checked, with Go's string and type-error rules.

use std::borrow::Cow;

use super::scan::is_space;

/// The kind of a JSON value, named as Go's type errors name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Object,
    Array,
    String,
    Number,
    Bool,
    Null,
}

impl Kind {
    pub(crate) fn go_name(self) -> &'static str {
        match self {
            Kind::Object => "object",
            Kind::Array => "array",
            Kind::String => "string",
            Kind::Number => "number",
            Kind::Bool => "bool",
            Kind::Null => "null",
        }
    }
}

/// A cursor over syntactically valid JSON. Every method assumes the syntax
/// is valid and never panics when it is not; it just returns short results.
pub(crate) struct Reader<'a> {
    input: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(input: &'a [u8]) -> Reader<'a> {
        Reader { input, pos: 0 }
    }

    fn skip_space(&mut self) {
        while self.input.get(self.pos).is_some_and(|&c| is_space(c)) {
            self.pos += 1;
        }
    }

    /// The kind of the next value.
    pub(crate) fn peek(&mut self) -> Kind {
        self.skip_space();
        match self.input.get(self.pos) {
            Some(b'{') => Kind::Object,
            Some(b'[') => Kind::Array,
            Some(b'"') => Kind::String,
            Some(b't' | b'f') => Kind::Bool,
            Some(b'n') => Kind::Null,
            _ => Kind::Number,
        }
    }

    /// Enters `[` or `{`.
    pub(crate) fn open(&mut self) {
        self.skip_space();
        self.pos += 1;
    }

    /// Whether the container has another element: consumes the `,` before
    /// it, or the closing bracket after the last one.
    pub(crate) fn has_next(&mut self, first: bool) -> bool {
        self.skip_space();
        match self.input.get(self.pos) {
            Some(b']' | b'}') | None => {
                self.pos += 1;
                false
            }
            Some(b',') if !first => {
                self.pos += 1;
                true
            }
            _ => true,
        }
    }

    /// An object key and the `:` after it.
    pub(crate) fn key(&mut self) -> Cow<'a, [u8]> {
        let k = self.string();
        self.skip_space();
        self.pos += 1;
        k
    }

    /// A string's contents, unescaped as Go does: bad UTF-8 and lone
    /// surrogates become U+FFFD, one per byte for bad UTF-8.
    pub(crate) fn string(&mut self) -> Cow<'a, [u8]> {
        self.skip_space();
        self.pos += 1;
        let start = self.pos;
        let mut end = start;
        let mut escaped = false;
        while let Some(&c) = self.input.get(end) {
            match c {
                b'\\' => {
                    escaped = true;
                    end += 2;
                }
                b'"' => break,
                _ => end += 1,
            }
        }
        let raw = self
            .input
            .get(start..end.min(self.input.len()))
            .unwrap_or_default();
        self.pos = end + 1;
        // The common case, plain ASCII, is the input itself: no copy.
        if !escaped && raw.is_ascii() {
            return Cow::Borrowed(raw);
        }
        Cow::Owned(unescape(raw))
    }

    /// A number's literal text.
    pub(crate) fn number(&mut self) -> &'a str {
        self.skip_space();
        let start = self.pos;
        while self
            .input
            .get(self.pos)
            .is_some_and(|&c| matches!(c, b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9'))
        {
            self.pos += 1;
        }
        std::str::from_utf8(&self.input[start..self.pos]).unwrap_or_default()
    }

    /// Skips one value of any kind, without recursion.
    pub(crate) fn skip(&mut self) {
        self.skip_space();
        let mut depth = 0usize;
        loop {
            let before = self.pos;
            match self.peek() {
                Kind::String => {
                    self.string();
                }
                Kind::Object | Kind::Array => {
                    self.pos += 1;
                    depth += 1;
                }
                Kind::Bool | Kind::Null => {
                    while self
                        .input
                        .get(self.pos)
                        .is_some_and(u8::is_ascii_alphabetic)
                    {
                        self.pos += 1;
                    }
                }
                Kind::Number => {
                    self.number();
                }
            }
            // After a value: punctuation until the next value starts.
            loop {
                self.skip_space();
                match self.input.get(self.pos) {
                    Some(b',' | b':') if depth > 0 => self.pos += 1,
                    Some(b']' | b'}') if depth > 0 => {
                        self.pos += 1;
                        depth -= 1;
                        continue;
                    }
                    _ => {}
                }
                break;
            }
            // Valid input always moves on; this guards against invalid.
            if depth == 0 || self.pos == before {
                return;
            }
        }
    }
}

fn hex4(s: &[u8]) -> Option<u32> {
    let text = std::str::from_utf8(s.get(..4)?).ok()?;
    u32::from_str_radix(text, 16).ok()
}

/// Go's `unquoteBytes` on a string body (without the quotes).
fn unescape(raw: &[u8]) -> Vec<u8> {
    let mut out = String::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'\\' => {
                let e = raw.get(i + 1).copied().unwrap_or(b'\\');
                i += 2;
                let c = match e {
                    b'b' => '\u{8}',
                    b'f' => '\u{c}',
                    b'n' => '\n',
                    b'r' => '\r',
                    b't' => '\t',
                    b'u' => {
                        let hi = hex4(&raw[i.min(raw.len())..]).unwrap_or(0xfffd);
                        i += 4;
                        let pair = (0xd800..0xdc00).contains(&hi)
                            && raw.get(i..i + 2) == Some(b"\\u")
                            && hex4(&raw[(i + 2).min(raw.len())..])
                                .is_some_and(|lo| (0xdc00..0xe000).contains(&lo));
                        if pair {
                            let lo = hex4(&raw[i + 2..]).unwrap_or(0xdc00);
                            i += 6;
                            char::from_u32(0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00))
                                .unwrap_or('\u{fffd}')
                        } else {
                            char::from_u32(hi).unwrap_or('\u{fffd}')
                        }
                    }
                    other => char::from(other),
                };
                out.push(c);
            }
            _ => {
                let rest = &raw[i..];
                let next = rest.iter().position(|&c| c == b'\\').unwrap_or(rest.len());
                push_lossy_go(&mut out, &rest[..next]);
                i += next;
            }
        }
    }
    out.into_bytes()
}

/// Appends `bytes` as UTF-8, with one U+FFFD per byte that does not start a
/// valid sequence, as Go's `utf8.DecodeRune` loop does.
pub(crate) fn push_lossy_go(out: &mut String, bytes: &[u8]) {
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        for _ in chunk.invalid() {
            out.push('\u{fffd}');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn string(json: &str) -> Vec<u8> {
        Reader::new(json.as_bytes()).string().into_owned()
    }

    #[test]
    fn strings_unescape_like_go() {
        assert_eq!(string(r#""abc""#), b"abc");
        assert_eq!(string(r#""\u0059\u0051==""#), b"YQ==");
        assert_eq!(string(r#""a\"b\\c\/d\n""#), b"a\"b\\c/d\n");
        assert_eq!(string(r#""\ud83d\ude00""#), "😀".as_bytes());
        assert_eq!(string(r#""\ud83dx""#), "\u{fffd}x".as_bytes());
        assert_eq!(string(r#""\ude00\ud83d""#), "\u{fffd}\u{fffd}".as_bytes());
        assert_eq!(
            Reader::new(b"\"\xf0\x9f\x98a\"").string(),
            "\u{fffd}\u{fffd}\u{fffd}a".as_bytes()
        );
        assert_eq!(
            Reader::new(b"\"\xff\\n\"").string(),
            "\u{fffd}\n".as_bytes()
        );
    }

    #[test]
    fn skips_nested_values() {
        let mut r = Reader::new(br#"[{"a":[1,{"b":"]}"}],"c":null}, true] , 5"#);
        r.skip();
        assert_eq!(r.peek(), Kind::Number);
        let mut r = Reader::new(br#"[[], {}, "x", -1.5e3, false]"#);
        r.open();
        let mut kinds = Vec::new();
        let mut first = true;
        while r.has_next(first) {
            first = false;
            kinds.push(r.peek());
            r.skip();
        }
        assert_eq!(
            kinds,
            [
                Kind::Array,
                Kind::Object,
                Kind::String,
                Kind::Number,
                Kind::Bool
            ]
        );
    }
}
