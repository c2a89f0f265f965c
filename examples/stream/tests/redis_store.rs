//! The Redis store against real `redis-server`s: the Lua scripts match the
//! core (a differential proptest), and the pool survives restarts, fails
//! fast when exhausted, and trips its breaker.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod differential;

use std::time::{Duration, Instant};

use bytes::Bytes;
use kit_endpoint::Code;
use kit_testkit::RedisServer;
use proptest::strategy::Strategy;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use stream::crdt::{Cursor, Event, Query, Score};
use stream::farm::Replica;
use stream::redis::{Cluster, ClusterConfig, Instances};
use stream::store::Store;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn cluster(servers: &[&RedisServer], config: &ClusterConfig) -> Cluster {
    let list: Vec<String> = servers
        .iter()
        .map(|s| format!("127.0.0.1:{}", s.port()))
        .collect();
    let instances: Instances = list.join(",").parse().unwrap();
    Cluster::new(&instances.clusters()[0], config).unwrap()
}

async fn flush(servers: &[&RedisServer]) {
    for s in servers {
        let client = redis::Client::open(s.url()).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        let () = redis::cmd("FLUSHALL").query_async(&mut conn).await.unwrap();
    }
}

/// Random operation sequences (inserts, deletes, watermark raises; ties,
/// negative and extreme scores; size bounds from 0 to 5) give the same
/// per-operation results and the same states in Redis as in the core,
/// however they are split into script calls; selects by offset and by
/// cursor agree too.
#[test]
fn the_scripts_match_the_core() {
    differential_run(differential::history(vec!["k1", "k2"]), 1000);
}

/// The same, on histories of mostly inserts, where a call often holds only
/// inserts for a key without tombstones (the script's one-command path).
#[test]
fn the_scripts_match_the_core_on_runs_of_inserts() {
    differential_run(differential::history_of_inserts(vec!["k1", "k2"]), 500);
}

fn differential_run(strategy: impl Strategy<Value = differential::Case>, cases: u32) {
    let (a, b) = (RedisServer::start().unwrap(), RedisServer::start().unwrap());
    let servers = [&a, &b];
    let rt = runtime();
    // A fixed seed: the same histories on every run.
    let mut runner = TestRunner::new_with_rng(
        Config {
            cases,
            ..Config::default()
        },
        TestRng::deterministic_rng(RngAlgorithm::ChaCha),
    );
    runner
        .run(&strategy, |(ops, max_size, split, queries)| {
            rt.block_on(async {
                flush(&servers).await;
                let config = ClusterConfig {
                    max_size,
                    ..ClusterConfig::default()
                };
                let redis = cluster(&servers, &config);
                let keys: Vec<Bytes> = ["k1", "k2", "k3"].into_iter().map(Bytes::from).collect();
                differential::check(&redis, &keys, (ops, max_size, split, queries)).await
            })
        })
        .unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn cursors_page_exactly_through_a_thousand_equal_scores() {
    let server = RedisServer::start().unwrap();
    let store = cluster(&[&server], &ClusterConfig::default());
    let five = Score::new(5.0).unwrap();
    let events: Vec<Event> = (0..1000u32)
        .map(|i| Event::new("k", five, i.to_be_bytes().to_vec()))
        .collect();
    assert_eq!(store.insert(events).await.unwrap(), 1000);
    let mut seen = Vec::new();
    let mut start = None;
    loop {
        let page = store
            .select(vec!["k".into()], Query::cursor(start.clone(), None, 7))
            .await
            .unwrap();
        let entries = &page[0].1;
        let Some(last) = entries.last() else { break };
        start = Some(Cursor::at(last.score, last.member.clone()));
        seen.extend(entries.iter().cloned());
    }
    assert_eq!(seen.len(), 1000);
    let all = store
        .select(vec!["k".into()], Query::offset(0, 2000))
        .await
        .unwrap();
    assert_eq!(seen, all[0].1);
}

#[tokio::test(flavor = "current_thread")]
async fn scripts_are_reloaded_after_script_flush_and_restart() {
    let mut server = RedisServer::start().unwrap();
    let store = cluster(&[&server], &ClusterConfig::default());
    let ev = |v: f64| vec![Event::new("k", Score::new(v).unwrap(), "m")];
    assert_eq!(store.insert(ev(1.0)).await.unwrap(), 1);
    let client = redis::Client::open(server.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let () = redis::cmd("SCRIPT")
        .arg("FLUSH")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(store.insert(ev(2.0)).await.unwrap(), 1, "NOSCRIPT reloads");
    // After a restart (data and scripts gone, pooled connections stale),
    // the very first request succeeds.
    server.kill();
    server.restart().unwrap();
    assert_eq!(
        store.insert(ev(3.0)).await.unwrap(),
        1,
        "no request fails on a stale connection"
    );
    let got = store
        .select(vec!["k".into()], Query::offset(0, 9))
        .await
        .unwrap();
    assert_eq!(got[0].1.len(), 1);
}

#[tokio::test(flavor = "current_thread")]
async fn every_pooled_connection_is_replaced_after_a_restart() {
    let mut server = RedisServer::start().unwrap();
    let store = cluster(
        &[&server],
        &ClusterConfig {
            pool_size: 4,
            pipeline_depth: 1,
            ..ClusterConfig::default()
        },
    );
    // Four connections in the pool at once (one request each).
    let reads = (0..4).map(|_| store.select(vec!["k".into()], Query::offset(0, 1)));
    for r in futures_util::future::join_all(reads).await {
        r.unwrap();
    }
    server.kill();
    server.restart().unwrap();
    for _ in 0..8 {
        store
            .select(vec!["k".into()], Query::offset(0, 1))
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exhausted_pool_fails_fast_with_resource_exhausted() {
    let mut server = RedisServer::start().unwrap();
    let config = ClusterConfig {
        pool_size: 1,
        pipeline_depth: 1,
        pool_timeout: Duration::from_millis(100),
        response_timeout: Duration::from_secs(2),
        ..ClusterConfig::default()
    };
    let store = std::sync::Arc::new(cluster(&[&server], &config));
    store
        .select(vec!["k".into()], Query::offset(0, 1))
        .await
        .unwrap();
    server.process().pause().unwrap();
    // Two requests for room for one: whichever gets it waits for the
    // paused server until its reply timeout; the other fails fast.
    let began = Instant::now();
    let request = || {
        let store = store.clone();
        tokio::spawn(async move {
            let result = store.select(vec!["k".into()], Query::offset(0, 1)).await;
            (
                kit_endpoint::Error::from(result.unwrap_err()).code(),
                began.elapsed(),
            )
        })
    };
    let (a, b) = (request(), request());
    let (first, second) = (a.await.unwrap(), b.await.unwrap());
    let (fast, slow) = if first.1 < second.1 {
        (first, second)
    } else {
        (second, first)
    };
    assert_eq!(fast.0, Code::ResourceExhausted, "{fast:?}");
    assert!(fast.1 < Duration::from_secs(1), "failed fast: {fast:?}");
    assert_eq!(slow.0, Code::DeadlineExceeded, "{slow:?}");
    server.process().resume().unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn the_breaker_opens_on_a_dead_instance_and_errors_name_it() {
    let mut server = RedisServer::start().unwrap();
    let store = cluster(&[&server], &ClusterConfig::default());
    server.kill();
    let mut codes = Vec::new();
    for _ in 0..6 {
        let err = kit_endpoint::Error::from(
            store
                .select(vec!["k".into()], Query::offset(0, 1))
                .await
                .unwrap_err(),
        );
        assert!(
            err.message()
                .contains(&format!("127.0.0.1:{}", server.port())),
            "{err}"
        );
        codes.push(err.code());
    }
    assert!(codes.iter().all(|c| *c == Code::Unavailable), "{codes:?}");
    let err = kit_endpoint::Error::from(
        store
            .select(vec!["k".into()], Query::offset(0, 1))
            .await
            .unwrap_err(),
    );
    assert!(err.message().contains("circuit breaker is open"), "{err}");
}

#[tokio::test(flavor = "current_thread")]
async fn keys_spread_over_instances_and_scan_finds_tombstone_only_keys() {
    let (a, b) = (RedisServer::start().unwrap(), RedisServer::start().unwrap());
    let store = cluster(&[&a, &b], &ClusterConfig::default());
    let one = Score::new(1.0).unwrap();
    let events: Vec<Event> = (0..40)
        .map(|i| Event::new(format!("key{i}"), one, "m"))
        .collect();
    assert_eq!(store.delete(events).await.unwrap(), 40);
    let mut found = Vec::new();
    for shard in 0..store.shards() {
        let mut cursor = 0;
        let mut shard_keys = 0;
        loop {
            let (next, keys) = store.scan(shard, cursor, 10).await.unwrap();
            shard_keys += keys.len();
            found.extend(keys);
            cursor = next;
            if cursor == 0 {
                break;
            }
        }
        assert!(
            shard_keys > 5,
            "murmur3 spreads keys: shard {shard} has {shard_keys}"
        );
    }
    found.sort();
    found.dedup();
    assert_eq!(found.len(), 40);
    assert_eq!(
        store.instance_of(b"foo").unwrap().port(),
        [a.port(), b.port()][0xf6a5_c420 % 2]
    );
}

/// The text of `INFO <section>` from `server`.
async fn info(server: &RedisServer, section: &str) -> String {
    let client = redis::Client::open(server.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    redis::cmd("INFO")
        .arg(section)
        .query_async(&mut conn)
        .await
        .unwrap()
}

/// `EVALSHA` calls the server has run so far.
async fn evalsha_calls(server: &RedisServer) -> u64 {
    info(server, "commandstats")
        .await
        .lines()
        .find_map(|l| l.strip_prefix("cmdstat_evalsha:calls="))
        .and_then(|rest| rest.split(',').next())
        .map_or(0, |n| n.parse().unwrap())
}

#[tokio::test(flavor = "current_thread")]
async fn concurrent_writes_share_script_calls_and_each_gets_its_own_answer() {
    let server = RedisServer::start().unwrap();
    let store = std::sync::Arc::new(cluster(&[&server], &ClusterConfig::default()));
    let at = |s: f64| Score::new(s).unwrap();
    // Loads the scripts, and one write each later request repeats.
    store
        .insert(vec![Event::new("k0", at(1.0), "old")])
        .await
        .unwrap();
    let before = evalsha_calls(&server).await;
    // 64 requests at once: request i inserts its own member, and every
    // fourth also repeats the earlier write (a no-op) and deletes a member
    // of the request before it at a higher score (which applies).
    let requests: Vec<_> = (0..64u32)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let key = format!("k{}", i % 4);
                let mut events = vec![Event::new(key.clone(), at(f64::from(i)), format!("m{i}"))];
                let inserted = if i % 4 == 0 {
                    events.push(Event::new("k0", at(1.0), "old"));
                    store.insert(events).await
                } else {
                    store.insert(events).await
                };
                let deleted = if i % 4 == 0 && i > 0 {
                    let prev = i - 1;
                    store
                        .delete(vec![Event::new(
                            format!("k{}", prev % 4),
                            at(1e6),
                            format!("m{prev}"),
                        )])
                        .await
                } else {
                    Ok(0)
                };
                (inserted.unwrap(), deleted.unwrap())
            })
        })
        .collect();
    for (i, r) in futures_util::future::join_all(requests)
        .await
        .into_iter()
        .enumerate()
    {
        let (inserted, deleted) = r.unwrap();
        assert_eq!(inserted, 1, "request {i}: only its own member is new");
        assert_eq!(deleted, usize::from(i % 4 == 0 && i > 0), "request {i}");
    }
    let calls = evalsha_calls(&server).await - before;
    assert!(
        calls < 32,
        "{calls} script calls for 64 + 15 concurrent writes: not coalesced"
    );
    // What the store holds is what the requests did, in any order.
    let keys: Vec<Bytes> = (0..4).map(|k| Bytes::from(format!("k{k}"))).collect();
    let got = store.select(keys, Query::offset(0, 100)).await.unwrap();
    for (k, entries) in got {
        let k: u32 = std::str::from_utf8(&k[1..]).unwrap().parse().unwrap();
        let mut want: Vec<String> = (0..64u32)
            .filter(|i| i % 4 == k && !(i % 4 == 3 && i + 1 < 64))
            .map(|i| format!("m{i}"))
            .collect();
        if k == 0 {
            want.push("old".into());
        }
        let mut have: Vec<String> = entries
            .iter()
            .map(|e| String::from_utf8(e.member.to_vec()).unwrap())
            .collect();
        want.sort();
        have.sort();
        assert_eq!(have, want, "key k{k}");
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_write_whose_requester_goes_away_fails_nobody_else() {
    let server = RedisServer::start().unwrap();
    let store = cluster(&[&server], &ClusterConfig::default());
    let at = |s: f64| Score::new(s).unwrap();
    store
        .insert(vec![Event::new("k", at(0.0), "first")])
        .await
        .unwrap();
    // The first write queued, then eight behind it, so all nine share a
    // round; then the first requester goes away.
    let mut gone = Box::pin(store.insert(vec![Event::new("k", at(1.0), "gone")]));
    assert!(futures_util::poll!(gone.as_mut()).is_pending());
    let mut others: Vec<_> = (0..8u32)
        .map(|i| Box::pin(store.insert(vec![Event::new("k", at(2.0), format!("m{i}"))])))
        .collect();
    for o in &mut others {
        assert!(futures_util::poll!(o.as_mut()).is_pending());
    }
    drop(gone);
    for o in others {
        assert_eq!(o.await.unwrap(), 1);
    }
    let got = store
        .select(vec!["k".into()], Query::offset(0, 20))
        .await
        .unwrap();
    assert!(got[0].1.len() >= 9, "{:?}", got[0].1);
}

/// A server stat from `INFO stats` (e.g. `total_reads_processed`).
async fn stat(server: &RedisServer, name: &str) -> u64 {
    info(server, "stats")
        .await
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .unwrap_or_else(|| panic!("no {name} in INFO stats"))
        .trim()
        .parse()
        .unwrap()
}

/// Concurrent small requests from separate tasks go out together: Redis
/// reads them in a few reads, not one each, and every request gets its own
/// replies. One worker thread, as tokio's LIFO slot makes the point: without
/// rounds, redis-rs's connection task runs right after each request and
/// sends it alone (this test fails then, with about 60 reads).
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn concurrent_reads_go_out_together_and_each_gets_its_own_reply() {
    let server = RedisServer::start().unwrap();
    let store = std::sync::Arc::new(cluster(&[&server], &ClusterConfig::default()));
    let at = |s: f64| Score::new(s).unwrap();
    let n = 40u32;
    let events = (0..n)
        .map(|i| Event::new(format!("k{i}"), at(f64::from(i)), format!("m{i}")))
        .collect();
    store.insert(events).await.unwrap();
    let before = stat(&server, "total_reads_processed").await;
    // Spawned from the worker, so that all are queued before any runs (as
    // when one wake-up finds many requests ready).
    let reads = tokio::spawn(async move {
        let reads: Vec<_> = (0..n)
            .map(|i| {
                let store = store.clone();
                tokio::spawn(async move {
                    let got = store
                        .select(vec![format!("k{i}").into()], Query::offset(0, 10))
                        .await
                        .unwrap();
                    (i, got)
                })
            })
            .collect();
        futures_util::future::join_all(reads).await
    });
    for r in reads.await.unwrap() {
        let (i, got) = r.unwrap();
        let members: Vec<&[u8]> = got[0].1.iter().map(|e| &e.member[..]).collect();
        assert_eq!(members, [format!("m{i}").as_bytes()], "request {i}");
    }
    // The reads of the requests, plus the INFO that asks.
    let reads = stat(&server, "total_reads_processed").await - before;
    assert!(
        reads <= 6,
        "Redis read {n} concurrent selects in {reads} reads: not sent together"
    );
}

/// In a shared round, an error reply stays with its request, and a request
/// whose caller went away takes nobody down with it.
#[tokio::test(flavor = "current_thread")]
async fn a_round_keeps_each_request_s_errors_and_survives_a_departed_caller() {
    let server = RedisServer::start().unwrap();
    let store = cluster(&[&server], &ClusterConfig::default());
    let at = |s: f64| Score::new(s).unwrap();
    store
        .insert(vec![Event::new("good", at(1.0), "m")])
        .await
        .unwrap();
    // "bad"'s add set is a string: ZREVRANGE on it is an error reply.
    let client = redis::Client::open(server.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let () = redis::cmd("SET")
        .arg("bad+")
        .arg("x")
        .query_async(&mut conn)
        .await
        .unwrap();
    let select = |key: &'static str| store.select(vec![key.into()], Query::offset(0, 10));
    let mut gone = Box::pin(select("good"));
    assert!(futures_util::poll!(gone.as_mut()).is_pending());
    let (bad, good) = (select("bad"), select("good"));
    drop(gone);
    let (bad, good) = futures_util::future::join(bad, good).await;
    let message = bad.unwrap_err().to_string();
    assert!(message.contains("WRONGTYPE"), "{message}");
    assert_eq!(good.unwrap()[0].1.len(), 1);
}
