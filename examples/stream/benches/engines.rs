//! redb against fjall under the embedded store: durable batch-100 inserts
//! and a select of one key, limit 10, in the same run.
//!
//! Run with `cargo bench -p stream --features redb --bench engines`.

#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout
)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::Criterion;
use kit_testkit::bench::{criterion, mean_ns, report};
use stream::crdt::{Event, Query, Score};
use stream::store::embedded::{Engine, Fjall, Redb};
use stream::store::{EmbeddedStore, Options, Store};

/// Concurrent writers for the group-commit figure.
const WRITERS: u64 = 16;
/// Keys and events per key loaded before the select benchmark.
const KEYS: u64 = 100;
const PER_KEY: u64 = 1_000;

fn batch(seq: u64) -> Vec<Event> {
    (0..100)
        .map(|i| {
            let n = seq * 100 + i;
            Event::new(
                format!("bench:{:04}", n % 1000),
                Score::new(n as f64).unwrap(),
                format!("event:{n:012}"),
            )
        })
        .collect()
}

fn open<E: Engine>(dir: &std::path::Path) -> EmbeddedStore<E> {
    let options = Options {
        max_size: usize::MAX,
        ..Options::default()
    };
    EmbeddedStore::open_with(dir, options).unwrap()
}

fn bench_engine<E: Engine>(c: &mut Criterion, rt: &tokio::runtime::Runtime, name: &str) {
    let dir = tempfile::tempdir().unwrap();
    let store: EmbeddedStore<E> = open(dir.path());
    let mut g = c.benchmark_group("engines");
    let mut seq = 0u64;
    // One caller: every batch pays its own fsync.
    g.bench_function(format!("{name}_insert_batch100"), |b| {
        b.iter_custom(|n| {
            rt.block_on(async {
                let start = Instant::now();
                for _ in 0..n {
                    seq += 1;
                    store.insert(batch(seq)).await.unwrap();
                }
                start.elapsed()
            })
        })
    });
    // 16 callers at once: batches share fsyncs (group commit). Time per batch.
    g.bench_function(format!("{name}_insert_batch100_16_writers"), |b| {
        b.iter_custom(|n| {
            rt.block_on(async {
                let start = Instant::now();
                let per = n.div_ceil(WRITERS);
                let tasks: Vec<_> = (0..WRITERS)
                    .map(|w| {
                        let store = store.clone();
                        let base = seq + 1 + w * per;
                        tokio::spawn(async move {
                            for i in 0..per {
                                store.insert(batch(base + i)).await.unwrap();
                            }
                        })
                    })
                    .collect();
                for t in tasks {
                    t.await.unwrap();
                }
                seq += WRITERS * per;
                start.elapsed().mul_f64(n as f64 / (WRITERS * per) as f64)
            })
        })
    });
    let loaded = tempfile::tempdir().unwrap();
    let read_store: EmbeddedStore<E> = open(loaded.path());
    rt.block_on(async {
        for k in 0..KEYS {
            let events = (0..PER_KEY)
                .map(|i| {
                    Event::new(
                        format!("key:{k}"),
                        Score::new(i as f64).unwrap(),
                        format!("member:{i:08}"),
                    )
                })
                .collect();
            read_store.insert(events).await.unwrap();
        }
    });
    let key = vec![Bytes::from("key:42")];
    g.bench_function(format!("{name}_select_1key_limit10"), |b| {
        b.iter(|| {
            let got = rt
                .block_on(read_store.select(black_box(key.clone()), Query::offset(0, 10)))
                .unwrap();
            assert_eq!(got[0].1.len(), 10);
            black_box(got)
        })
    });
    g.finish();
}

/// The same batches into the memory store: the cost of the write path
/// without any disk.
fn bench_memory(c: &mut Criterion, rt: &tokio::runtime::Runtime) {
    let store = stream::store::MemoryStore::with_max_size(usize::MAX);
    let mut seq = 0u64;
    c.benchmark_group("engines")
        .bench_function("memory_insert_batch100", |b| {
            b.iter_custom(|n| {
                rt.block_on(async {
                    let start = Instant::now();
                    for _ in 0..n {
                        seq += 1;
                        store.insert(batch(seq)).await.unwrap();
                    }
                    start.elapsed()
                })
            })
        });
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut c = criterion().measurement_time(Duration::from_secs(3));
    bench_memory(&mut c, &rt);
    bench_engine::<Redb>(&mut c, &rt, "redb");
    bench_engine::<Fjall>(&mut c, &rt, "fjall");
    c.final_summary();
    for op in [
        "insert_batch100",
        "insert_batch100_16_writers",
        "select_1key_limit10",
    ] {
        report(
            &format!("{op}: fjall against redb"),
            &format!("engines/redb_{op}"),
            &[&format!("engines/fjall_{op}")],
        );
    }
    report(
        "durable insert, batch of 100, against the memory store",
        "engines/memory_insert_batch100",
        &[
            "engines/redb_insert_batch100",
            "engines/fjall_insert_batch100",
            "engines/redb_insert_batch100_16_writers",
            "engines/fjall_insert_batch100_16_writers",
        ],
    );
    for engine in ["redb", "fjall"] {
        for op in ["insert_batch100", "insert_batch100_16_writers"] {
            if let Some(ns) = mean_ns(&format!("engines/{engine}_{op}")) {
                println!("{engine} {op}: {:.0} events/s", 100.0 * 1e9 / ns);
            }
        }
        if let Some(ns) = mean_ns(&format!("engines/{engine}_select_1key_limit10")) {
            println!(
                "{engine} select_1key_limit10: {:.0} selects/s on one thread",
                1e9 / ns
            );
        }
    }
}
