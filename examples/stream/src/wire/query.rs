//! The select query string: Go's `url.ParseQuery` and roshi-server's
//! parameter rules.

use super::cursor::parse_cursor;
use super::{DecodeError, Limits};
use crate::crdt::{Query, Range};

/// A parsed select query string.
#[derive(Clone, Debug, PartialEq)]
pub struct SelectParams {
    /// The range and limit to read per key.
    pub query: Query,
    /// Whether to merge all keys into one list (`coalesce`).
    pub coalesce: bool,
}

/// Parses a select's raw query string (without the `?`) as roshi-server
/// does, with its defects fixed.
///
/// - `offset` (default 0) and `limit` (default 10) are integers; a value
///   that does not parse counts as given but keeps its default, as in Roshi.
/// - `coalesce` is Go's `ParseBool`: `1`, `t`, `T`, `TRUE`, `true`, `True`.
/// - `start` and `stop` are [cursors](super::parse_cursor); a parameter is
///   given when it is non-empty.
/// - `offset` together with `start` or `stop` is an error.
///
/// Differences from roshi-server, all on input it mishandles: a negative
/// `offset` or `limit` is an error (Roshi follows Redis's negative indices
/// or fails the key quietly); a missing `start` or `stop` is unbounded
/// (Roshi's defaults, `(MaxFloat64, "")` and `(0, "")`, hide negative scores
/// and `MaxFloat64`); a `limit` above `limits.max_limit` is an error; and
/// a malformed query string is a client error (Roshi answers 500).
///
/// ```
/// use stream::crdt::{Query, Range};
/// use stream::wire::{Limits, parse_select_query};
///
/// let p = parse_select_query("offset=2&limit=3&coalesce=t", &Limits::default())?;
/// assert_eq!(p.query, Query::offset(2, 3));
/// assert!(p.coalesce);
/// let err = parse_select_query("offset=0&start=0A", &Limits::default()).unwrap_err();
/// assert_eq!(err.to_string(), "cannot specify both offset and start/stop");
/// # Ok::<(), stream::wire::DecodeError>(())
/// ```
pub fn parse_select_query(raw: &str, limits: &Limits) -> Result<SelectParams, DecodeError> {
    let pairs = parse_query(raw)?;
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name.as_bytes())
            .map(|(_, v)| v.as_slice())
            .filter(|v| !v.is_empty())
    };
    let offset = get("offset").map(|v| parse_int(v).unwrap_or(0));
    let limit = get("limit").map_or(10, |v| parse_int(v).unwrap_or(10));
    let coalesce = get("coalesce").is_some_and(|v| parse_bool(v).unwrap_or(false));
    let (start, stop) = (get("start"), get("stop"));
    if offset.is_some() && (start.is_some() || stop.is_some()) {
        return Err(DecodeError::Query(
            "cannot specify both offset and start/stop".into(),
        ));
    }
    let limit = usize::try_from(limit)
        .map_err(|_| DecodeError::Query("negative limit is invalid".into()))?;
    if limit > limits.max_limit {
        return Err(DecodeError::Query(format!(
            "limit {limit} is above the maximum of {}",
            limits.max_limit
        )));
    }
    let range = if start.is_some() || stop.is_some() {
        Range::Cursor {
            start: start.map(parse_cursor).transpose()?,
            stop: stop.map(parse_cursor).transpose()?,
        }
    } else {
        let offset = usize::try_from(offset.unwrap_or(0))
            .map_err(|_| DecodeError::Query("negative offset is invalid".into()))?;
        Range::Offset(offset)
    };
    Ok(SelectParams {
        query: Query { range, limit },
        coalesce,
    })
}

/// Go's `strconv.ParseInt(s, 10, 64)`.
fn parse_int(v: &[u8]) -> Option<i64> {
    let s = std::str::from_utf8(v).ok()?;
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Go's `strconv.ParseBool`.
pub(crate) fn parse_bool(v: &[u8]) -> Option<bool> {
    match v {
        b"1" | b"t" | b"T" | b"TRUE" | b"true" | b"True" => Some(true),
        b"0" | b"f" | b"F" | b"FALSE" | b"false" | b"False" => Some(false),
        _ => None,
    }
}

/// Decoded `(name, value)` pairs of a query string, in order.
pub type QueryPairs = Vec<(Vec<u8>, Vec<u8>)>;

/// Go's `url.ParseQuery`: `&`-separated pairs, `;` refused, `+` is a space,
/// `%XX` escapes; every pair is kept in order. The first error wins, as in Go.
pub fn parse_query(raw: &str) -> Result<QueryPairs, DecodeError> {
    let mut pairs = Vec::new();
    let mut first_err = None;
    for part in raw.split('&') {
        if part.is_empty() {
            continue;
        }
        if part.contains(';') {
            first_err.get_or_insert_with(|| "invalid semicolon separator in query".to_string());
            continue;
        }
        let (k, v) = part.split_once('=').unwrap_or((part, ""));
        match (unescape(k), unescape(v)) {
            (Ok(k), Ok(v)) => pairs.push((k, v)),
            (Err(e), _) | (_, Err(e)) => {
                first_err.get_or_insert(e);
            }
        }
    }
    match first_err {
        Some(e) => Err(DecodeError::Query(e)),
        None => Ok(pairs),
    }
}

/// Go's `url.QueryUnescape`.
fn unescape(s: &str) -> Result<Vec<u8>, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hex = b
                    .get(i + 1..i + 3)
                    .filter(|h| h.iter().all(u8::is_ascii_hexdigit));
                let Some(hex) = hex else {
                    let bad = String::from_utf8_lossy(&b[i..(i + 3).min(b.len())]).into_owned();
                    return Err(format!("invalid URL escape {}", go_quote(&bad)));
                };
                let text = std::str::from_utf8(hex).unwrap_or("00");
                out.push(u8::from_str_radix(text, 16).unwrap_or(0));
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Ok(out)
}

/// Go's `strconv.Quote` for the short ASCII strings in escape errors.
fn go_quote(s: &str) -> String {
    let mut out = String::from('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
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
    use crate::crdt::Cursor;

    fn p(raw: &str) -> Result<SelectParams, String> {
        parse_select_query(raw, &Limits::default()).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_and_modes() {
        assert_eq!(p("").unwrap().query, Query::offset(0, 10));
        assert_eq!(p("offset=x&limit=y").unwrap().query, Query::offset(0, 10));
        assert_eq!(p("offset=%2B3&limit=2").unwrap().query, Query::offset(3, 2));
        // '+' is a space in a query, so this offset does not parse: the default.
        assert_eq!(p("offset=+3&limit=2").unwrap().query, Query::offset(0, 2));
        assert_eq!(p("start=&stop=").unwrap().query, Query::offset(0, 10));
        let q = p("start=4607182418800017408AYQ%3D%3D&limit=5")
            .unwrap()
            .query;
        let start = Cursor::new(1.0, &b"a"[..]).unwrap();
        assert_eq!(q, Query::cursor(Some(start), None, 5));
        assert_eq!(
            p("stop=0A").unwrap().query,
            Query::cursor(None, Some(Cursor::new(0.0, &b""[..]).unwrap()), 10)
        );
    }

    #[test]
    fn errors() {
        assert_eq!(
            p("offset=0&start=0A").unwrap_err(),
            "cannot specify both offset and start/stop"
        );
        assert_eq!(
            p("offset=x&stop=0A").unwrap_err(),
            "cannot specify both offset and start/stop"
        );
        assert_eq!(p("limit=-1").unwrap_err(), "negative limit is invalid");
        assert_eq!(p("offset=-2").unwrap_err(), "negative offset is invalid");
        assert_eq!(p("a=%zz").unwrap_err(), r#"invalid URL escape "%zz""#);
        assert_eq!(p("a=%z").unwrap_err(), r#"invalid URL escape "%z""#);
        assert_eq!(
            p("a=1;b=2").unwrap_err(),
            "invalid semicolon separator in query"
        );
        assert_eq!(p("start=nope").unwrap_err(), "invalid cursor string (nope)");
        assert!(p("limit=99999999999").unwrap_err().contains("maximum"));
    }

    #[test]
    fn go_parse_bool() {
        for t in ["1", "t", "T", "TRUE", "true", "True"] {
            assert!(p(&format!("coalesce={t}")).unwrap().coalesce, "{t}");
        }
        for f in ["yes", "0", "tRUE", "", "on"] {
            assert!(!p(&format!("coalesce={f}")).unwrap().coalesce, "{f}");
        }
    }

    #[test]
    fn query_pairs() {
        let pairs = parse_query("a=1&&b&c=x+y%20z&a=2").unwrap();
        let want: Vec<(Vec<u8>, Vec<u8>)> = [("a", "1"), ("b", ""), ("c", "x y z"), ("a", "2")]
            .iter()
            .map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec()))
            .collect();
        assert_eq!(pairs, want);
        // the first value wins
        assert_eq!(p("limit=3&limit=4").unwrap().query.limit, 3);
    }
}
