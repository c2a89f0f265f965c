use std::collections::VecDeque;

use proptest::prelude::*;

use super::*;

#[test]
fn consecutive_runs_end_on_success_and_on_a_new_interval() {
    let c = Consecutive::default();
    assert_eq!(c.failure(0, 0), 1);
    assert_eq!(c.failure(0, 0), 2);
    assert_eq!(c.get(0, 0), 2);
    c.success(0);
    assert_eq!(c.get(0, 0), 0);
    assert_eq!(c.failure(0, 0), 1);
    // The next interval starts a new run.
    assert_eq!(c.failure(0, 1), 1);
    assert_eq!(c.get(0, 0), 0);
    // A late failure of the earlier interval is stale.
    assert_eq!(c.failure(0, 0), 0);
    assert_eq!(c.get(0, 1), 1);
}

#[test]
fn consecutive_is_per_generation() {
    let c = Consecutive::default();
    c.failure(3, 0);
    c.failure(3, 0);
    assert_eq!(c.get(4, 0), 0);
    // A success of another generation does not end this one's run.
    c.success(4);
    assert_eq!(c.get(3, 0), 2);
    assert_eq!(c.failure(4, 0), 1);
}

#[test]
fn count_window_forgets_the_oldest() {
    let w = CountWindow::new(3);
    for hit in [true, true, false] {
        w.record(0, hit);
    }
    assert_eq!(w.counts(0), Counts { calls: 3, hits: 2 });
    w.record(0, false);
    w.record(0, false);
    assert_eq!(w.counts(0), Counts { calls: 3, hits: 0 });
    w.record(0, true);
    assert_eq!(w.counts(0), Counts { calls: 3, hits: 1 });
}

#[test]
fn count_window_starts_empty_in_a_new_generation() {
    let w = CountWindow::new(4);
    for _ in 0..4 {
        w.record(7, true);
    }
    assert_eq!(w.counts(7), Counts { calls: 4, hits: 4 });
    assert_eq!(w.counts(8), Counts::default());
    w.record(8, false);
    assert_eq!(w.counts(8), Counts { calls: 1, hits: 0 });
    // A late record of generation 7 changes nothing in generation 8.
    w.record(7, true);
    assert_eq!(w.counts(8), Counts { calls: 1, hits: 0 });
}

#[test]
fn count_window_sizes_are_clamped() {
    assert_eq!(CountWindow::new(0).len(), 1);
    assert_eq!(CountWindow::new(u32::MAX).len(), MAX_COUNT_WINDOW);
    let w = CountWindow::new(1);
    w.record(0, true);
    w.record(0, false);
    assert_eq!(w.counts(0), Counts { calls: 1, hits: 0 });
}

#[test]
fn time_window_slides() {
    let w = TimeWindow::new(10_000); // 10 buckets of 1 µs
    w.record(0, true, 0);
    w.record(0, false, 500);
    w.record(0, true, 9_999);
    assert_eq!(w.counts(0, 9_999), Counts { calls: 3, hits: 2 });
    // At 10 µs the first bucket (0..1 µs) has slid out.
    assert_eq!(w.counts(0, 10_000), Counts { calls: 1, hits: 1 });
    // Its slot is reused by the new period.
    w.record(0, false, 10_100);
    assert_eq!(w.counts(0, 10_100), Counts { calls: 2, hits: 1 });
    assert_eq!(w.counts(0, 30_000), Counts::default());
    assert_eq!(w.counts(1, 10_100), Counts::default());
}

#[test]
fn time_window_ignores_a_stale_period() {
    let w = TimeWindow::new(10_000);
    w.record(0, true, 20_000);
    // A record computed for 10 µs earlier maps to the same bucket: dropped.
    w.record(0, true, 10_000);
    assert_eq!(w.counts(0, 20_000), Counts { calls: 1, hits: 1 });
}

proptest! {
    /// The count window's summary always equals the sum of the last `n`
    /// outcomes, whatever the sequence.
    #[test]
    fn count_window_matches_a_model(size in 1u32..20, outcomes in proptest::collection::vec(any::<bool>(), 0..200)) {
        let w = CountWindow::new(size);
        let mut model = VecDeque::new();
        for hit in outcomes {
            w.record(1, hit);
            model.push_back(hit);
            if model.len() > size as usize {
                model.pop_front();
            }
            let want = Counts {
                calls: model.len() as u64,
                hits: model.iter().filter(|h| **h).count() as u64,
            };
            prop_assert_eq!(w.counts(1), want);
        }
    }

    /// The time window counts exactly the records of the live buckets.
    #[test]
    fn time_window_matches_a_model(records in proptest::collection::vec((0u64..5_000, any::<bool>()), 0..100)) {
        let mut records = records;
        records.sort_by_key(|r| r.0);
        let w = TimeWindow::new(1_000);
        for (i, (at, hit)) in records.iter().enumerate() {
            w.record(2, *hit, *at);
            let now = *at / 100;
            let live = records[..=i].iter().filter(|(t, _)| now - t / 100 < TIME_BUCKETS);
            let (calls, hits) = live.fold((0, 0), |(c, h), (_, hit)| (c + 1, h + u64::from(*hit)));
            prop_assert_eq!(w.counts(2, *at), Counts { calls, hits });
        }
    }
}

proptest! {
    /// The division-free modulo is `n % len` for every cursor and size.
    #[test]
    fn fastmod_is_modulo(size in 1u32..=MAX_COUNT_WINDOW, n in any::<u32>()) {
        let w = CountWindow::new(size);
        prop_assert_eq!(w.index(n), (n % size) as usize);
    }
}
