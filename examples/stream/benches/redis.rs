//! The Redis store against one `redis-server`, beside raw Redis in the same
//! run: the workloads (select 1 key, select 10 keys, insert batch
//! of 1, insert batch of 100) as throughput under concurrent load, and as
//! single-caller latency through criterion with ratios against a raw
//! pipelined `ZADD` of the same size.
//!
//! Run with `cargo bench -p stream --features redis --bench redis`.
//!
//! Throughput: 32 tasks on a 2-worker runtime for 3 s per workload, 32
//! pooled connections, 1,000 keys pre-filled with 100 events each, selects
//! of limit 10. Raw Redis: `redis-benchmark -t zadd -P 100` (pipelined
//! ZADD, Debian's redis-tools) on the same server in the same run.

#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout
)]

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::Criterion;
use kit_testkit::RedisServer;
use kit_testkit::bench::{criterion, report};
use stream::crdt::{Event, Query, Score};
use stream::redis::{Cluster, ClusterConfig, Instances};
use stream::store::Store;

const KEYS: u64 = 1000;
const TASKS: usize = 32;
const RUN: Duration = Duration::from_secs(3);

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn cluster(server: &RedisServer) -> Arc<Cluster> {
    let instances: Instances = format!("127.0.0.1:{}", server.port()).parse().unwrap();
    let config = ClusterConfig {
        pool_size: TASKS,
        ..ClusterConfig::default()
    };
    Arc::new(Cluster::new(&instances.clusters()[0], &config).unwrap())
}

fn key(i: u64) -> Bytes {
    Bytes::from(format!("feed:{:04}", i % KEYS))
}

fn batch(seq: u64, n: u64) -> Vec<Event> {
    (0..n)
        .map(|j| {
            let x = seq * n + j;
            Event::new(
                key(x.wrapping_mul(2_654_435_761)),
                Score::new(1.7e9 + x as f64).unwrap(),
                format!("event:{x:010}"),
            )
        })
        .collect()
}

#[derive(Clone, Copy, Debug)]
enum Work {
    Select(usize),
    Insert(u64),
}

/// Requests a second (and events a second for inserts) with `TASKS`
/// concurrent callers for `RUN`.
fn throughput(rt: &tokio::runtime::Runtime, store: &Arc<Cluster>, work: Work) -> f64 {
    let done = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let seq = Arc::new(AtomicU64::new(1 << 32));
    let elapsed = rt.block_on(async {
        let tasks: Vec<_> = (0..TASKS)
            .map(|t| {
                let (store, done, stop, seq) =
                    (store.clone(), done.clone(), stop.clone(), seq.clone());
                tokio::spawn(async move {
                    let mut i = t as u64 * 7919;
                    while !stop.load(Ordering::Relaxed) {
                        i += 1;
                        match work {
                            Work::Select(n) => {
                                let keys = (0..n as u64).map(|j| key(i * 31 + j)).collect();
                                black_box(store.select(keys, Query::offset(0, 10)).await.unwrap());
                            }
                            Work::Insert(n) => {
                                let s = seq.fetch_add(1, Ordering::Relaxed);
                                black_box(store.insert(batch(s, n)).await.unwrap());
                            }
                        }
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                })
            })
            .collect();
        let start = Instant::now();
        tokio::time::sleep(RUN).await;
        stop.store(true, Ordering::Relaxed);
        for t in tasks {
            t.await.unwrap();
        }
        start.elapsed()
    });
    done.load(Ordering::Relaxed) as f64 / elapsed.as_secs_f64()
}

/// `redis-benchmark -t zadd -P 100`: ZADDs a second, pipelined.
fn redis_benchmark(server: &RedisServer) -> Option<f64> {
    let out = std::process::Command::new("redis-benchmark")
        .args([
            "-p",
            &server.port().to_string(),
            "-t",
            "zadd",
            "-P",
            "100",
            "-n",
            "2000000",
            "-c",
            "32",
            "-q",
        ])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    // "ZADD: 1234567.88 requests per second, p50=…"
    let line = text.lines().rev().find(|l| l.contains("ZADD"))?;
    let rate = line
        .split_whitespace()
        .find_map(|w| w.parse::<f64>().ok())?;
    Some(rate)
}

fn redis_cmd(rt: &tokio::runtime::Runtime, server: &RedisServer, args: &[&str]) -> String {
    let client = redis::Client::open(server.url()).unwrap();
    rt.block_on(async {
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        let mut cmd = redis::cmd(args[0]);
        for a in &args[1..] {
            cmd.arg(*a);
        }
        let v: redis::Value = cmd.query_async(&mut conn).await.unwrap();
        match v {
            redis::Value::BulkString(b) => String::from_utf8_lossy(&b).into_owned(),
            redis::Value::VerbatimString { text, .. } => text,
            other => format!("{other:?}"),
        }
    })
}

/// `usec_per_call` of `EVALSHA` in an `INFO commandstats` reply.
fn evalsha_usec_per_call(info: &str) -> Option<f64> {
    let line = info.lines().find(|l| l.starts_with("cmdstat_evalsha:"))?;
    let field = line
        .split(',')
        .find_map(|f| f.strip_prefix("usec_per_call="))?;
    field.trim().parse().ok()
}

fn latency(
    c: &mut Criterion,
    rt: &tokio::runtime::Runtime,
    store: &Arc<Cluster>,
    server: &RedisServer,
) {
    let client = redis::Client::open(server.url()).unwrap();
    let mut conn = rt
        .block_on(client.get_multiplexed_async_connection())
        .unwrap();
    let mut g = c.benchmark_group("redis");
    let seq = AtomicU64::new(1 << 40);
    g.bench_function("raw_zadd_pipeline_100", |b| {
        b.iter(|| {
            let s = seq.fetch_add(1, Ordering::Relaxed);
            let mut pipe = redis::pipe();
            for e in batch(s, 100) {
                let mut k = e.key.to_vec();
                k.push(b'+');
                pipe.cmd("ZADD")
                    .arg(k)
                    .arg(e.score.get())
                    .arg(&e.member[..])
                    .ignore();
            }
            rt.block_on(pipe.query_async::<()>(&mut conn)).unwrap();
        });
    });
    g.bench_function("insert_batch_100", |b| {
        b.iter(|| {
            let s = seq.fetch_add(1, Ordering::Relaxed);
            rt.block_on(store.insert(batch(s, 100))).unwrap();
        });
    });
    g.bench_function("insert_batch_1", |b| {
        b.iter(|| {
            let s = seq.fetch_add(1, Ordering::Relaxed);
            rt.block_on(store.insert(batch(s, 1))).unwrap();
        });
    });
    let mut i = 0u64;
    for n in [1usize, 10] {
        g.bench_function(format!("select_{n}_keys"), |b| {
            b.iter(|| {
                i += 1;
                let keys = (0..n as u64).map(|j| key(i * 31 + j)).collect();
                black_box(
                    rt.block_on(store.select(keys, Query::offset(0, 10)))
                        .unwrap(),
                );
            });
        });
    }
    g.finish();
}

fn main() {
    let server = RedisServer::start().unwrap();
    let rt = runtime();
    let store = cluster(&server);
    rt.block_on(async {
        for k in 0..KEYS {
            let events: Vec<Event> = (0..100)
                .map(|j| {
                    Event::new(
                        key(k),
                        Score::new(1.6e9 + j as f64).unwrap(),
                        format!("seed:{j:04}"),
                    )
                })
                .collect();
            store.insert(events).await.unwrap();
        }
    });

    let mut c = criterion();
    latency(&mut c, &rt, &store, &server);
    c.final_summary();
    report(
        "Redis store, one caller (ratio to a raw pipelined ZADD of 100)",
        "redis/raw_zadd_pipeline_100",
        &[
            "redis/insert_batch_100",
            "redis/insert_batch_1",
            "redis/select_1_keys",
            "redis/select_10_keys",
        ],
    );

    let raw = redis_benchmark(&server);
    let rows = [
        ("select 1 key", Work::Select(1), 1.0, 24_300.0),
        ("select 10 keys", Work::Select(10), 1.0, 6_700.0),
        ("insert, batch 1", Work::Insert(1), 1.0, 37_500.0),
        (
            "insert, batch 100 (events/s)",
            Work::Insert(100),
            100.0,
            146_500.0,
        ),
    ];
    println!("\n== Redis store throughput, {TASKS} concurrent callers, one redis-server ==");
    println!(
        "{:<32} {:>14} {:>14} {:>8}",
        "workload", "kit req/s", "roshi (issue)", "ratio"
    );
    let mut script_us = None;
    for (name, work, per_request, roshi) in rows {
        let batch_100 = matches!(work, Work::Insert(100));
        if batch_100 {
            redis_cmd(&rt, &server, &["CONFIG", "RESETSTAT"]);
        }
        let rate = throughput(&rt, &store, work) * per_request;
        println!(
            "{name:<32} {rate:>14.0} {roshi:>14.0} {:>8.2}",
            rate / roshi
        );
        if batch_100 {
            script_us = evalsha_usec_per_call(&redis_cmd(&rt, &server, &["INFO", "commandstats"]));
        }
    }
    if let Some(us) = script_us {
        println!(
            "{:<32} {:>14.2}   (Redis CPU per event in write.lua, batch 100, from INFO commandstats: {:.0} events/s per Redis core)",
            "write script, µs per event",
            us / 100.0,
            1e8 / us
        );
    }
    match raw {
        Some(r) => println!(
            "{:<32} {r:>14.0}   (redis-benchmark -t zadd -P 100 -c 32, same server)",
            "raw ZADD pipelined"
        ),
        None => println!("raw ZADD pipelined: redis-benchmark not found (Debian's redis-tools)"),
    }
}
