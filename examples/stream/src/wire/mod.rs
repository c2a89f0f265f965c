//! Roshi's HTTP wire format, as pure functions over bytes and query strings.
//!
//! roshi-server speaks JSON through Go's `encoding/json`, and its clients
//! depend on the details: which bodies it accepts, the exact error texts,
//! how floats and durations print, how a binary key becomes a JSON object
//! key. This module reproduces them with no HTTP types, so the HTTP
//! transport only moves bytes:
//!
//! | request or response | function |
//! |---|---|
//! | `POST /` and `DELETE /` bodies | [`decode_events`] |
//! | `GET /` body (keys) | [`decode_keys`] |
//! | `GET /` query string | [`parse_select_query`] |
//! | cursors | [`parse_cursor`], [`format_cursor`] |
//! | responses | [`encode_inserted`], [`encode_deleted`], [`encode_selected`], [`encode_coalesced`] |
//! | error bodies | [`encode_error`] |
//!
//! Every decoding failure is a [`DecodeError`]: a client error (HTTP 400,
//! [`Code::InvalidArgument`](kit_endpoint::Code)) whose text is Go's where
//! roshi-server's is recorded. Bodies are bounded by [`Limits`].
//!
//! The JSON decoder is written here rather than on serde_json because
//! roshi-server's behaviour is Go's, not serde's: case-insensitive field
//! names, `null` rules, only the first value read, syntax errors before
//! type errors, and Go's messages for each. `scan` checks the syntax
//! iteratively with Go's messages; `reader` walks the checked value.
//!
//! # Layout
//! - `scan`: Go's syntax check of the first JSON value.
//! - `reader`: walking a checked value, Go's string unescaping.
//! - `base64go`: Go's base64 decoding rules and messages.
//! - [`body`][]: [`decode_events`], [`decode_keys`].
//! - [`query`][]: [`parse_select_query`], [`parse_query`].
//! - [`cursor`][]: [`parse_cursor`], [`format_cursor`].
//! - [`encode`][]: responses, [`go_float`], [`go_duration`], [`go_string`].

mod base64go;
pub mod body;
pub mod cursor;
pub mod encode;
pub mod query;
mod reader;
mod scan;

#[cfg(test)]
mod tests;

pub use body::{decode_events, decode_keys};
pub use cursor::{format_cursor, parse_cursor};
pub use encode::{
    encode_coalesced, encode_deleted, encode_error, encode_inserted, encode_selected, go_duration,
    go_float, go_string, status_text, write_go_float,
};
pub use query::{QueryPairs, SelectParams, parse_query, parse_select_query};

/// Bounds on what one request may hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The most events in one insert or delete body (default 10,000).
    pub max_events: usize,
    /// The most keys in one select body (default 1,000).
    pub max_keys: usize,
    /// The longest key, in bytes (default 1 KiB).
    pub max_key_bytes: usize,
    /// The longest member, in bytes (default 4 KiB).
    pub max_member_bytes: usize,
    /// The largest `limit` a select may ask for (default 1,000,000).
    pub max_limit: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_events: 10_000,
            max_keys: 1_000,
            max_key_bytes: 1024,
            max_member_bytes: 4096,
            max_limit: 1_000_000,
        }
    }
}

/// A request that cannot be decoded: always the client's fault.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// A body that Go's `encoding/json` would refuse, with Go's message.
    #[error("{0}")]
    Json(String),
    /// A body over one of the [`Limits`].
    #[error("{0}")]
    TooLarge(String),
    /// A malformed query string, or parameters that conflict.
    #[error("{0}")]
    Query(String),
    /// A malformed `start` or `stop` cursor, with roshi-server's message.
    #[error("{0}")]
    Cursor(String),
}

impl From<DecodeError> for kit_endpoint::Error {
    fn from(err: DecodeError) -> kit_endpoint::Error {
        kit_endpoint::Error::invalid_argument(err.to_string())
    }
}
