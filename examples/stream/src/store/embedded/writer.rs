//! The writer and syncer threads: group commit, pipelined.
//!
//! Callers apply their writes to the in-memory sets and, under the same
//! shard lock, queue a [`Record`] of each change; then they queue an ack
//! request and wait. Queue order is therefore the order of the changes to
//! each key, so later records of a row overwrite earlier ones.
//!
//! The **writer** thread takes everything queued (up to [`MAX_GROUP`]
//! records) and writes it in one engine transaction, not yet durable, then
//! passes the acks it took to the **syncer**. The syncer takes every ack
//! passed so far, makes the engine durable with one fsync, and answers them.
//! A caller's records precede its ack in the queue, so they were written
//! before its ack reached the syncer, and the fsync covers them: an
//! answered caller's writes are on disk. The writer prepares the next group
//! while the syncer waits on the disk, and one fsync covers every group
//! written in the meantime, so concurrent callers share fsyncs.
//!
//! If a write or an fsync fails, the store stops accepting writes: the
//! changes are in memory but maybe not on disk, and a retry would find them
//! already applied and write nothing. Reopening the store reloads what the
//! disk has.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::thread::JoinHandle;

use tokio::sync::oneshot;

use super::engine::{Engine, Record};
use crate::store::StoreError;

/// The most records one write transaction takes.
pub(crate) const MAX_GROUP: usize = 100_000;

/// Where an answer goes.
pub(crate) type Ack = oneshot::Sender<Result<(), StoreError>>;

/// What callers queue.
pub(crate) enum Msg {
    /// A change to write.
    Record(Record),
    /// Answer once everything queued before this is durable.
    Ack(Ack),
}

/// The error of every write once a commit has failed.
pub(crate) fn failed_error() -> StoreError {
    StoreError::engine(std::io::Error::other(
        "an earlier commit failed; the store refuses writes until it is reopened",
    ))
}

/// The two threads; joined in order on drop.
pub(crate) struct Threads {
    writer: Option<JoinHandle<()>>,
    syncer: Option<JoinHandle<()>>,
}

impl Drop for Threads {
    fn drop(&mut self) {
        // The writer ends when the queue closes, and its end closes the
        // syncer's channel.
        for handle in [self.writer.take(), self.syncer.take()]
            .into_iter()
            .flatten()
        {
            let _ = handle.join();
        }
    }
}

/// Starts the writer and the syncer.
pub(crate) fn spawn<E: Engine>(
    engine: Arc<E>,
    failed: Arc<AtomicBool>,
) -> Result<(Sender<Msg>, Threads), StoreError> {
    let (queue, queued) = channel();
    let (to_sync, to_answer) = channel();
    let (e, f) = (engine.clone(), failed.clone());
    let syncer = std::thread::Builder::new()
        .name("stream-syncer".into())
        .spawn(move || sync_loop(&*e, &to_answer, &f))
        .map_err(StoreError::engine)?;
    let writer = std::thread::Builder::new()
        .name("stream-writer".into())
        .spawn(move || write_loop(&*engine, &queued, &to_sync, &failed))
        .map_err(StoreError::engine)?;
    Ok((
        queue,
        Threads {
            writer: Some(writer),
            syncer: Some(syncer),
        },
    ))
}

fn answer(acks: Vec<Ack>, result: &Result<(), StoreError>) {
    for ack in acks {
        // A caller that stopped waiting is no error.
        let _ = ack.send(result.clone());
    }
}

fn write_loop<E: Engine>(
    engine: &E,
    queued: &Receiver<Msg>,
    to_sync: &Sender<Vec<Ack>>,
    failed: &AtomicBool,
) {
    let mut records = Vec::new();
    while let Ok(first) = queued.recv() {
        let mut acks = Vec::new();
        let mut next = Some(first);
        while let Some(msg) = next.take() {
            match msg {
                Msg::Record(r) => records.push(r),
                Msg::Ack(a) => acks.push(a),
            }
            if records.len() < MAX_GROUP {
                next = queued.try_recv().ok();
            }
        }
        let result = if failed.load(Ordering::Acquire) {
            Err(failed_error())
        } else if records.is_empty() {
            Ok(())
        } else {
            engine.write(&records)
        };
        records.clear();
        match result {
            Ok(()) => {
                if let Err(unsent) = to_sync.send(acks) {
                    answer(unsent.0, &Err(StoreError::Closed));
                }
            }
            Err(err) => {
                failed.store(true, Ordering::Release);
                answer(acks, &Err(err));
            }
        }
    }
}

fn sync_loop<E: Engine>(engine: &E, to_answer: &Receiver<Vec<Ack>>, failed: &AtomicBool) {
    while let Ok(first) = to_answer.recv() {
        let mut acks = first;
        while let Ok(more) = to_answer.try_recv() {
            acks.extend(more);
        }
        let result = if failed.load(Ordering::Acquire) {
            Err(failed_error())
        } else {
            engine.sync()
        };
        if result.is_err() {
            failed.store(true, Ordering::Release);
        }
        answer(acks, &result);
    }
}
