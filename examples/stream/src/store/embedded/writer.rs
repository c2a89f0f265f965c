//! The writer thread: group commit and the write rule on disk.
//!
//! All writes go through one thread that owns the engine's write side.
//! Callers queue their batch and wait for its answer. The thread takes the
//! first waiting batch, then every batch that queued up behind it (up to
//! [`MAX_GROUP_EVENTS`]), applies them all in **one** transaction and
//! commits it with one fsync, then answers every caller in the group. While
//! it syncs, new batches queue up and form the next group, so under
//! concurrency many batches share each fsync, and a caller is only ever
//! answered after its writes are on disk.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::thread::JoinHandle;

use bytes::Bytes;
use tokio::sync::oneshot;

use super::engine::{Engine, KvWrite};
use super::layout::{self, Meta, TOMB, VISIBLE};
use crate::crdt::{Event, Kind, Position, State};
use crate::store::StoreError;

/// The most events one group commit takes.
pub(crate) const MAX_GROUP_EVENTS: usize = 65_536;

/// One caller's batch and where to send its answer.
pub(crate) struct WriteRequest {
    pub(crate) kind: Kind,
    pub(crate) events: Vec<Event>,
    pub(crate) reply: oneshot::Sender<Result<usize, StoreError>>,
}

/// Starts the writer thread for `engine`.
pub(crate) fn spawn<E: Engine>(
    engine: Arc<E>,
    max_size: usize,
) -> Result<(Sender<WriteRequest>, JoinHandle<()>), StoreError> {
    let (tx, rx) = channel();
    let handle = std::thread::Builder::new()
        .name("stream-writer".into())
        .spawn(move || run(&*engine, &rx, max_size))
        .map_err(StoreError::engine)?;
    Ok((tx, handle))
}

fn run<E: Engine>(engine: &E, rx: &Receiver<WriteRequest>, max_size: usize) {
    while let Ok(first) = rx.recv() {
        let mut events = first.events.len();
        let mut group = vec![first];
        while events < MAX_GROUP_EVENTS {
            let Ok(next) = rx.try_recv() else { break };
            events += next.events.len();
            group.push(next);
        }
        let mut counts = vec![0usize; group.len()];
        let result = engine.write_durable(&mut |txn| {
            counts.fill(0);
            let mut metas: HashMap<Bytes, Meta> = HashMap::new();
            for (count, req) in counts.iter_mut().zip(&group) {
                for event in &req.events {
                    if apply(txn, &mut metas, max_size, req.kind, event)? {
                        *count += 1;
                    }
                }
            }
            for (key, meta) in &metas {
                txn.put(
                    &layout::meta_row(&layout::prefix(key)),
                    &layout::encode_meta(meta),
                )?;
            }
            Ok(())
        });
        for (req, count) in group.into_iter().zip(counts) {
            let answer = match &result {
                Ok(()) => Ok(count),
                Err(err) => Err(StoreError::Engine(err.to_string().into())),
            };
            // A caller that stopped waiting is no error.
            let _ = req.reply.send(answer);
        }
    }
}

/// Applies one write inside the transaction; returns whether it took effect.
fn apply(
    txn: &mut dyn KvWrite,
    metas: &mut HashMap<Bytes, Meta>,
    max_size: usize,
    kind: Kind,
    event: &Event,
) -> Result<bool, StoreError> {
    let prefix = layout::prefix(&event.key);
    if !metas.contains_key(&event.key) {
        let meta = match txn.get(&layout::meta_row(&prefix))? {
            Some(v) => layout::decode_meta(&v)?,
            None => Meta::default(),
        };
        metas.insert(event.key.clone(), meta);
    }
    let Some(meta) = metas.get_mut(&event.key) else {
        return Ok(false);
    };
    let (score, member) = (event.score, &event.member);
    if let Some((ws, wm)) = &meta.watermark
        && (score, member.as_ref()) <= (*ws, wm.as_ref())
    {
        return Ok(false);
    }
    let next = State { score, kind };
    let state_row = layout::state_row(&prefix, member);
    match txn.get(&state_row)? {
        Some(v) => {
            let current = layout::decode_state(&v)?;
            if !current.yields_to(next) {
                return Ok(false);
            }
            txn.remove(&layout::index_row(
                &prefix,
                current.kind,
                current.score,
                member,
            ))?;
        }
        None => meta.count += 1,
    }
    txn.put(&state_row, &layout::encode_state(next))?;
    txn.put(&layout::index_row(&prefix, kind, score, member), &[])?;
    let mut applied = true;
    while meta.count > max_size as u64 {
        let Some((kind, pos)) = lowest(txn, &prefix)? else {
            break;
        };
        txn.remove(&layout::index_row(&prefix, kind, pos.0, &pos.1))?;
        txn.remove(&layout::state_row(&prefix, &pos.1))?;
        meta.count -= 1;
        if pos.0 == score && pos.1 == *member {
            applied = false;
        }
        meta.watermark = Some(pos);
    }
    Ok(applied)
}

/// The lowest entry of a key, visible or tombstone.
fn lowest(txn: &mut dyn KvWrite, prefix: &[u8]) -> Result<Option<(Kind, Position)>, StoreError> {
    let mut best: Option<(Kind, Position)> = None;
    for (tag, kind) in [(VISIBLE, Kind::Insert), (TOMB, Kind::Delete)] {
        let (lo, hi) = layout::tag_range(prefix, tag);
        if let Some(row) = txn.first(&lo, &hi)? {
            let pos = layout::decode_index(prefix.len(), &row)?;
            if best.as_ref().is_none_or(|(_, b)| pos < *b) {
                best = Some((kind, pos));
            }
        }
    }
    Ok(best)
}
