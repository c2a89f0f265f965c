//! The same cases against every store, and the stores against the CRDT.

use bytes::Bytes;
use proptest::prelude::*;

use super::*;
use crate::crdt::{Cursor, Score, Set};

fn ev(key: &str, score: f64, member: &str) -> Event {
    Event::new(
        key.to_string(),
        Score::new(score).unwrap(),
        member.to_string(),
    )
}

fn members(r: &[KeyEntries]) -> Vec<Vec<(f64, String)>> {
    r.iter()
        .map(|(_, es)| {
            es.iter()
                .map(|e| {
                    (
                        e.score.get(),
                        String::from_utf8_lossy(&e.member).into_owned(),
                    )
                })
                .collect()
        })
        .collect()
}

async fn semantics(store: impl Store) {
    assert_eq!(
        store
            .insert(vec![
                ev("k", 1.0, "a"),
                ev("k", 2.0, "b"),
                ev("k", 2.0, "c"),
                ev("k", -1.0, "n")
            ])
            .await
            .unwrap(),
        4
    );
    assert_eq!(
        store.insert(vec![ev("k", 1.0, "a")]).await.unwrap(),
        0,
        "equal re-insert is a no-op"
    );
    assert_eq!(
        store
            .delete(vec![
                ev("k", 2.0, "b"),
                ev("k", 0.5, "a"),
                ev("other", 9.0, "x")
            ])
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        store.insert(vec![ev("other", 9.0, "x")]).await.unwrap(),
        0,
        "tombstone blocks equal insert"
    );
    let keys = vec![Bytes::from("k"), Bytes::from("other"), Bytes::from("none")];
    let got = store
        .select(keys.clone(), Query::offset(0, 10))
        .await
        .unwrap();
    assert_eq!(
        members(&got),
        vec![
            vec![(2.0, "c".into()), (1.0, "a".into()), (-1.0, "n".into())],
            vec![],
            vec![]
        ]
    );
    let got = store
        .select(keys.clone(), Query::offset(1, 1))
        .await
        .unwrap();
    assert_eq!(members(&got)[0], vec![(1.0, "a".to_string())]);
    let start = Cursor::new(2.0, Bytes::from("c")).unwrap();
    let stop = Cursor::new(-1.0, Bytes::from("n")).unwrap();
    let got = store
        .select(
            keys.clone(),
            Query::cursor(Some(start.clone()), Some(stop), 10),
        )
        .await
        .unwrap();
    assert_eq!(members(&got)[0], vec![(1.0, "a".to_string())]);
    let got = store
        .select(keys.clone(), Query::cursor(Some(start), None, 10))
        .await
        .unwrap();
    assert_eq!(
        members(&got)[0],
        vec![(1.0, "a".to_string()), (-1.0, "n".to_string())]
    );
    store.insert(vec![ev("other", 1.5, "y")]).await.unwrap();
    let all = store
        .select_coalesced(keys, Query::offset(1, 2))
        .await
        .unwrap();
    let flat: Vec<(String, f64)> = all
        .iter()
        .map(|e| (String::from_utf8_lossy(&e.key).into_owned(), e.score.get()))
        .collect();
    assert_eq!(
        flat,
        vec![("other".to_string(), 1.5), ("k".to_string(), 1.0)]
    );
    let long = Event::new(vec![0u8; 70_000], Score::ZERO, "m");
    assert!(matches!(
        store.insert(vec![ev("k", 5.0, "z"), long]).await,
        Err(StoreError::Invalid(_))
    ));
    let got = store
        .select(vec![Bytes::from("k")], Query::offset(0, 1))
        .await
        .unwrap();
    assert_eq!(
        members(&got)[0],
        vec![(2.0, "c".to_string())],
        "a refused batch writes nothing"
    );
}

#[tokio::test]
async fn memory_semantics() {
    semantics(MemoryStore::new()).await;
}

#[tokio::test]
async fn embedded_semantics_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    semantics(EmbeddedStore::<embedded::Fjall>::open(dir.path()).unwrap()).await;
    let store = EmbeddedStore::<embedded::Fjall>::open(dir.path()).unwrap();
    let got = store
        .select(vec![Bytes::from("k")], Query::offset(0, 10))
        .await
        .unwrap();
    assert_eq!(got[0].1.len(), 3);
    assert_eq!(
        store.insert(vec![ev("other", 9.0, "x")]).await.unwrap(),
        0,
        "the tombstone survived the reopen"
    );
}

#[tokio::test]
async fn reopening_with_a_smaller_bound_evicts_and_remembers() {
    let dir = tempfile::tempdir().unwrap();
    let store: EmbeddedStore = EmbeddedStore::open(dir.path()).unwrap();
    let batch = (0..10)
        .map(|i| ev("k", f64::from(i), &format!("m{i}")))
        .collect();
    assert_eq!(store.insert(batch).await.unwrap(), 10);
    drop(store);
    let small = Options {
        max_size: 3,
        ..Options::default()
    };
    let store: EmbeddedStore = EmbeddedStore::open_with(dir.path(), small.clone()).unwrap();
    let got = store
        .select(vec![Bytes::from("k")], Query::offset(0, 100))
        .await
        .unwrap();
    assert_eq!(
        members(&got)[0].iter().map(|(s, _)| *s).collect::<Vec<_>>(),
        vec![9.0, 8.0, 7.0]
    );
    drop(store);
    // The eviction was written back: even with the old bound, m0..m6 stay
    // gone and below the watermark.
    let store: EmbeddedStore = EmbeddedStore::open(dir.path()).unwrap();
    assert_eq!(store.insert(vec![ev("k", 6.0, "m6")]).await.unwrap(), 0);
    let got = store
        .select(vec![Bytes::from("k")], Query::offset(0, 100))
        .await
        .unwrap();
    assert_eq!(got[0].1.len(), 3);
}

#[cfg(feature = "redb")]
#[tokio::test]
async fn redb_semantics_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    semantics(EmbeddedStore::<embedded::Redb>::open(dir.path()).unwrap()).await;
    let store = EmbeddedStore::<embedded::Redb>::open(dir.path()).unwrap();
    let got = store
        .select(vec![Bytes::from("k")], Query::offset(0, 10))
        .await
        .unwrap();
    assert_eq!(got[0].1.len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_share_commits_and_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store: EmbeddedStore = EmbeddedStore::open(dir.path()).unwrap();
    let tasks: Vec<_> = (0..16)
        .map(|t| {
            let store = store.clone();
            tokio::spawn(async move {
                for b in 0..10 {
                    let batch = (0..10)
                        .map(|i| {
                            ev(
                                &format!("k{}", t % 4),
                                f64::from(b * 10 + i),
                                &format!("{t}-{b}-{i}"),
                            )
                        })
                        .collect();
                    assert_eq!(store.insert(batch).await.unwrap(), 10);
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let keys = (0..4).map(|k| Bytes::from(format!("k{k}"))).collect();
    let got = store.select(keys, Query::offset(0, 10_000)).await.unwrap();
    assert_eq!(got.iter().map(|(_, e)| e.len()).sum::<usize>(), 1600);
}

#[derive(Clone, Debug)]
struct Op {
    delete: bool,
    key: u8,
    score: i8,
    member: u8,
}

fn ops() -> impl Strategy<Value = Vec<Op>> {
    prop::collection::vec(
        (any::<bool>(), 0u8..2, -3i8..4, 0u8..5).prop_map(|(delete, key, score, member)| Op {
            delete,
            key,
            score,
            member,
        }),
        0..30,
    )
}

fn to_event(op: &Op) -> (Kind, Event) {
    let kind = if op.delete {
        Kind::Delete
    } else {
        Kind::Insert
    };
    (
        kind,
        Event::new(
            vec![op.key],
            Score::new(f64::from(op.score)).unwrap(),
            vec![op.member],
        ),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The embedded store, in batches of any shape, reads back exactly what
    /// the CRDT says, with and without the bound, for every query.
    #[test]
    fn embedded_matches_the_crdt(ops in ops(), max in prop_oneof![Just(usize::MAX), 0usize..4], split in 1usize..5) {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let options = Options { max_size: max, cache_bytes: 1 << 20 };
        let store: EmbeddedStore = EmbeddedStore::open_with(dir.path(), options).unwrap();
        let mut sets = [Set::with_max_size(max), Set::with_max_size(max)];
        let mut want_applied = 0;
        let mut got_applied = 0;
        for chunk in ops.chunks(split) {
            for op in chunk {
                let (kind, e) = to_event(op);
                want_applied += usize::from(sets[usize::from(op.key)].apply(kind, e.score, &e.member));
            }
            // one request per kind run, in order
            for op in chunk {
                let (kind, e) = to_event(op);
                got_applied += rt.block_on(store.write(kind, vec![e])).unwrap();
            }
        }
        prop_assert_eq!(got_applied, want_applied);
        let check = |store: &EmbeddedStore| -> Result<(), TestCaseError> {
            for (k, set) in sets.iter().enumerate() {
                let key = [u8::try_from(k).unwrap()];
                let mine = store.get_ref().get(&key).unwrap_or_else(|| Set::with_max_size(max));
                prop_assert_eq!(&mine, set, "the whole state, watermark included");
                for q in [Query::offset(0, 100), Query::offset(1, 2), Query::cursor(Some(Cursor::new(1.0, Bytes::from(vec![2u8])).unwrap()), None, 3)] {
                    let got = rt.block_on(store.select(vec![Bytes::copy_from_slice(&key)], q.clone())).unwrap();
                    prop_assert_eq!(&got[0].1, &set.select(&q));
                }
            }
            Ok(())
        };
        check(&store)?;
        drop(store);
        let reopened: EmbeddedStore = EmbeddedStore::open_with(dir.path(), Options { max_size: max, cache_bytes: 1 << 20 }).unwrap();
        check(&reopened)?;    }
}

/// An engine that keeps nothing and fails while `FLAKY_FAILING` is set.
struct Flaky;

static FLAKY_FAILING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

impl embedded::Engine for Flaky {
    fn open(_: &std::path::Path, _: usize) -> Result<Flaky, StoreError> {
        Ok(Flaky)
    }

    fn write(&self, _: &[embedded::Record]) -> Result<(), StoreError> {
        if FLAKY_FAILING.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(StoreError::engine(std::io::Error::other("disk on fire")));
        }
        Ok(())
    }

    fn sync(&self) -> Result<(), StoreError> {
        Ok(())
    }

    fn scan(&self, _: embedded::Visit<'_>) -> Result<(), StoreError> {
        Ok(())
    }
}

#[tokio::test]
async fn a_failed_commit_stops_writes_until_reopened() {
    let dir = tempfile::tempdir().unwrap();
    let store: EmbeddedStore<Flaky> = EmbeddedStore::open(dir.path()).unwrap();
    assert_eq!(store.insert(vec![ev("k", 1.0, "a")]).await.unwrap(), 1);
    FLAKY_FAILING.store(true, std::sync::atomic::Ordering::SeqCst);
    // The writer may see the records and the ack in one group or two: the
    // engine's error or the refusal that follows it.
    let err = store.insert(vec![ev("k", 2.0, "b")]).await.unwrap_err();
    assert!(
        err.to_string().contains("disk on fire") || err.to_string().contains("reopened"),
        "{err}"
    );
    FLAKY_FAILING.store(false, std::sync::atomic::Ordering::SeqCst);
    // The engine works again, but the store does not trust it: b is in
    // memory and maybe not on disk, and a retry would write nothing.
    let err = store.insert(vec![ev("k", 2.0, "b")]).await.unwrap_err();
    assert!(err.to_string().contains("reopened"), "{err}");
    assert_eq!(
        kit_endpoint::Error::from(err).code(),
        kit_endpoint::Code::Unavailable
    );
    // Reads still work.
    let got = store
        .select(vec![Bytes::from("k")], Query::offset(0, 9))
        .await
        .unwrap();
    assert_eq!(got[0].1.len(), 2);
}
