//! The farm under faults, with real `redis-server` processes: three
//! clusters of two instances, concurrent writes and reads, an instance
//! killed and restarted (empty), a whole cluster stopped and restarted
//! (empty), an instance paused with SIGSTOP. Every acknowledged write
//! survives, reads keep serving, no request passes its deadline, and read
//! repair plus one walker pass make the clusters byte-identical.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use kit_testkit::RedisServer;
use stream::crdt::{Event, Kind, Query, Score, State};
use stream::farm::{Farm, FarmConfig, KeyOp, Members, Replica, WalkerOptions};
use stream::redis::Instances;
use stream::store::Store;
use tokio::sync::watch;

/// Every request must finish within this, whatever the fault.
const DEADLINE: Duration = Duration::from_secs(2);

/// Contents of every sorted set of one cluster: Redis name to
/// `ZRANGE name 0 -1 WITHSCORES`, raw bytes.
type Contents = BTreeMap<Vec<u8>, Vec<Vec<u8>>>;

fn start(n: usize) -> Vec<RedisServer> {
    (0..n).map(|_| RedisServer::start().unwrap()).collect()
}

/// `a,b;c,d;…` for `servers` in clusters of `per`.
fn farm_string(servers: &[RedisServer], per: usize) -> String {
    let addrs: Vec<String> = servers
        .iter()
        .map(|s| format!("127.0.0.1:{}", s.port()))
        .collect();
    addrs
        .chunks(per)
        .map(|c| c.join(","))
        .collect::<Vec<_>>()
        .join(";")
}

fn config(instances: &str, read: &str, repair: &str) -> FarmConfig {
    let mut c = FarmConfig::new(instances.parse::<Instances>().unwrap());
    c.connect_timeout = Duration::from_millis(300);
    c.read_timeout = Duration::from_millis(300);
    c.pool_timeout = Duration::from_millis(200);
    c.read_strategy = read.into();
    c.repair_strategy = repair.into();
    c
}

async fn contents(servers: &[&RedisServer]) -> Contents {
    let mut out = Contents::new();
    for s in servers {
        let client = redis::Client::open(s.url()).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        let names: Vec<Vec<u8>> = redis::cmd("KEYS")
            .arg("*")
            .query_async(&mut conn)
            .await
            .unwrap();
        for name in names {
            let members: Vec<Vec<u8>> = redis::cmd("ZRANGE")
                .arg(&name)
                .arg(0)
                .arg(-1)
                .arg("WITHSCORES")
                .query_async(&mut conn)
                .await
                .unwrap();
            out.insert(name, members);
        }
    }
    out
}

async fn assert_identical(servers: &[RedisServer], per: usize) -> usize {
    let mut all = Vec::new();
    for cluster in servers.chunks(per) {
        all.push(contents(&cluster.iter().collect::<Vec<_>>()).await);
    }
    for (i, c) in all.iter().enumerate().skip(1) {
        if *c != all[0] {
            let differ: Vec<_> = all[0]
                .keys()
                .chain(c.keys())
                .filter(|k| all[0].get(*k) != c.get(*k))
                .take(5)
                .collect();
            panic!(
                "cluster {i} differs from cluster 0 on {} names, e.g. {differ:?}",
                all[0].len().max(c.len())
            );
        }
    }
    all[0].len()
}

/// A tiny deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// Load counters, and what was acknowledged.
#[derive(Default)]
struct Load {
    stop: AtomicBool,
    read_ok: AtomicU64,
    read_err: AtomicU64,
    write_err: AtomicU64,
    too_slow: AtomicU64,
    acked: std::sync::Mutex<Vec<(Kind, Event)>>,
}

async fn timed<T>(load: &Load, f: impl Future<Output = T>) -> T {
    let began = Instant::now();
    let out = f.await;
    if began.elapsed() > DEADLINE {
        load.too_slow.fetch_add(1, Ordering::SeqCst);
    }
    out
}

async fn writer(farm: Farm, load: Arc<Load>, seed: u64, progress: watch::Sender<u64>) {
    let mut rng = Rng(seed);
    while !load.stop.load(Ordering::SeqCst) {
        let r = rng.next();
        let kind = if r.is_multiple_of(5) {
            Kind::Delete
        } else {
            Kind::Insert
        };
        let score = Score::new((r >> 8) as f64 % 200.0 - 100.0).unwrap(); // negatives and ties
        let ev = Event::new(
            format!("key{}", (r >> 20) % 60),
            score,
            format!("m{}", (r >> 32) % 12),
        );
        let result = timed(&load, farm.write(kind, vec![ev.clone()])).await;
        match result {
            Ok(_) => load.acked.lock().unwrap().push((kind, ev)),
            Err(_) => {
                load.write_err.fetch_add(1, Ordering::SeqCst);
            }
        }
        progress.send_modify(|n| *n += 1);
    }
}

async fn reader(farm: Farm, load: Arc<Load>, seed: u64, reads: watch::Sender<u64>) {
    let mut rng = Rng(seed);
    while !load.stop.load(Ordering::SeqCst) {
        let keys = (0..3)
            .map(|_| Bytes::from(format!("key{}", rng.next() % 60)))
            .collect::<std::collections::HashSet<_>>();
        let result = timed(
            &load,
            farm.select(keys.into_iter().collect(), Query::offset(0, 20)),
        )
        .await;
        let counter = if result.is_ok() {
            &load.read_ok
        } else {
            &load.read_err
        };
        counter.fetch_add(1, Ordering::SeqCst);
        reads.send_modify(|n| *n += 1);
        tokio::task::yield_now().await;
    }
}

/// Waits until a counter (writes or reads attempted) reaches `n` (a real
/// process is involved, so the wait is bounded and says what it waited
/// for).
async fn writes_reach(progress: &mut watch::Receiver<u64>, n: u64, what: &str) {
    let waited = tokio::time::timeout(
        Duration::from_secs(20),
        progress.wait_for(|&done| done >= n),
    )
    .await
    .map(|r| r.map(|_| ()));
    if waited.is_err() {
        panic!("load stalled before {what}: {} writes", *progress.borrow());
    }
}

/// Waits until every instance's breaker is closed again: the load keeps
/// calling them, so an open breaker probes and closes once its instance
/// answers. Polls the condition, bounded, since real processes recover
/// on their own time.
async fn recovered(farm: &Farm, what: &str) {
    let closed = || {
        farm.replicas()
            .iter()
            .flat_map(|r| r.breakers().map(|(_, b)| b.state()).collect::<Vec<_>>())
            .all(|s| s == kit_circuitbreaker::State::Closed)
    };
    let wait = async {
        let mut tick = tokio::time::interval(Duration::from_millis(20));
        while !closed() {
            tick.tick().await;
        }
    };
    if tokio::time::timeout(Duration::from_secs(15), wait)
        .await
        .is_err()
    {
        panic!("the farm did not recover after {what}: {farm:?}");
    }
}

/// Runs `f` on `servers` (a process operation that blocks) off the runtime.
fn with_servers<T>(f: impl FnOnce() -> T) -> T {
    tokio::task::block_in_place(f)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_faults_and_the_clusters_converge() {
    let mut servers = start(6);
    let farm = config(&farm_string(&servers, 2), "SendAllReadAll", "AllRepairs")
        .connect()
        .await
        .unwrap();
    let load = Arc::new(Load::default());
    let (tx, mut progress) = watch::channel(0u64);
    let (reads_tx, mut reads) = watch::channel(0u64);
    let mut tasks = Vec::new();
    for seed in 1..=2u64 {
        tasks.push(tokio::spawn(writer(
            farm.clone(),
            load.clone(),
            seed * 7919,
            tx.clone(),
        )));
        tasks.push(tokio::spawn(reader(
            farm.clone(),
            load.clone(),
            seed * 104_729,
            reads_tx.clone(),
        )));
    }
    let reads_during = |load: &Load| {
        (
            load.read_ok.load(Ordering::SeqCst),
            load.read_err.load(Ordering::SeqCst),
        )
    };

    // Fault 1: kill an instance mid-load, then restart it (empty).
    writes_reach(&mut progress, 150, "the kill").await;
    with_servers(|| servers[1].kill());
    let before = reads_during(&load);
    writes_reach(&mut progress, 300, "the restart").await;
    let target = *reads.borrow() + 20;
    writes_reach(&mut reads, target, "20 reads with the kill").await;
    let after = reads_during(&load);
    assert!(
        after.0 > before.0 && after.1 == before.1,
        "reads during the kill: {before:?} -> {after:?}"
    );
    with_servers(|| servers[1].restart()).unwrap();
    recovered(&farm, "restarting an instance").await;

    // Fault 2: stop a whole cluster, then restart it (empty).
    writes_reach(&mut progress, 400, "stopping cluster 1").await;
    with_servers(|| {
        servers[2].kill();
        servers[3].kill();
    });
    let before = reads_during(&load);
    writes_reach(&mut progress, 550, "restarting cluster 1").await;
    let target = *reads.borrow() + 20;
    writes_reach(&mut reads, target, "20 reads with a cluster down").await;
    let after = reads_during(&load);
    assert!(
        after.0 > before.0 && after.1 == before.1,
        "reads with a cluster down: {before:?} -> {after:?}"
    );
    with_servers(|| {
        servers[2].restart().unwrap();
        servers[3].restart().unwrap();
    });
    recovered(&farm, "restarting a cluster").await;

    // Fault 3: a slow node (SIGSTOP), then SIGCONT.
    writes_reach(&mut progress, 650, "pausing an instance").await;
    with_servers(|| servers[4].process().pause()).unwrap();
    let before = reads_during(&load);
    writes_reach(&mut progress, 800, "resuming it").await;
    let target = *reads.borrow() + 20;
    writes_reach(&mut reads, target, "20 reads with a paused node").await;
    let after = reads_during(&load);
    assert!(
        after.0 > before.0 && after.1 == before.1,
        "reads with a paused node: {before:?} -> {after:?}"
    );
    with_servers(|| servers[4].process().resume()).unwrap();
    recovered(&farm, "resuming a paused instance").await;
    writes_reach(&mut progress, 900, "the end of the load").await;

    load.stop.store(true, Ordering::SeqCst);
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(
        load.too_slow.load(Ordering::SeqCst),
        0,
        "requests past the {DEADLINE:?} deadline"
    );
    assert_eq!(load.read_err.load(Ordering::SeqCst), 0, "reads failed");

    // Repair what the reads found, then one walker pass.
    farm.settled().await;
    let walker = farm
        .walker(WalkerOptions {
            batch_size: 100,
            keys_per_second: 100_000,
            ..WalkerOptions::default()
        })
        .unwrap();
    let walked = walker.pass(&mut |_| {}).await;
    assert!(
        walked.skipped.is_empty() && walked.failed == 0,
        "{walked:?}"
    );
    farm.settled().await;
    let names = assert_identical(&servers, 2).await;
    assert!(names > 60, "only {names} sorted sets");

    // Every acknowledged write is there: each member's state is at least
    // the state every acknowledged write asked for.
    let acked = load.acked.lock().unwrap().clone();
    let attempts = *progress.borrow();
    assert!(
        acked.len() * 10 > attempts as usize * 8,
        "{} of {attempts} writes acknowledged",
        acked.len()
    );
    let mut want: HashMap<(Bytes, Bytes), State> = HashMap::new();
    for (kind, e) in &acked {
        let s = State {
            score: e.score,
            kind: *kind,
        };
        let slot = want.entry((e.key.clone(), e.member.clone())).or_insert(s);
        *slot = (*slot).max(s);
    }
    let keys: Vec<(Bytes, Members)> = (0..60)
        .map(|i| (Bytes::from(format!("key{i}")), Members::All))
        .collect();
    let states = farm.replicas()[0].read_states(&keys).await;
    let mut have: HashMap<(Bytes, Bytes), State> = HashMap::new();
    for ((key, _), ks) in keys.iter().zip(states) {
        for (m, s) in ks.unwrap().states {
            have.insert((key.clone(), m), s);
        }
    }
    for (km, s) in &want {
        let got = have.get(km).copied();
        assert!(
            got >= Some(*s),
            "{km:?}: acknowledged {s:?}, stored {got:?}"
        );
    }
    // And the farm shows exactly the members whose state is an insert.
    for (key, _) in &keys {
        let got = farm
            .select(vec![key.clone()], Query::offset(0, 100))
            .await
            .unwrap();
        let visible: Vec<&Bytes> = got[0].1.iter().map(|e| &e.member).collect();
        let mut expected: Vec<&Bytes> = have
            .iter()
            .filter(|((k, _), s)| k == key && s.is_added())
            .map(|((_, m), _)| m)
            .collect();
        expected.sort_by(|a, b| b.cmp(a));
        let mut visible_sorted = visible.clone();
        visible_sorted.sort_by(|a, b| b.cmp(a));
        assert_eq!(visible_sorted, expected, "{key:?}");
    }
}

/// A delete on one cluster and an older (or equal, or negative) insert on
/// another converge to the delete on every cluster, whichever clusters
/// hold which and in whatever order the farm lists them; by read repair,
/// and by the walker alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delete_beats_an_older_insert_whatever_the_cluster_order() {
    let servers = start(3);
    let s = |v: f64| Score::new(v).unwrap();
    let cases = [
        (s(5.0), s(3.0)),
        (s(-1.0), s(-2.0)),
        (s(2.0), s(2.0)),
        (s(-3.0), s(-3.0)),
    ];
    let orders = [[0, 1, 2], [2, 1, 0], [1, 2, 0]];
    let mut round = 0;
    for order in orders {
        let list: Vec<String> = order
            .iter()
            .map(|&i| format!("127.0.0.1:{}", servers[i].port()))
            .collect();
        for (repair, read) in [
            ("AllRepairs", "SendAllReadAll"),
            ("NoRepairs", "SendOneReadOne"),
        ] {
            let farm = config(&list.join(";"), read, repair)
                .connect()
                .await
                .unwrap();
            for (c, (del, ins)) in cases.iter().enumerate() {
                round += 1;
                let key = format!("case{round}-{c}");
                let d = round % 3;
                let i = (d + 1 + c % 2) % 3;
                farm.replicas()[d]
                    .apply(&[KeyOp::write(key.clone(), Kind::Delete, *del, "m")])
                    .await
                    .unwrap();
                farm.replicas()[i]
                    .apply(&[KeyOp::write(key.clone(), Kind::Insert, *ins, "m")])
                    .await
                    .unwrap();
                if repair == "AllRepairs" {
                    let got = farm
                        .select(vec![key.clone().into()], Query::offset(0, 9))
                        .await
                        .unwrap();
                    assert!(
                        got[0].1.is_empty(),
                        "the delete wins the read: {key} {got:?}"
                    );
                    farm.settled().await;
                } else {
                    let walker = farm
                        .walker(WalkerOptions {
                            keys_per_second: 10_000,
                            ..WalkerOptions::default()
                        })
                        .unwrap();
                    walker.pass(&mut |_| {}).await;
                }
                for r in farm.replicas() {
                    let states = r
                        .read_states(&[(key.clone().into(), Members::All)])
                        .await
                        .remove(0)
                        .unwrap();
                    assert_eq!(
                        states.states,
                        vec![(Bytes::from("m"), State::removed(*del))],
                        "{key} on {}",
                        r.name()
                    );
                }
            }
        }
    }
    assert_identical(&servers, 1).await;
}

/// With a whole cluster paused (SIGSTOP), writes still meet the quorum,
/// reads still answer, and nothing waits past its deadline; the paused
/// instances' breakers open so later requests fail over at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_request_hangs_past_its_deadline_with_a_cluster_paused() {
    let mut servers = start(3);
    for strategy in ["SendAllReadAll", "SendAllReadFirstLinger", "SendOneReadOne"] {
        let farm = config(&farm_string(&servers, 1), strategy, "AllRepairs")
            .connect()
            .await
            .unwrap();
        farm.insert(vec![Event::new("k", Score::new(1.0).unwrap(), "m")])
            .await
            .unwrap();
        with_servers(|| servers[2].process().pause()).unwrap();
        let mut slowest = Duration::ZERO;
        for i in 0..20 {
            let began = Instant::now();
            farm.insert(vec![Event::new(
                "k",
                Score::new(2.0 + f64::from(i)).unwrap(),
                "m",
            )])
            .await
            .unwrap();
            let got = farm
                .select(vec!["k".into()], Query::offset(0, 9))
                .await
                .unwrap();
            assert_eq!(got[0].1.len(), 1);
            slowest = slowest.max(began.elapsed());
        }
        assert!(
            slowest < DEADLINE,
            "{strategy}: slowest request {slowest:?}"
        );
        // The writes and reads still going to the paused instance time out,
        // and its breaker opens.
        farm.settled().await;
        let (_, breaker) = farm.replicas()[2].breakers().next().unwrap();
        assert_ne!(
            breaker.state(),
            kit_circuitbreaker::State::Closed,
            "{strategy}"
        );
        with_servers(|| servers[2].process().resume()).unwrap();
        farm.settled().await;
    }
}

/// `stream-walker -once` with roshi-walker's flags repairs a key that only
/// one cluster has (tombstones only), and leaves no checkpoint behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_walker_binary_walks_once_with_roshi_flags() {
    let servers = start(2);
    let instances = farm_string(&servers, 1);
    let farm = config(&instances, "SendOneReadOne", "NoRepairs")
        .connect()
        .await
        .unwrap();
    let del = Score::new(-7.0).unwrap();
    farm.replicas()[0]
        .apply(&[KeyOp::write("only-tombstones", Kind::Delete, del, "m")])
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let checkpoint = dir.path().join("walker.checkpoint");
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_stream-walker"))
        .args(["-redis.instances", &instances, "-once", "-batch.size", "10"])
        .args(["-max.keys.per.second", "100", "-checkpoint"])
        .arg(&checkpoint)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(30), out)
        .await
        .expect("the walker finished")
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    assert!(log.contains("pass complete"), "{log}");
    assert!(!checkpoint.exists());
    let states = farm.replicas()[1]
        .read_states(&[("only-tombstones".into(), Members::All)])
        .await
        .remove(0)
        .unwrap();
    assert_eq!(states.states, vec![(Bytes::from("m"), State::removed(del))]);
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_stream-walker"))
        .args([
            "-redis.instances",
            &instances,
            "-once",
            "-batch.size",
            "10",
            "-max.keys.per.second",
            "5",
        ])
        .output()
        .unwrap();
    assert!(
        !bad.status.success(),
        "a rate below the batch size is refused"
    );
}
