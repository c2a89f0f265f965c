//! Request metadata: string keys, binary-safe values.

use std::borrow::Cow;
use std::fmt;

use bytes::Bytes;

/// Key/value metadata carried with a request: HTTP headers and gRPC metadata
/// in transport-neutral form (auth tokens, trace context, tenant ids…).
///
/// Keys are ASCII-case-insensitive and stored in lower case, as HTTP/2 and
/// gRPC do. Values are bytes, so binary metadata (gRPC `-bin` keys) fits as
/// well as text. A key may hold several values, in insertion order.
///
/// The map is a small vector: requests carry a handful of entries, where a
/// linear scan beats hashing and keeps cloning cheap.
///
/// ```
/// use kit_endpoint::Metadata;
///
/// let mut md = Metadata::new();
/// md.insert("Authorization", "Bearer abc");
/// md.append("x-tag", "a");
/// md.append("x-tag", "b");
/// assert_eq!(md.get_str("authorization"), Some("Bearer abc"));
/// assert_eq!(md.get_all("X-Tag").count(), 2);
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Metadata {
    entries: Vec<(Cow<'static, str>, Bytes)>,
}

fn normalise(key: impl Into<Cow<'static, str>>) -> Cow<'static, str> {
    let key = key.into();
    if key.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(key.to_ascii_lowercase())
    } else {
        key
    }
}

impl Metadata {
    /// An empty map.
    pub fn new() -> Metadata {
        Metadata::default()
    }

    /// Sets `key` to `value`, replacing every value it had.
    pub fn insert(&mut self, key: impl Into<Cow<'static, str>>, value: impl Into<Bytes>) {
        let key = normalise(key);
        self.entries.retain(|(k, _)| *k != key);
        self.entries.push((key, value.into()));
    }

    /// Adds a value for `key`, keeping the values it had.
    pub fn append(&mut self, key: impl Into<Cow<'static, str>>, value: impl Into<Bytes>) {
        self.entries.push((normalise(key), value.into()));
    }

    /// The first value of `key`.
    pub fn get(&self, key: &str) -> Option<&Bytes> {
        self.entries
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    }

    /// The first value of `key`, if it is valid UTF-8.
    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(|v| std::str::from_utf8(v).ok())
    }

    /// Every value of `key`, in insertion order.
    pub fn get_all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a Bytes> + 'a {
        self.entries
            .iter()
            .filter(move |(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    }

    /// Removes every value of `key` and returns the first.
    pub fn remove(&mut self, key: &str) -> Option<Bytes> {
        let mut first = None;
        self.entries.retain(|(k, v)| {
            if k.eq_ignore_ascii_case(key) {
                first.get_or_insert_with(|| v.clone());
                false
            } else {
                true
            }
        });
        first
    }

    /// Whether `key` has a value.
    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Every (key, value) pair, in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Bytes)> {
        self.entries.iter().map(|(k, v)| (k.as_ref(), v))
    }

    /// The number of (key, value) pairs.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the map is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl fmt::Debug for Metadata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_case_insensitive() {
        let mut md = Metadata::new();
        md.insert("X-Request-Id", "1");
        assert_eq!(md.get_str("x-request-id"), Some("1"));
        assert_eq!(md.iter().next().map(|(k, _)| k), Some("x-request-id"));
        md.insert("x-REQUEST-id", "2");
        assert_eq!(md.len(), 1);
        assert_eq!(md.get_str("X-Request-Id"), Some("2"));
    }

    #[test]
    fn values_are_binary_safe() {
        let mut md = Metadata::new();
        md.insert("trace-bin", Bytes::from_static(&[0, 255, 10, 13]));
        assert_eq!(
            md.get("trace-bin").map(|b| &b[..]),
            Some(&[0u8, 255, 10, 13][..])
        );
        assert_eq!(md.get_str("trace-bin"), None);
    }

    #[test]
    fn remove_takes_every_value() {
        let mut md = Metadata::new();
        md.append("a", "1");
        md.append("b", "x");
        md.append("A", "2");
        assert_eq!(md.remove("a").as_deref(), Some(&b"1"[..]));
        assert!(!md.contains_key("a"));
        assert_eq!(md.len(), 1);
        assert_eq!(md.remove("missing"), None);
    }
}
