//! The store on a real Redis Cluster (three primaries, via kit-testkit):
//! the scripts match the core for keys whatever their bytes (braces, the
//! empty key), the walker's scan finds every key on every primary, a dead
//! primary fails only its keys and in bounded time, and the
//! farm's `-redis.cluster` flag serves from one.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod differential;

use std::collections::BTreeSet;

use bytes::Bytes;
use kit_testkit::RedisCluster;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use stream::crdt::{Event, Query, Score};
use stream::farm::{FarmConfig, Replica};
use stream::redis::{Cluster, ClusterConfig, Instances, native};
use stream::store::Store;

fn seeds(redis: &RedisCluster) -> Instances {
    redis.seeds().parse().unwrap()
}

async fn connect(redis: &RedisCluster, config: &ClusterConfig) -> Cluster {
    Cluster::redis_cluster(&seeds(redis).clusters()[0], config)
        .await
        .unwrap()
}

async fn flush(redis: &RedisCluster) {
    for port in redis.ports() {
        let client = redis::Client::open(format!("redis://127.0.0.1:{port}/")).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        let () = redis::cmd("FLUSHALL").query_async(&mut conn).await.unwrap();
    }
}

/// The differential proptest of `redis_store.rs`, on a Redis Cluster, with
/// keys whose braces would split a naive hash tag.
#[test]
fn the_scripts_match_the_core_on_a_redis_cluster() {
    let redis = RedisCluster::start(3).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut runner = TestRunner::new_with_rng(
        Config {
            cases: 200,
            ..Config::default()
        },
        TestRng::deterministic_rng(RngAlgorithm::ChaCha),
    );
    let keys = vec!["", "}", "{x}", "k"];
    let strategy = differential::history(keys.clone());
    let key_bytes: Vec<Bytes> = keys.iter().map(|k| Bytes::from(*k)).collect();
    runner
        .run(&strategy, |case| {
            rt.block_on(async {
                flush(&redis).await;
                let config = ClusterConfig {
                    max_size: case.1,
                    ..ClusterConfig::default()
                };
                let store = connect(&redis, &config).await;
                differential::check(&store, &key_bytes, case).await
            })
        })
        .unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn the_walkers_scan_finds_every_key_on_every_primary() {
    let redis = RedisCluster::start(3).unwrap();
    let store = connect(&redis, &ClusterConfig::default()).await;
    assert_eq!(store.shards(), 3, "one shard per primary");
    let at = |s: f64| Score::new(s).unwrap();
    let keys: BTreeSet<Bytes> = (0..60).map(|i| Bytes::from(format!("key-{i}"))).collect();
    for (i, key) in keys.iter().enumerate() {
        let event = vec![Event::new(key.clone(), at(1.0), "m")];
        // Every third key holds only a tombstone.
        if i % 3 == 0 {
            store.delete(event).await.unwrap();
        } else {
            store.insert(event).await.unwrap();
        }
    }
    let mut seen = BTreeSet::new();
    let mut per_shard = Vec::new();
    for shard in 0..store.shards() {
        let mut cursor = 0;
        let mut found = 0;
        loop {
            let (next, batch) = store.scan(shard, cursor, 7).await.unwrap();
            found += batch.len();
            seen.extend(batch);
            if next == 0 {
                break;
            }
            cursor = next;
        }
        per_shard.push(found);
    }
    assert_eq!(seen, keys);
    assert!(
        per_shard.iter().all(|&n| n > 0),
        "keys spread over the primaries: {per_shard:?}"
    );
    // The names in Redis carry the hash tag.
    let mut conn = redis::Client::open(format!("redis://127.0.0.1:{}/", redis.ports()[0]))
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let names: Vec<Vec<u8>> = redis::cmd("KEYS")
        .arg("*")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(
        names
            .iter()
            .all(|n| native::untagged(&n[..n.len() - 1]).is_some()),
        "{names:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_farm_serves_from_a_redis_cluster_with_the_flag() {
    let redis = RedisCluster::start(3).unwrap();
    let mut config = FarmConfig::new(seeds(&redis));
    config.redis_cluster = true;
    let farm = config.connect().await.unwrap();
    let at = |s: f64| Score::new(s).unwrap();
    let events: Vec<Event> = (0..20)
        .map(|i| Event::new(format!("k{}", i % 5), at(f64::from(i)), format!("m{i}")))
        .collect();
    assert_eq!(farm.insert(events).await.unwrap(), 20);
    assert_eq!(
        farm.delete(vec![Event::new("k0", at(100.0), "m0")])
            .await
            .unwrap(),
        1
    );
    let got = farm
        .select(vec!["k0".into(), "k1".into()], Query::offset(0, 10))
        .await
        .unwrap();
    let members = |i: usize| -> Vec<&[u8]> { got[i].1.iter().map(|e| &e.member[..]).collect() };
    assert_eq!(members(0), vec![&b"m15"[..], b"m10", b"m5"]);
    assert_eq!(members(1), vec![&b"m16"[..], b"m11", b"m6", b"m1"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_primary_fails_only_its_keys_in_bounded_time_and_comes_back() {
    let mut redis = RedisCluster::start(3).unwrap();
    let config = ClusterConfig {
        connect_timeout: std::time::Duration::from_millis(500),
        response_timeout: std::time::Duration::from_millis(500),
        ..ClusterConfig::default()
    };
    let store = connect(&redis, &config).await;
    let at = |s: f64| Score::new(s).unwrap();
    let keys: Vec<Bytes> = (0..30).map(|i| Bytes::from(format!("key-{i}"))).collect();
    for key in &keys {
        store
            .insert(vec![Event::new(key.clone(), at(1.0), "m")])
            .await
            .unwrap();
    }
    // Which primary holds each key, by asking each node for its own keys.
    let mut on_node: Vec<BTreeSet<Bytes>> = Vec::new();
    for port in redis.ports() {
        let mut conn = redis::Client::open(format!("redis://127.0.0.1:{port}/"))
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap();
        let names: Vec<Vec<u8>> = redis::cmd("KEYS")
            .arg("*")
            .query_async(&mut conn)
            .await
            .unwrap();
        on_node.push(
            names
                .iter()
                .filter_map(|n| native::untagged(&n[..n.len() - 1]).map(Bytes::copy_from_slice))
                .collect(),
        );
    }
    assert!(on_node.iter().all(|k| !k.is_empty()), "{on_node:?}");

    redis.node(1).process().kill();
    let began = std::time::Instant::now();
    let results = store.select_each(&keys, &Query::offset(0, 10)).await;
    let took = began.elapsed();
    for (key, result) in keys.iter().zip(&results) {
        if on_node[1].contains(key) {
            assert!(
                result.is_err(),
                "{key:?} lives on the dead node: {result:?}"
            );
        } else {
            assert_eq!(result.as_ref().unwrap().len(), 1, "{key:?}: {result:?}");
        }
    }
    // Bounded: redis-rs retries a few times, each bounded by the timeouts.
    assert!(took < std::time::Duration::from_secs(15), "took {took:?}");

    // Back, with its slots (its cluster config survives; its data does not:
    // persistence is off). Writes to its keys work again.
    redis.node(1).restart().unwrap();
    let key = on_node[1].iter().next().unwrap().clone();
    let mut written = None;
    for _ in 0..200 {
        match store
            .insert(vec![Event::new(key.clone(), at(2.0), "n")])
            .await
        {
            Ok(n) => {
                written = Some(n);
                break;
            }
            // The node rejoins through gossip; the client reconnects.
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
        }
    }
    assert_eq!(written, Some(1), "the restarted primary takes writes again");
}
