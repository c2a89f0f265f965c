//! The differential check both Redis backends run: random histories of
//! operations give the same results and states in Redis as in the core.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use bytes::Bytes;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use stream::crdt::{Cursor, Kind, Query, Score, Set};
use stream::farm::{KeyOp, KeyStates, Members, Replica};
use stream::redis::Cluster;
use stream::store::Store;

pub fn score() -> impl Strategy<Value = Score> {
    prop_oneof![
        8 => (-2i8..=2).prop_map(|v| Score::new(f64::from(v) / 2.0).unwrap()),
        1 => prop::sample::select(vec![1e300, -1e300, 5e-324, 0.1, 1.0 / 3.0, f64::MAX, f64::MIN]).prop_map(|v| Score::new(v).unwrap()),
        1 => any::<f64>().prop_filter_map("finite", |v| Score::new(v).ok()),
    ]
}

pub fn member() -> impl Strategy<Value = Bytes> {
    // Short members that tie on prefixes, bytes above 0x7f and NULs, so the
    // script's bytewise order is exercised where Lua's locale order differs.
    prop::sample::select(vec![
        &b""[..],
        b"a",
        b"ab",
        b"b",
        b"\x00",
        b"\x00a",
        b"\xff",
        b"\xe9",
        b"B",
        b"a\x00",
    ])
    .prop_map(Bytes::from_static)
}

pub fn key_op(keys: Vec<&'static str>) -> impl Strategy<Value = KeyOp> {
    key_op_in_tenths(keys, 5, 4)
}

/// An op that is an insert `inserts` times in ten, a delete `deletes`
/// times, and a watermark raise otherwise.
pub fn key_op_in_tenths(
    keys: Vec<&'static str>,
    inserts: u8,
    deletes: u8,
) -> impl Strategy<Value = KeyOp> {
    (prop::sample::select(keys), 0u8..10, score(), member()).prop_map(move |(k, kind, s, m)| {
        if kind < inserts {
            KeyOp::write(k, Kind::Insert, s, m)
        } else if kind < inserts + deletes {
            KeyOp::write(k, Kind::Delete, s, m)
        } else {
            KeyOp::watermark(k, s, m)
        }
    })
}

pub fn sorted(mut ks: KeyStates) -> KeyStates {
    ks.states.sort();
    ks
}

pub fn core_states(set: Option<&Set>) -> KeyStates {
    let Some(set) = set else {
        return KeyStates::default();
    };
    sorted(KeyStates {
        watermark: set
            .watermark()
            .map(|(s, m)| (*s, Bytes::copy_from_slice(m))),
        states: set
            .entries()
            .map(|(m, s)| (Bytes::copy_from_slice(m), s))
            .collect(),
    })
}

/// A select to check: offset, limit, and the cursor's start and stop.
pub type Ask = (usize, usize, Option<(Score, Bytes)>, Option<(Score, Bytes)>);
/// One case: ops, max size, how ops are split into calls, and the selects.
pub type Case = (Vec<KeyOp>, usize, usize, Vec<Ask>);

/// The strategy of one case.
pub fn history(keys: Vec<&'static str>) -> impl Strategy<Value = Case> {
    history_of(key_op(keys))
}

/// Cases of mostly inserts (eight in ten; one delete, one watermark
/// raise), so that many calls hold only inserts for a key without
/// tombstones: the script's path that skips the lookup in the other set.
pub fn history_of_inserts(keys: Vec<&'static str>) -> impl Strategy<Value = Case> {
    history_of(key_op_in_tenths(keys, 8, 1))
}

fn history_of(op: impl Strategy<Value = KeyOp>) -> impl Strategy<Value = Case> {
    (
        prop::collection::vec(op, 0..30),
        prop_oneof![Just(usize::MAX), 0usize..6],
        1usize..6,
        prop::collection::vec(
            (
                0usize..6,
                0usize..6,
                prop::option::of((score(), member())),
                prop::option::of((score(), member())),
            ),
            3,
        ),
    )
}

/// Runs one case against `redis` (empty, built with `max_size`) and the
/// core: per-op results, states of `keys`, selects by offset and cursor.
pub async fn check(
    redis: &Cluster,
    keys: &[Bytes],
    (ops, max_size, split, queries): Case,
) -> Result<(), TestCaseError> {
    let mut sets: std::collections::HashMap<Bytes, Set> = Default::default();
    let want: Vec<bool> = ops
        .iter()
        .map(|op| {
            op.apply_to(
                sets.entry(op.key.clone())
                    .or_insert_with(|| Set::with_max_size(max_size)),
            )
        })
        .collect();
    let mut got = Vec::new();
    for chunk in ops.chunks(split.max(1) * 7) {
        got.extend(
            redis
                .apply(chunk)
                .await
                .map_err(|e| TestCaseError::fail(e.to_string()))?,
        );
    }
    prop_assert_eq!(&got, &want, "per-op results, max_size {}", max_size);
    let asks: Vec<(Bytes, Members)> = keys.iter().map(|k| (k.clone(), Members::All)).collect();
    for ((key, _), states) in asks.iter().zip(redis.read_states(&asks).await) {
        let states = sorted(states.map_err(|e| TestCaseError::fail(e.to_string()))?);
        prop_assert_eq!(states, core_states(sets.get(key)), "key {:?}", key);
    }
    for (offset, limit, start, stop) in queries {
        let cursor = |c: Option<(Score, Bytes)>| c.map(|(s, m)| Cursor::at(s, m));
        for query in [
            Query::offset(offset, limit),
            Query::cursor(cursor(start.clone()), cursor(stop.clone()), limit),
        ] {
            let redis_got = redis
                .select(keys.to_vec(), query.clone())
                .await
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            for (key, entries) in redis_got {
                let want = sets.get(&key).map(|s| s.select(&query)).unwrap_or_default();
                prop_assert_eq!(entries, want, "{:?} on {:?}", query, key);
            }
        }
    }
    Ok(())
}
