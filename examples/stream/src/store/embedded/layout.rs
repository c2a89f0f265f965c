//! How sets are stored as rows of one ordered key-value table.
//!
//! A row's key starts with the set's key, as a `u16` big-endian length and
//! the bytes, then a tag:
//!
//! | row | row key | value |
//! |---|---|---|
//! | a member's state | key `S` member | kind (`I` or `D`), score (8 bytes) |
//! | the key's watermark | key `M` | score (8 bytes), member |
//!
//! Scores are [`Score::to_ordered_bits`], big-endian. Only states and
//! watermarks are stored: every row is a CRDT state, so loading the rows in
//! any order rebuilds the same sets, and the order indexes are rebuilt in
//! memory at open.

use bytes::Bytes;

use crate::crdt::{Kind, Member, Position, Score, State};
use crate::store::StoreError;

const STATE: u8 = b'S';
const META: u8 = b'M';

/// What a row holds.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Row {
    /// A member's state.
    State(Bytes, State),
    /// The key's watermark.
    Watermark(Position),
}

fn prefix(key: &[u8], tag: u8, extra: usize) -> Vec<u8> {
    // Keys are at most u16::MAX bytes: checked before any write.
    let len = u16::try_from(key.len()).unwrap_or(u16::MAX);
    let mut row = Vec::with_capacity(3 + key.len() + extra);
    row.extend_from_slice(&len.to_be_bytes());
    row.extend_from_slice(key);
    row.push(tag);
    row
}

pub(crate) fn state_row(key: &[u8], member: &[u8]) -> Vec<u8> {
    let mut row = prefix(key, STATE, member.len());
    row.extend_from_slice(member);
    row
}

pub(crate) fn meta_row(key: &[u8]) -> Vec<u8> {
    prefix(key, META, 0)
}

pub(crate) fn encode_state(state: State) -> Vec<u8> {
    let mut v = Vec::with_capacity(9);
    v.push(match state.kind {
        Kind::Insert => b'I',
        Kind::Delete => b'D',
    });
    v.extend_from_slice(&state.score.to_ordered_bits().to_be_bytes());
    v
}

pub(crate) fn encode_watermark((score, member): &Position) -> Vec<u8> {
    [&score.to_ordered_bits().to_be_bytes()[..], member].concat()
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(what.to_string())
}

fn score_at(bytes: &[u8]) -> Result<Score, StoreError> {
    let raw: [u8; 8] = bytes
        .get(..8)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| corrupt("short score"))?;
    Score::from_ordered_bits(u64::from_be_bytes(raw)).ok_or_else(|| corrupt("bad score"))
}

/// Decodes a row into its set's key and what it holds.
pub(crate) fn decode(row: &[u8], value: &[u8]) -> Result<(Bytes, Row), StoreError> {
    let len = row
        .get(..2)
        .map(|l| usize::from(u16::from_be_bytes([l[0], l[1]])))
        .ok_or_else(|| corrupt("short row"))?;
    let key = row
        .get(2..2 + len)
        .ok_or_else(|| corrupt("short row key"))?;
    let rest = &row[2 + len..];
    let what = match rest.split_first() {
        Some((&STATE, member)) => {
            let kind = match value.first() {
                Some(b'I') => Kind::Insert,
                Some(b'D') => Kind::Delete,
                _ => return Err(corrupt("bad state")),
            };
            Row::State(
                Bytes::copy_from_slice(member),
                State {
                    score: score_at(&value[1..])?,
                    kind,
                },
            )
        }
        Some((&META, [])) => Row::Watermark((score_at(value)?, Member::from(&value[8..]))),
        _ => return Err(corrupt("unknown row")),
    };
    Ok((Bytes::copy_from_slice(key), what))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn rows_round_trip(key in prop::collection::vec(any::<u8>(), 0..8), member in prop::collection::vec(any::<u8>(), 0..8), v in -1e300f64..1e300, del: bool) {
            let score = Score::new(v).unwrap();
            let state = State { score, kind: if del { Kind::Delete } else { Kind::Insert } };
            let (k, row) = decode(&state_row(&key, &member), &encode_state(state)).unwrap();
            prop_assert_eq!((k.to_vec(), row), (key.clone(), Row::State(member.clone().into(), state)));
            let w = (score, Member::from(&member[..]));
            let (k, row) = decode(&meta_row(&key), &encode_watermark(&w)).unwrap();
            prop_assert_eq!((k.to_vec(), row), (key, Row::Watermark(w)));
        }

        #[test]
        fn garbage_rows_never_panic(row in prop::collection::vec(any::<u8>(), 0..16), value in prop::collection::vec(any::<u8>(), 0..16)) {
            let _ = decode(&row, &value);
        }
    }
}
