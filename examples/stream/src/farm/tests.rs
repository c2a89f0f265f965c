//! Farm logic against in-memory replicas (no Redis): the repair plan's
//! convergence laws, quorum writes, read strategies, the repair queue.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use kit_endpoint::Code;
use proptest::prelude::*;

use super::merge::{plan, union, winner};
use super::*;
use crate::crdt::{Entry, Query, Score, Set, State};

/// A replica in memory: the core's sets, with switchable failure and delay.
struct Mem {
    name: String,
    sets: Mutex<HashMap<Bytes, Set>>,
    max_size: usize,
    down: AtomicBool,
    delay_ms: AtomicU64,
    selects: AtomicU64,
}

impl Mem {
    fn new(name: &str, max_size: usize) -> Mem {
        Mem {
            name: name.into(),
            sets: Mutex::default(),
            max_size,
            down: AtomicBool::new(false),
            delay_ms: AtomicU64::new(0),
            selects: AtomicU64::new(0),
        }
    }

    fn set(&self, key: &str) -> Set {
        self.sets
            .lock()
            .unwrap()
            .get(key.as_bytes())
            .cloned()
            .unwrap_or_else(|| Set::with_max_size(self.max_size))
    }

    async fn gate(&self) -> Result<(), StoreError> {
        let ms = self.delay_ms.load(Ordering::SeqCst);
        if ms > 0 {
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
        if self.down.load(Ordering::SeqCst) {
            return Err(StoreError::backend(
                Code::Unavailable,
                format!("{} is down", self.name),
            ));
        }
        Ok(())
    }
}

impl Replica for Mem {
    fn name(&self) -> &str {
        &self.name
    }

    async fn apply(&self, ops: &[KeyOp]) -> Result<Vec<bool>, StoreError> {
        self.gate().await?;
        let mut sets = self.sets.lock().unwrap();
        Ok(ops
            .iter()
            .map(|op| {
                let set = sets
                    .entry(op.key.clone())
                    .or_insert_with(|| Set::with_max_size(self.max_size));
                op.apply_to(set)
            })
            .collect())
    }

    async fn select_each(
        &self,
        keys: &[Bytes],
        query: &Query,
    ) -> Vec<Result<Vec<Entry>, StoreError>> {
        self.selects.fetch_add(1, Ordering::SeqCst);
        if let Err(e) = self.gate().await {
            return keys.iter().map(|_| Err(e.clone())).collect();
        }
        let sets = self.sets.lock().unwrap();
        keys.iter()
            .map(|k| Ok(sets.get(k).map(|s| s.select(query)).unwrap_or_default()))
            .collect()
    }

    async fn read_states(&self, keys: &[(Bytes, Members)]) -> Vec<Result<KeyStates, StoreError>> {
        if let Err(e) = self.gate().await {
            return keys.iter().map(|_| Err(e.clone())).collect();
        }
        let sets = self.sets.lock().unwrap();
        keys.iter()
            .map(|(k, members)| {
                Ok(sets
                    .get(k)
                    .map(|s| snapshot(s, members))
                    .unwrap_or_default())
            })
            .collect()
    }

    fn shards(&self) -> usize {
        1
    }

    fn shard_name(&self, _: usize) -> String {
        self.name.clone()
    }

    async fn scan(&self, _: usize, _: u64, _: usize) -> Result<(u64, Vec<Bytes>), StoreError> {
        self.gate().await?;
        Ok((0, self.sets.lock().unwrap().keys().cloned().collect()))
    }
}

fn snapshot(set: &Set, members: &Members) -> KeyStates {
    let watermark = set
        .watermark()
        .map(|(s, m)| (*s, Bytes::copy_from_slice(m)));
    let states = match members {
        Members::All => set
            .entries()
            .map(|(m, s)| (Bytes::copy_from_slice(m), s))
            .collect(),
        Members::Only(ms) => ms
            .iter()
            .filter_map(|m| set.state(m).map(|s| (m.clone(), s)))
            .collect(),
    };
    KeyStates { watermark, states }
}

fn s(v: f64) -> Score {
    Score::new(v).unwrap()
}

fn op(kind: Kind, score: f64, m: &str) -> KeyOp {
    KeyOp::write("k", kind, s(score), m.to_string())
}

fn farm(replicas: Vec<Mem>, options: FarmOptions) -> (Farm<Mem>, Arc<RepairCounters>) {
    let counters = Arc::new(RepairCounters::new());
    (
        Farm::new(replicas, options, counters.clone()).unwrap(),
        counters,
    )
}

fn opts(read: ReadStrategy, repair: RepairStrategy) -> FarmOptions {
    FarmOptions {
        write_quorum: Quorum::Count(2),
        read_strategy: read,
        repair_strategy: repair,
        ..FarmOptions::default()
    }
}

/// Random writes with scores from -2 to 2 in halves (ties and negatives),
/// five members, and an occasional watermark raise.
fn ops() -> impl Strategy<Value = Vec<(usize, KeyOp)>> {
    let one = (0usize..3, 0u8..10, -4i8..=4, 0u8..5).prop_map(|(replica, kind, score, m)| {
        let member = vec![b'a' + m];
        let score = s(f64::from(score) / 2.0);
        let op = match kind {
            0..=4 => KeyOp::write("k", Kind::Insert, score, member),
            5..=8 => KeyOp::write("k", Kind::Delete, score, member),
            _ => KeyOp::watermark("k", score, member),
        };
        (replica, op)
    });
    prop::collection::vec(one, 0..30)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Whatever each replica saw, one round of repair (plan from every
    /// replica's snapshot) makes them all equal to the merge of all, and
    /// the winner does not depend on the replicas' order.
    #[test]
    fn repair_converges_whatever_the_order(ops in ops(), max_size in prop_oneof![Just(usize::MAX), 0usize..4]) {
        let mut sets: Vec<Set> = (0..3).map(|_| Set::with_max_size(max_size)).collect();
        for (r, op) in &ops {
            op.apply_to(&mut sets[*r]);
        }
        let snaps: Vec<KeyStates> = sets.iter().map(|s| snapshot(s, &Members::All)).collect();
        let w = winner(snaps.iter());
        let reversed = winner(snaps.iter().rev());
        prop_assert_eq!(&w, &reversed);
        let mut merged = sets[0].clone();
        merged.merge(&sets[1]);
        merged.merge(&sets[2]);
        let key = Bytes::from("k");
        for (set, snap) in sets.iter_mut().zip(&snaps) {
            for op in plan(&key, snap, &w) {
                op.apply_to(set);
            }
            prop_assert_eq!(&*set, &merged);
        }
        // Repairing again finds nothing to do.
        let snaps: Vec<KeyStates> = sets.iter().map(|s| snapshot(s, &Members::All)).collect();
        let w = winner(snaps.iter());
        for snap in &snaps {
            prop_assert!(plan(&key, snap, &w).is_empty());
        }
    }

    /// Repairing only some members never breaks agreement on them.
    #[test]
    fn partial_repair_agrees_on_its_members(ops in ops()) {
        let mut sets: Vec<Set> = (0..3).map(|_| Set::with_max_size(usize::MAX)).collect();
        for (r, op) in &ops {
            op.apply_to(&mut sets[*r]);
        }
        let ask = Members::Only(vec![Bytes::from("a"), Bytes::from("c")]);
        let snaps: Vec<KeyStates> = sets.iter().map(|s| snapshot(s, &ask)).collect();
        let w = winner(snaps.iter());
        let key = Bytes::from("k");
        for (set, snap) in sets.iter_mut().zip(&snaps) {
            for op in plan(&key, snap, &w) {
                op.apply_to(set);
            }
        }
        for m in [&b"a"[..], b"c"] {
            prop_assert!(sets.iter().all(|x| x.state(m) == sets[0].state(m)));
        }
    }
}

#[test]
fn a_newer_delete_beats_an_older_insert_in_either_order() {
    for (a, b) in [(0, 1), (1, 0)] {
        let mut sets = [Set::new(), Set::new()];
        op(Kind::Insert, -3.0, "m").apply_to(&mut sets[a]);
        op(Kind::Delete, -3.0, "m").apply_to(&mut sets[b]); // tie: delete wins
        let snaps: Vec<KeyStates> = sets.iter().map(|s| snapshot(s, &Members::All)).collect();
        let w = winner(snaps.iter());
        assert_eq!(w.states[&Bytes::from("m")], State::removed(s(-3.0)));
        for (set, snap) in sets.iter_mut().zip(&snaps) {
            for o in plan(&Bytes::from("k"), snap, &w) {
                o.apply_to(set);
            }
            assert_eq!(set.state(b"m"), Some(State::removed(s(-3.0))));
        }
    }
}

#[test]
fn union_keeps_the_highest_score_and_lists_differences() {
    let e = |v, m: &str| Entry {
        score: s(v),
        member: Bytes::from(m.to_string()),
    };
    let a = [e(3.0, "x"), e(1.0, "y")];
    let b = [e(2.0, "x"), e(1.0, "y")];
    let (entries, differ) = union(&[&a, &b]);
    assert_eq!(entries, vec![e(3.0, "x"), e(1.0, "y")]);
    assert_eq!(differ, vec![Bytes::from("x")]);
    let (_, differ) = union(&[&a, &a[..1]]);
    assert_eq!(differ, vec![Bytes::from("y")], "missing from one answer");
    assert!(union(&[&a, &a]).1.is_empty());
}

#[tokio::test(start_paused = true)]
async fn writes_answer_at_quorum_and_finish_in_the_background() {
    let slow = Mem::new("slow", usize::MAX);
    slow.delay_ms.store(1000, Ordering::SeqCst);
    let (farm, _) = farm(
        vec![Mem::new("a", usize::MAX), Mem::new("b", usize::MAX), slow],
        opts(ReadStrategy::SendAllReadAll, RepairStrategy::NoRepairs),
    );
    let started = tokio::time::Instant::now();
    assert_eq!(
        farm.apply(vec![op(Kind::Insert, 1.0, "m")]).await.unwrap(),
        1
    );
    assert!(
        started.elapsed() < Duration::from_millis(1000),
        "answered at quorum"
    );
    assert!(farm.replicas()[2].set("k").state(b"m").is_none());
    farm.settled().await;
    assert_eq!(
        farm.replicas()[2].set("k").state(b"m"),
        Some(State::added(s(1.0)))
    );
}

#[tokio::test(start_paused = true)]
async fn a_write_whose_caller_goes_away_still_reaches_every_replica() {
    let replicas: Vec<Mem> = ["a", "b", "c"]
        .into_iter()
        .map(|name| {
            let m = Mem::new(name, usize::MAX);
            m.delay_ms.store(100, Ordering::SeqCst);
            m
        })
        .collect();
    let (farm, _) = farm(
        replicas,
        opts(ReadStrategy::SendAllReadAll, RepairStrategy::NoRepairs),
    );
    let mut write = Box::pin(farm.apply(vec![op(Kind::Insert, 1.0, "m")]));
    assert!(futures_util::poll!(write.as_mut()).is_pending());
    drop(write);
    farm.settled().await;
    for replica in farm.replicas().iter() {
        assert_eq!(
            replica.set("k").state(b"m"),
            Some(State::added(s(1.0))),
            "{}",
            replica.name()
        );
    }
}

#[tokio::test(start_paused = true)]
async fn no_quorum_is_unavailable_and_names_the_failures() {
    let (farm, _) = farm(
        vec![Mem::new("a", 9), Mem::new("b", 9), Mem::new("c", 9)],
        opts(ReadStrategy::SendAllReadAll, RepairStrategy::NoRepairs),
    );
    farm.replicas()[1].down.store(true, Ordering::SeqCst);
    assert!(farm.apply(vec![op(Kind::Insert, 1.0, "m")]).await.is_ok());
    farm.replicas()[2].down.store(true, Ordering::SeqCst);
    let err = farm
        .apply(vec![op(Kind::Insert, 2.0, "m")])
        .await
        .unwrap_err();
    let err = kit_endpoint::Error::from(err);
    assert_eq!(err.code(), Code::Unavailable);
    assert!(
        err.message().contains("no quorum") && err.message().contains("b is down"),
        "{err}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_read_that_fails_everywhere_is_an_error_for_every_strategy() {
    let d = Duration::from_millis(50);
    for read in [
        ReadStrategy::SendOneReadOne,
        ReadStrategy::SendAllReadAll,
        ReadStrategy::SendAllReadFirstLinger,
        ReadStrategy::SendVarReadFirstLinger {
            rate: 1,
            latency: d,
        },
    ] {
        let (farm, _) = farm(
            vec![Mem::new("a", 9), Mem::new("b", 9)],
            opts(read, RepairStrategy::AllRepairs),
        );
        farm.insert(vec![crate::crdt::Event::new("k", s(1.0), "m")])
            .await
            .unwrap();
        assert_eq!(
            farm.select(vec!["k".into()], Query::offset(0, 9))
                .await
                .unwrap()[0]
                .1
                .len(),
            1
        );
        farm.replicas()[0].down.store(true, Ordering::SeqCst);
        let got = farm
            .select(vec!["k".into()], Query::offset(0, 9))
            .await
            .unwrap();
        assert_eq!(got[0].1.len(), 1, "{read:?}: one replica is enough");
        farm.replicas()[1].down.store(true, Ordering::SeqCst);
        let err = farm
            .select(vec!["k".into()], Query::offset(0, 9))
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("complete failure"),
            "{read:?}: {err}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn read_all_resolves_a_partial_delete_and_repairs_it() {
    let (farm, counters) = farm(
        vec![Mem::new("a", 9), Mem::new("b", 9), Mem::new("c", 9)],
        opts(
            ReadStrategy::SendAllReadAll,
            RepairStrategy::RateLimitedRepairs { keys_per_second: 1 },
        ),
    );
    farm.apply(vec![op(Kind::Insert, 2.0, "m"), op(Kind::Insert, 1.0, "n")])
        .await
        .unwrap();
    farm.settled().await;
    farm.replicas()[1]
        .apply(&[op(Kind::Delete, 2.0, "m")])
        .await
        .unwrap();
    let got = farm
        .select(vec!["k".into()], Query::offset(0, 9))
        .await
        .unwrap();
    let members: Vec<&[u8]> = got[0].1.iter().map(|e| &e.member[..]).collect();
    assert_eq!(members, [b"n"], "the tie goes to the delete before repair");
    farm.settled().await;
    assert_eq!(counters.queued(), 1);
    assert_eq!(
        counters.written(),
        2,
        "written to the two replicas that differ"
    );
    for r in farm.replicas() {
        assert_eq!(r.set("k").state(b"m"), Some(State::removed(s(2.0))));
    }
}

#[tokio::test(start_paused = true)]
async fn linger_answers_first_and_repairs_after_the_slow_replica() {
    let (farm, counters) = farm(
        vec![Mem::new("fast", 9), Mem::new("slow", 9)],
        opts(
            ReadStrategy::SendAllReadFirstLinger,
            RepairStrategy::AllRepairs,
        ),
    );
    farm.replicas()[0]
        .apply(&[op(Kind::Insert, 1.0, "m")])
        .await
        .unwrap();
    farm.replicas()[1].delay_ms.store(500, Ordering::SeqCst);
    let started = tokio::time::Instant::now();
    let got = farm
        .select(vec!["k".into()], Query::offset(0, 9))
        .await
        .unwrap();
    assert_eq!(got[0].1.len(), 1);
    assert!(started.elapsed() < Duration::from_millis(500));
    assert_eq!(counters.queued(), 0, "still lingering");
    farm.settled().await;
    assert_eq!(counters.queued(), 1);
    assert_eq!(
        farm.replicas()[1].set("k").state(b"m"),
        Some(State::added(s(1.0)))
    );
}

#[tokio::test(start_paused = true)]
async fn send_var_permits_refill_and_promote_slow_reads() {
    let latency = Duration::from_millis(50);
    let (farm, _) = farm(
        vec![Mem::new("a", 9), Mem::new("b", 9)],
        opts(
            ReadStrategy::SendVarReadFirstLinger { rate: 2, latency },
            RepairStrategy::NoRepairs,
        ),
    );
    let selects = |farm: &Farm<Mem>| {
        farm.replicas()
            .iter()
            .map(|r| r.selects.load(Ordering::SeqCst))
            .sum::<u64>()
    };
    let read = |farm: Farm<Mem>| async move {
        farm.select(vec!["k".into()], Query::offset(0, 1))
            .await
            .unwrap()
    };
    read(farm.clone()).await;
    read(farm.clone()).await;
    farm.settled().await;
    assert_eq!(selects(&farm), 4, "two permits: sent to all");
    read(farm.clone()).await;
    farm.settled().await;
    assert_eq!(selects(&farm), 5, "no permit: sent to one");
    tokio::time::advance(Duration::from_millis(500)).await;
    read(farm.clone()).await;
    farm.settled().await;
    assert_eq!(selects(&farm), 7, "the bucket refilled");
    // Without a permit, a slow replica is promoted after the latency.
    for r in farm.replicas() {
        r.delay_ms.store(200, Ordering::SeqCst);
    }
    read(farm.clone()).await;
    farm.settled().await;
    assert_eq!(selects(&farm), 9, "promoted to the other replica");
}

#[tokio::test(start_paused = true)]
async fn a_full_repair_queue_drops_and_counts() {
    let mut options = opts(
        ReadStrategy::SendAllReadAll,
        RepairStrategy::RateLimitedRepairs { keys_per_second: 1 },
    );
    options.repair_queue = 1;
    let (farm, counters) = farm(vec![Mem::new("a", 9), Mem::new("b", 9)], options);
    for i in 0..5 {
        farm.replicas()[0]
            .apply(&[op(Kind::Insert, f64::from(i), &format!("m{i}"))])
            .await
            .unwrap();
        farm.select(vec!["k".into()], Query::offset(0, 9))
            .await
            .unwrap();
    }
    assert!(
        counters.dropped() > 0,
        "queued {} dropped {}",
        counters.queued(),
        counters.dropped()
    );
    farm.settled().await;
    assert_eq!(counters.failed(), 0);
}

#[tokio::test(start_paused = true)]
async fn the_walker_repairs_every_key_and_skips_a_down_replica() {
    let (farm, _) = farm(
        vec![Mem::new("a", 9), Mem::new("b", 9), Mem::new("c", 9)],
        opts(ReadStrategy::SendOneReadOne, RepairStrategy::NoRepairs),
    );
    farm.replicas()[0]
        .apply(&[op(Kind::Delete, 1.0, "tomb")])
        .await
        .unwrap();
    farm.replicas()[1]
        .apply(&[KeyOp::write("other", Kind::Insert, s(-1.0), "x")])
        .await
        .unwrap();
    farm.replicas()[2].down.store(true, Ordering::SeqCst);
    let walker = farm
        .walker(WalkerOptions {
            batch_size: 10,
            keys_per_second: 10,
            ..WalkerOptions::default()
        })
        .unwrap();
    let mut reports = 0;
    let progress = walker.pass(&mut |_| reports += 1).await;
    assert_eq!(progress.skipped.len(), 1, "{progress:?}");
    assert!(reports >= 3);
    assert_eq!(
        farm.replicas()[1].set("k").state(b"tomb"),
        Some(State::removed(s(1.0)))
    );
    assert_eq!(
        farm.replicas()[0].set("other").state(b"x"),
        Some(State::added(s(-1.0)))
    );
    assert!(
        farm.walker(WalkerOptions {
            batch_size: 10,
            keys_per_second: 5,
            ..WalkerOptions::default()
        })
        .is_err()
    );
}

#[tokio::test(start_paused = true)]
async fn the_walker_resumes_from_its_checkpoint_and_clears_it() {
    let (farm, _) = farm(
        vec![Mem::new("a", 9), Mem::new("b", 9)],
        opts(ReadStrategy::SendOneReadOne, RepairStrategy::NoRepairs),
    );
    farm.replicas()[0]
        .apply(&[KeyOp::write("only-a", Kind::Insert, s(1.0), "x")])
        .await
        .unwrap();
    farm.replicas()[1]
        .apply(&[KeyOp::write("only-b", Kind::Insert, s(1.0), "y")])
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("checkpoint");
    // A pass interrupted after replica 0: resume at replica 1, shard 0.
    std::fs::write(
        &path,
        "stream-walker checkpoint\nreplica 1\nshard 0\ncursor 0\n",
    )
    .unwrap();
    let options = WalkerOptions {
        batch_size: 10,
        keys_per_second: 10,
        checkpoint: Some(path.clone()),
        ..WalkerOptions::default()
    };
    let progress = farm
        .walker(options.clone())
        .unwrap()
        .pass(&mut |_| {})
        .await;
    assert_eq!((progress.shards_done, progress.keys), (2, 1));
    assert!(
        farm.replicas()[0].set("only-b").state(b"y").is_some(),
        "replica 1 walked"
    );
    assert!(
        farm.replicas()[1].set("only-a").state(b"x").is_none(),
        "replica 0 was done"
    );
    assert!(!path.exists(), "a finished pass clears the checkpoint");
    // The next pass starts from the beginning.
    farm.walker(options).unwrap().pass(&mut |_| {}).await;
    assert!(farm.replicas()[1].set("only-a").state(b"x").is_some());
}

#[tokio::test(start_paused = true)]
async fn a_slow_replica_holds_at_most_max_in_flight_writes() {
    let slow = Mem::new("slow", usize::MAX);
    slow.delay_ms.store(1000, Ordering::SeqCst);
    let mut options = opts(ReadStrategy::SendAllReadAll, RepairStrategy::NoRepairs);
    options.max_in_flight = 2;
    let (farm, _) = farm(
        vec![Mem::new("a", usize::MAX), Mem::new("b", usize::MAX), slow],
        options,
    );
    for i in 0..5 {
        farm.apply(vec![op(Kind::Insert, f64::from(i), &format!("m{i}"))])
            .await
            .unwrap();
    }
    farm.settled().await;
    let reached = farm.replicas()[2].set("k").len();
    assert_eq!(
        reached, 2,
        "only the writes in flight reached the slow replica"
    );
    repair_brings_the_rest(&farm).await;
}

/// One repair of the whole key brings the slow replica every write.
async fn repair_brings_the_rest(farm: &Farm<Mem>) {
    let replicas: Vec<Arc<Mem>> = farm.replicas().to_vec();
    let asks = vec![(Bytes::from("k"), Members::All)];
    let outcome = repair::repair(&replicas, &asks, &NoRepairHooks).await;
    assert_eq!(outcome.failed, 0);
    assert_eq!(replicas[2].set("k").len(), 5);
}
