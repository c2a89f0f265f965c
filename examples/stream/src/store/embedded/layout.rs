//! How sets are laid out in one ordered key-value table.
//!
//! Every row of a key starts with the key's prefix, `u16` big-endian length
//! then the key's bytes, so one key's rows are contiguous and no key is a
//! prefix of another's rows. A tag byte follows:
//!
//! | row | key | value |
//! |---|---|---|
//! | a member's state | prefix `S` member | kind (`I`/`D`), ordered score (8) |
//! | a visible member | prefix `V` ordered score (8) member | empty |
//! | a tombstone | prefix `T` ordered score (8) member | empty |
//! | the key's metadata | prefix `M` | entry count (`u64`), watermark |
//!
//! Scores are stored as [`Score::to_ordered_bits`] in big-endian, so the
//! byte order of `V` rows is the (score, member) order and a select is one
//! reverse range scan. The watermark is empty (none) or an ordered score
//! followed by the member.

use bytes::Bytes;

use crate::crdt::{Kind, Position, Score, State};
use crate::store::StoreError;

pub(crate) const STATE: u8 = b'S';
pub(crate) const VISIBLE: u8 = b'V';
pub(crate) const TOMB: u8 = b'T';
const META: u8 = b'M';

/// The row prefix of `key`. Keys are at most `u16::MAX` bytes (checked
/// before any write).
pub(crate) fn prefix(key: &[u8]) -> Vec<u8> {
    let len = u16::try_from(key.len()).unwrap_or(u16::MAX);
    let mut p = Vec::with_capacity(2 + key.len() + 9);
    p.extend_from_slice(&len.to_be_bytes());
    p.extend_from_slice(key);
    p
}

pub(crate) fn state_row(prefix: &[u8], member: &[u8]) -> Vec<u8> {
    [prefix, &[STATE], member].concat()
}

pub(crate) fn index_row(prefix: &[u8], kind: Kind, score: Score, member: &[u8]) -> Vec<u8> {
    let tag = match kind {
        Kind::Insert => VISIBLE,
        Kind::Delete => TOMB,
    };
    [
        prefix,
        &[tag],
        &score.to_ordered_bits().to_be_bytes(),
        member,
    ]
    .concat()
}

pub(crate) fn meta_row(prefix: &[u8]) -> Vec<u8> {
    [prefix, &[META]].concat()
}

/// The half-open range `[lo, hi)` of every row of `prefix` with `tag`.
pub(crate) fn tag_range(prefix: &[u8], tag: u8) -> (Vec<u8>, Vec<u8>) {
    ([prefix, &[tag]].concat(), [prefix, &[tag + 1]].concat())
}

pub(crate) fn encode_state(state: State) -> [u8; 9] {
    let mut v = [0u8; 9];
    v[0] = match state.kind {
        Kind::Insert => b'I',
        Kind::Delete => b'D',
    };
    v[1..].copy_from_slice(&state.score.to_ordered_bits().to_be_bytes());
    v
}

fn score_at(bytes: &[u8]) -> Result<Score, StoreError> {
    let raw: [u8; 8] = bytes
        .get(..8)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| StoreError::Corrupt("short score".into()))?;
    Score::from_ordered_bits(u64::from_be_bytes(raw))
        .ok_or_else(|| StoreError::Corrupt("bad score".into()))
}

pub(crate) fn decode_state(v: &[u8]) -> Result<State, StoreError> {
    let kind = match v.first() {
        Some(b'I') => Kind::Insert,
        Some(b'D') => Kind::Delete,
        _ => return Err(StoreError::Corrupt("bad state kind".into())),
    };
    Ok(State {
        score: score_at(&v[1..])?,
        kind,
    })
}

/// The position of an index row (`prefix`, tag, score, member).
pub(crate) fn decode_index(prefix_len: usize, row: &[u8]) -> Result<Position, StoreError> {
    let rest = row
        .get(prefix_len + 1..)
        .ok_or_else(|| StoreError::Corrupt("short index row".into()))?;
    Ok((
        score_at(rest)?,
        Bytes::copy_from_slice(rest.get(8..).unwrap_or_default()),
    ))
}

/// A key's metadata: how many entries it keeps, and its watermark.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Meta {
    pub(crate) count: u64,
    pub(crate) watermark: Option<Position>,
}

pub(crate) fn encode_meta(meta: &Meta) -> Vec<u8> {
    let mut v = meta.count.to_be_bytes().to_vec();
    if let Some((score, member)) = &meta.watermark {
        v.extend_from_slice(&score.to_ordered_bits().to_be_bytes());
        v.extend_from_slice(member);
    }
    v
}

pub(crate) fn decode_meta(v: &[u8]) -> Result<Meta, StoreError> {
    let count = v
        .get(..8)
        .and_then(|b| b.try_into().ok())
        .map(u64::from_be_bytes)
        .ok_or_else(|| StoreError::Corrupt("short metadata".into()))?;
    let watermark = match v.get(8..) {
        Some(rest) if !rest.is_empty() => Some((
            score_at(rest)?,
            Bytes::copy_from_slice(&rest[8.min(rest.len())..]),
        )),
        _ => None,
    };
    Ok(Meta { count, watermark })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rows_of_different_keys_do_not_interleave() {
        let (a, ab) = (prefix(b"a"), prefix(b"ab"));
        let (lo, hi) = tag_range(&a, VISIBLE);
        let other = index_row(&ab, Kind::Insert, Score::ZERO, b"");
        assert!(!(lo <= other && other < hi));
    }

    proptest! {
        #[test]
        fn encodings_round_trip(v in -1e300f64..1e300, m in prop::collection::vec(any::<u8>(), 0..8), count: u64, del: bool) {
            let score = Score::new(v).unwrap();
            let kind = if del { Kind::Delete } else { Kind::Insert };
            let state = State { score, kind };
            prop_assert_eq!(decode_state(&encode_state(state)).unwrap(), state);
            let p = prefix(b"key");
            let row = index_row(&p, kind, score, &m);
            prop_assert_eq!(decode_index(p.len(), &row).unwrap(), (score, Bytes::from(m.clone())));
            let meta = Meta { count, watermark: Some((score, Bytes::from(m))) };
            prop_assert_eq!(decode_meta(&encode_meta(&meta)).unwrap(), meta);
            let empty = Meta { count, watermark: None };
            prop_assert_eq!(decode_meta(&encode_meta(&empty)).unwrap(), empty);
        }

        #[test]
        fn garbage_rows_never_panic(v in prop::collection::vec(any::<u8>(), 0..24)) {
            let _ = decode_state(&v);
            let _ = decode_meta(&v);
            let _ = decode_index(2, &v);
        }
    }
}
