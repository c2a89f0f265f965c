//! Durability: a writer process is SIGKILLed mid-load; after reopening the
//! store every batch it acknowledged is there. Twice on the same directory,
//! so recovery after a crash is crashed again.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use stream::crdt::Query;
use stream::store::{EmbeddedStore, Store};

/// Acknowledged batches to wait for before the kill.
const KILL_AFTER: usize = 300;

/// Runs the writer from batch `first`, kills it after `KILL_AFTER` acks,
/// and returns every id it acknowledged.
fn run_and_kill(dir: &std::path::Path, first: u64) -> Vec<u64> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_stream-crashtest"))
        .arg(dir)
        .arg(first.to_string())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut acked = Vec::new();
    while acked.len() < KILL_AFTER {
        assert!(Instant::now() < deadline, "the writer is too slow");
        let line = lines.next().expect("the writer stopped early").unwrap();
        acked.push(line.parse().unwrap());
    }
    child.kill().unwrap(); // SIGKILL
    // Lines already written before the kill are acknowledged batches too;
    // a torn last line is not counted.
    for line in lines.map_while(Result::ok) {
        if let Ok(id) = line.parse() {
            acked.push(id);
        }
    }
    let status = child.wait().unwrap();
    assert_eq!(
        status.signal(),
        Some(9),
        "killed mid-load, not finished: {status:?}"
    );
    acked
}

async fn check(dir: &std::path::Path, acked: &[u64]) {
    let store: EmbeddedStore = EmbeddedStore::open(dir).unwrap();
    let keys: Vec<Bytes> = (0..8).map(|k| Bytes::from(format!("k{k}"))).collect();
    let stored = store
        .select(keys, Query::offset(0, usize::MAX))
        .await
        .unwrap();
    let members: HashSet<Bytes> = stored
        .into_iter()
        .flat_map(|(_, es)| es.into_iter().map(|e| e.member))
        .collect();
    let missing: Vec<u64> = acked
        .iter()
        .copied()
        .filter(|id| (0..10).any(|i| !members.contains(format!("{id}-{i}").as_bytes())))
        .collect();
    assert!(missing.is_empty(), "acknowledged batches lost: {missing:?}");
}

#[tokio::test]
async fn every_acknowledged_batch_survives_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let first = run_and_kill(dir.path(), 0);
    check(dir.path(), &first).await;
    let second = run_and_kill(dir.path(), 1_000_000);
    let all: Vec<u64> = first.into_iter().chain(second).collect();
    check(dir.path(), &all).await;
}
