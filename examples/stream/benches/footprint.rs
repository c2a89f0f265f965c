//! Space per stored event at 1,000,000 events: heap bytes for the memory
//! store (counted by a counting global allocator, and the change in RSS),
//! and bytes on disk for the embedded store.
//!
//! Run with `cargo bench -p stream --bench footprint` (add
//! `--features redb` to measure redb's files too).
//!
//! The events: 1,000 keys of 9 bytes (`feed:0042`), 1,000 events each,
//! members of 16 bytes (`event:0000001234`), scores as timestamps.

#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout
)]

use std::alloc::System;
use std::path::Path;

use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use stream::crdt::{Event, Kind, Score};
use stream::store::{EmbeddedStore, MemoryStore, Options, Store, embedded::Engine};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const KEYS: u64 = 1_000;
const PER_KEY: u64 = 1_000;
const EVENTS: u64 = KEYS * PER_KEY;

fn events(key: u64) -> Vec<Event> {
    (0..PER_KEY)
        .map(|i| {
            let n = key * PER_KEY + i;
            Event::new(
                format!("feed:{key:04}"),
                Score::new(1.7e9 + n as f64).unwrap(),
                format!("event:{n:010}"),
            )
        })
        .collect()
}

/// Resident set size, from /proc (Linux), in bytes.
fn rss() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

fn memory() {
    let rss_before = rss();
    let region = Region::new(GLOBAL);
    let store = MemoryStore::with_max_size(usize::MAX);
    for k in 0..KEYS {
        for e in events(k) {
            store.apply(Kind::Insert, e);
        }
    }
    let change = region.change();
    let live = change.bytes_allocated as i64 - change.bytes_deallocated as i64
        + change.bytes_reallocated as i64;
    println!("memory store, {EVENTS} events in {KEYS} keys:");
    println!(
        "  heap, counted by the allocator: {live} bytes = {:.1} bytes/event",
        live as f64 / EVENTS as f64
    );
    if let (Some(before), Some(after)) = (rss_before, rss()) {
        let grown = after.saturating_sub(before);
        println!(
            "  RSS grew by {grown} bytes = {:.1} bytes/event",
            grown as f64 / EVENTS as f64
        );
    }
    assert_eq!(store.len_keys() as u64, KEYS);
}

/// (apparent bytes, allocated bytes) of every file under `dir`.
fn dir_size(dir: &Path) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    let mut total = (0, 0);
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let meta = entry.metadata().unwrap();
        if meta.is_dir() {
            let (a, b) = dir_size(&entry.path());
            total = (total.0 + a, total.1 + b);
        } else {
            total = (total.0 + meta.len(), total.1 + meta.blocks() * 512);
        }
    }
    total
}

fn disk<E: Engine>(name: &str, rt: &tokio::runtime::Runtime) {
    let dir = tempfile::tempdir().unwrap();
    let options = Options {
        max_size: usize::MAX,
        ..Options::default()
    };
    let region = Region::new(GLOBAL);
    let store: EmbeddedStore<E> = EmbeddedStore::open_with(dir.path(), options).unwrap();
    rt.block_on(async {
        for k in 0..KEYS {
            assert_eq!(store.insert(events(k)).await.unwrap() as u64, PER_KEY);
        }
    });
    let change = region.change();
    let live = change.bytes_allocated as i64 - change.bytes_deallocated as i64
        + change.bytes_reallocated as i64;
    drop(store);
    let started = std::time::Instant::now();
    let reopened: EmbeddedStore<E> = EmbeddedStore::open_with(
        dir.path(),
        Options {
            max_size: usize::MAX,
            ..Options::default()
        },
    )
    .unwrap();
    let load = started.elapsed();
    assert_eq!(reopened.get_ref().len_keys() as u64, KEYS);
    drop(reopened);
    let (apparent, allocated) = dir_size(dir.path());
    println!("embedded store ({name}), {EVENTS} events in {KEYS} keys:");
    println!(
        "  heap while open (sets, engine memtables and caches): {live} bytes = {:.1} bytes/event",
        live as f64 / EVENTS as f64
    );
    println!(
        "  on disk: {apparent} bytes apparent = {:.1} bytes/event; {allocated} bytes allocated = {:.1} bytes/event",
        apparent as f64 / EVENTS as f64,
        allocated as f64 / EVENTS as f64
    );
    println!("  reopening (loading every event into memory) took {load:?}");
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    memory();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    disk::<stream::store::embedded::Fjall>("fjall", &rt);
    #[cfg(feature = "redb")]
    disk::<stream::store::embedded::Redb>("redb", &rt);
}
