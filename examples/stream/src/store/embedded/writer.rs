//! The writer thread: group commit.
//!
//! Callers apply their writes to the in-memory sets and, under the same
//! shard lock, queue a [`Record`] of each change; then they queue an ack
//! request and wait. Queue order is therefore the order of the changes to
//! each key, so later records of a row overwrite earlier ones.
//!
//! The thread takes everything queued (up to [`MAX_GROUP`] records), writes
//! it in **one** engine transaction with one fsync, then answers every ack
//! it took. A caller's records precede its ack in the queue, so they are in
//! that group or an earlier one: an answered caller's writes are on disk.
//! While one group syncs, the next one queues up, so concurrent callers
//! share fsyncs.
//!
//! If a commit fails, the store stops accepting writes: the changes are in
//! memory but maybe not on disk, and a retry would find them already
//! applied and write nothing. Reopening the store reloads what the disk has.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::thread::JoinHandle;

use tokio::sync::oneshot;

use super::engine::{Engine, Record};
use crate::store::StoreError;

/// The most records one group commit takes.
pub(crate) const MAX_GROUP: usize = 100_000;

/// What callers queue.
pub(crate) enum Msg {
    /// A change to write.
    Record(Record),
    /// Answer once everything queued before this is durable.
    Ack(oneshot::Sender<Result<(), StoreError>>),
}

/// The error of every write once a commit has failed.
pub(crate) fn failed_error() -> StoreError {
    StoreError::Engine(
        "an earlier commit failed; the store refuses writes until it is reopened".into(),
    )
}

/// Starts the writer thread.
pub(crate) fn spawn<E: Engine>(
    engine: Arc<E>,
    failed: Arc<AtomicBool>,
) -> Result<(Sender<Msg>, JoinHandle<()>), StoreError> {
    let (tx, rx) = channel();
    let handle = std::thread::Builder::new()
        .name("stream-writer".into())
        .spawn(move || run(&*engine, &rx, &failed))
        .map_err(StoreError::engine)?;
    Ok((tx, handle))
}

fn run<E: Engine>(engine: &E, rx: &Receiver<Msg>, failed: &AtomicBool) {
    let mut records = Vec::new();
    let mut acks = Vec::new();
    while let Ok(first) = rx.recv() {
        let mut next = Some(first);
        while let Some(msg) = next.take() {
            match msg {
                Msg::Record(r) => records.push(r),
                Msg::Ack(a) => acks.push(a),
            }
            if records.len() < MAX_GROUP {
                next = rx.try_recv().ok();
            }
        }
        let result = if failed.load(Ordering::Acquire) {
            Err(failed_error())
        } else if records.is_empty() {
            Ok(())
        } else {
            engine.write_durable(&records)
        };
        // A failed commit reaches every waiting caller as an error, which
        // is where it is reported.
        if result.is_err() {
            failed.store(true, Ordering::Release);
        }
        records.clear();
        for ack in acks.drain(..) {
            let answer = match &result {
                Ok(()) => Ok(()),
                Err(err) => Err(StoreError::Engine(err.to_string().into())),
            };
            // A caller that stopped waiting is no error.
            let _ = ack.send(answer);
        }
    }
}
