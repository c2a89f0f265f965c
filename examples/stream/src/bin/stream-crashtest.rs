//! Test-only: writes batches to an embedded store and prints the id of each
//! batch once the store has acknowledged it, until it is killed.
//!
//! `tests/crash.rs` runs it, SIGKILLs it mid-load, reopens the store and
//! checks that every printed batch is there. Usage:
//!
//! ```text
//! stream-crashtest <data dir> <first batch id>
//! ```
//!
//! Batch `id` holds [`EVENTS_PER_BATCH`] inserts into key `k<id % 8>`, members
//! `<id>-<i>`, score `id`. It stops by itself after [`MAX_BATCHES`] batches
//! or [`MAX_RUN`], so it cannot run forever if nobody kills it.

use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use stream::crdt::{Event, Score};
use stream::store::{EmbeddedStore, Options, Store};

/// Events in each batch.
const EVENTS_PER_BATCH: u64 = 10;
/// Concurrent writers, so that batches share group commits.
const WRITERS: usize = 16;
/// The most batches one run writes.
const MAX_BATCHES: u64 = 200_000;
/// The longest one run lasts.
const MAX_RUN: Duration = Duration::from_secs(60);

fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let mut args = std::env::args().skip(1);
    let dir = args
        .next()
        .ok_or("usage: stream-crashtest <data dir> <first batch id>")?;
    let first: u64 = args.next().ok_or("missing first batch id")?.parse()?;
    let options = Options {
        max_size: usize::MAX,
        ..Options::default()
    };
    let store: EmbeddedStore = EmbeddedStore::open_with(&dir, options)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()?;
    let next = Arc::new(AtomicU64::new(first));
    let started = Instant::now();
    runtime.block_on(async move {
        let writers: Vec<_> = (0..WRITERS)
            .map(|_| {
                let (store, next) = (store.clone(), next.clone());
                tokio::spawn(async move { write_until_done(store, next, first, started).await })
            })
            .collect();
        for w in writers {
            w.await??;
        }
        Ok(())
    })
}

async fn write_until_done(
    store: EmbeddedStore,
    next: Arc<AtomicU64>,
    first: u64,
    started: Instant,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    loop {
        let id = next.fetch_add(1, Ordering::Relaxed);
        if id - first >= MAX_BATCHES || started.elapsed() > MAX_RUN {
            return Ok(());
        }
        let score = Score::new(id as f64)?;
        let batch = (0..EVENTS_PER_BATCH)
            .map(|i| Event::new(format!("k{}", id % 8), score, format!("{id}-{i}")))
            .collect();
        store.insert(batch).await?;
        // Acknowledged: only now may the test count on it.
        writeln!(std::io::stdout().lock(), "{id}")?;
    }
}
