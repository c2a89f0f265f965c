//! Cases and proptest laws for the CRDT core.

use bytes::Bytes;
use proptest::prelude::*;

use super::*;

fn s(v: f64) -> Score {
    Score::new(v).unwrap()
}

fn members(entries: &[Entry]) -> Vec<(f64, Vec<u8>)> {
    entries
        .iter()
        .map(|e| (e.score.get(), e.member.to_vec()))
        .collect()
}

fn set_from(ops: &[Op], max_size: usize) -> Set {
    let mut set = Set::with_max_size(max_size);
    for op in ops {
        set.apply(op.kind, op.score, &op.member);
    }
    set
}

#[derive(Clone, Debug)]
struct Op {
    kind: Kind,
    score: Score,
    member: Vec<u8>,
}

fn op() -> impl Strategy<Value = Op> {
    (any::<bool>(), -3i8..=3, 0u8..6).prop_map(|(delete, score, m)| Op {
        kind: if delete { Kind::Delete } else { Kind::Insert },
        score: s(f64::from(score) / 2.0),
        member: if m == 0 { Vec::new() } else { vec![m] },
    })
}

fn ops() -> impl Strategy<Value = Vec<Op>> {
    prop::collection::vec(op(), 0..24)
}

/// A bound from 0 to 4 entries, or none.
fn max_size() -> impl Strategy<Value = usize> {
    prop_oneof![Just(usize::MAX), 0usize..5]
}

#[test]
fn select_orders_by_score_then_member_desc() {
    let mut set = Set::new();
    for (score, m) in [(1.0, "b"), (2.0, "d"), (1.0, "c"), (1.0, "a"), (-1.0, "z")] {
        set.apply(Kind::Insert, s(score), m.as_bytes());
    }
    let all = set.select(&Query::offset(0, 10));
    let want: Vec<(f64, Vec<u8>)> = [(2.0, "d"), (1.0, "c"), (1.0, "b"), (1.0, "a"), (-1.0, "z")]
        .iter()
        .map(|(sc, m)| (*sc, m.as_bytes().to_vec()))
        .collect();
    assert_eq!(members(&all), want);
    assert_eq!(
        members(&set.select(&Query::offset(3, 1))),
        want[3..4].to_vec()
    );
    assert!(set.select(&Query::offset(9, 10)).is_empty());
    assert!(set.select(&Query::offset(0, 0)).is_empty());
}

#[test]
fn cursors_page_through_long_runs_of_equal_scores() {
    let mut set = Set::new();
    for i in 0..1000u32 {
        set.apply(Kind::Insert, s(5.0), &i.to_be_bytes());
    }
    let mut seen = Vec::new();
    let mut start = None;
    loop {
        let page = set.select(&Query::cursor(start.clone(), None, 7));
        let Some(last) = page.last() else { break };
        start = Some(Cursor::at(last.score, last.member.clone()));
        seen.extend(page);
    }
    assert_eq!(seen.len(), 1000);
    assert_eq!(seen, set.select(&Query::offset(0, 2000)));
}

#[test]
fn cursors_are_exclusive_and_reach_negative_scores() {
    let mut set = Set::new();
    for v in [-3.0, -2.0, -1.0, 0.0, 1.0] {
        set.apply(Kind::Insert, s(v), b"m");
        set.apply(Kind::Insert, s(v), format!("{v}").as_bytes());
    }
    // "m" holds only its last score, 1.0.
    let start = Cursor::new(0.0, Bytes::from_static(b"0")).unwrap();
    let got = set.select(&Query::cursor(Some(start), None, 10));
    assert_eq!(
        members(&got),
        vec![
            (-1.0, b"-1".to_vec()),
            (-2.0, b"-2".to_vec()),
            (-3.0, b"-3".to_vec())
        ]
    );
    let stop = Cursor::new(-2.0, Bytes::from_static(b"-2")).unwrap();
    let start = Cursor::new(-0.0, Bytes::from_static(b"1")).unwrap();
    let got = set.select(&Query::cursor(Some(start), Some(stop), 10));
    assert_eq!(
        members(&got),
        vec![(0.0, b"0".to_vec()), (-1.0, b"-1".to_vec())]
    );
    // Infinite cursors: +inf start and -inf stop are unbounded, the reverse is empty.
    let all = Query::cursor(
        Some(Cursor::new(f64::INFINITY, Bytes::new()).unwrap()),
        Some(Cursor::new(f64::NEG_INFINITY, Bytes::new()).unwrap()),
        100,
    );
    assert_eq!(set.select(&all).len(), 6);
    let none = Query::cursor(
        Some(Cursor::new(f64::NEG_INFINITY, Bytes::new()).unwrap()),
        None,
        9,
    );
    assert!(set.select(&none).is_empty());
    // start below stop, or equal: empty, no panic.
    let c = Cursor::new(0.0, Bytes::new()).unwrap();
    assert!(
        set.select(&Query::cursor(Some(c.clone()), Some(c), 9))
            .is_empty()
    );
    assert!(Cursor::new(f64::NAN, Bytes::new()).is_err());
}

#[test]
fn coalesce_applies_offset_and_limit_after_the_merge() {
    let e = |v: f64, m: &'static str| Entry {
        score: s(v),
        member: Bytes::from_static(m.as_bytes()),
    };
    let a = (
        Bytes::from_static(b"a"),
        vec![e(5.0, "x"), e(3.0, "y"), e(1.0, "z")],
    );
    let b = (
        Bytes::from_static(b"b"),
        vec![e(4.0, "p"), e(3.0, "y"), e(2.0, "q")],
    );
    let got: Vec<(Vec<u8>, f64)> = coalesce([a, b], 1, 3)
        .into_iter()
        .map(|k| (k.key.to_vec(), k.score.get()))
        .collect();
    assert_eq!(
        got,
        vec![
            (b"b".to_vec(), 4.0),
            (b"b".to_vec(), 3.0),
            (b"a".to_vec(), 3.0)
        ]
    );
    let (per_key, after) = coalesce_query(&Query::offset(2, 2));
    assert_eq!((per_key, after), (Query::offset(0, 4), 2));
    let (per_key, after) = coalesce_query(&Query::offset(usize::MAX, 2));
    assert_eq!((per_key.range, after), (Range::Offset(0), usize::MAX));
}

#[test]
fn bound_keeps_the_newest_and_blocks_what_it_evicted() {
    let mut set = Set::with_max_size(2);
    set.apply(Kind::Insert, s(1.0), b"a");
    set.apply(Kind::Delete, s(2.0), b"b");
    set.apply(Kind::Insert, s(3.0), b"c"); // evicts a/1
    assert_eq!(set.len(), 2);
    assert_eq!(set.watermark().map(|w| w.0), Some(s(1.0)));
    // Roshi would accept this once a/1 is gone; the watermark does not.
    assert!(!set.apply(Kind::Insert, s(1.0), b"a"));
    set.apply(Kind::Insert, s(4.0), b"d"); // evicts the tombstone b/2
    // Roshi lets an older insert resurface past an evicted tombstone.
    assert!(!set.apply(Kind::Insert, s(1.5), b"b"));
    // Above the watermark but the lowest entry: kept for no time, not applied.
    assert!(!set.apply(Kind::Insert, s(2.5), b"b"));
    assert_eq!(set.watermark().map(|w| w.0), Some(s(2.5)));
    assert_eq!(members(&set.select(&Query::offset(0, 9))).len(), 2);
    let mut zero = Set::with_max_size(0);
    assert!(!zero.apply(Kind::Insert, s(1.0), b"a"));
    assert!(zero.is_empty());
}

fn converge(ops: &[Op], order: &[usize], dup: &[usize], max_size: usize) -> Set {
    let mut set = Set::with_max_size(max_size);
    for &i in order.iter().chain(dup) {
        let op = &ops[i % ops.len()];
        set.apply(op.kind, op.score, &op.member);
    }
    set
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(10_000))]

    #[test]
    fn merge_is_commutative(a in ops(), b in ops(), max in max_size()) {
        let (x, y) = (set_from(&a, max), set_from(&b, max));
        let mut xy = x.clone();
        xy.merge(&y);
        let mut yx = y.clone();
        yx.merge(&x);
        prop_assert_eq!(xy, yx);
    }

    #[test]
    fn merge_is_associative(a in ops(), b in ops(), c in ops(), max in max_size()) {
        let (x, y, z) = (set_from(&a, max), set_from(&b, max), set_from(&c, max));
        let mut left = x.clone();
        left.merge(&y);
        left.merge(&z);
        let mut yz = y.clone();
        yz.merge(&z);
        let mut right = x.clone();
        right.merge(&yz);
        prop_assert_eq!(left, right);
    }

    #[test]
    fn merge_is_idempotent(a in ops(), max in max_size()) {
        let x = set_from(&a, max);
        let mut xx = x.clone();
        xx.merge(&x);
        prop_assert_eq!(&xx, &x);
    }

    #[test]
    fn merge_equals_the_union_of_writes(a in ops(), b in ops(), max in max_size()) {
        let mut merged = set_from(&a, max);
        merged.merge(&set_from(&b, max));
        let union: Vec<Op> = a.iter().chain(&b).cloned().collect();
        prop_assert_eq!(merged, set_from(&union, max));
    }

    #[test]
    fn replicas_converge_whatever_the_order_and_duplicates(
        (ops, orders) in ops().prop_filter("some ops", |o| !o.is_empty()).prop_flat_map(|ops| {
            let n = ops.len();
            let order = Just((0..n).collect::<Vec<_>>()).prop_shuffle();
            let dups = prop::collection::vec(0..n, 0..6);
            (Just(ops), prop::collection::vec((order, dups), 3))
        }),
        max in max_size(),
    ) {
        let replicas: Vec<Set> = orders
            .iter()
            .map(|(order, dup)| converge(&ops, order, dup, max))
            .collect();
        prop_assert_eq!(&replicas[0], &replicas[1]);
        prop_assert_eq!(&replicas[1], &replicas[2]);
        prop_assert!(replicas[0].len() <= max);
    }

    #[test]
    fn cursor_pages_concatenate_to_the_offset_list(a in ops(), page in 1usize..4) {
        let set = set_from(&a, usize::MAX);
        let all = set.select(&Query::offset(0, usize::MAX));
        let mut paged = Vec::new();
        let mut start = None;
        loop {
            let got = set.select(&Query::cursor(start.clone(), None, page));
            let Some(last) = got.last() else { break };
            start = Some(Cursor::at(last.score, last.member.clone()));
            paged.extend(got);
        }
        prop_assert_eq!(&paged, &all);
        for (i, e) in all.iter().enumerate() {
            prop_assert_eq!(set.select(&Query::offset(i, 1)), vec![e.clone()]);
        }
    }
}
