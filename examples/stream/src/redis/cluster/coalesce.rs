//! `Coalescer`: the writes of concurrent requests to one instance, sent
//! together.
//!
//! A write of one event is one script call: a round trip, a script start
//! on the server, a system call each way. Under load many such writes wait
//! at once, so the coalescer sends them as one pipeline of script calls
//! (each call up to [`OPS_PER_CALL`] operations): whatever arrives while a
//! call is in flight goes out together in the next one. Nothing waits for
//! a timer: a write that finds the instance idle is sent at once.
//!
//! The calls run in a task of their own, so a request that goes away (its
//! client hung up) cancels nobody else's write. Each request still gets
//! its own answer, one flag per operation, and only after Redis applied
//! it, so an acknowledged write is as durable as before. A failed call
//! fails every request in it; they were not acknowledged, and every
//! write here is idempotent, so a retry is safe.
//!
//! Why not a library, nor the pool's rounds alone: those send concurrent
//! requests as one pipeline (see `pool/rounds.rs`), but each request would
//! still be a script call of its own; merging operations into one call
//! needs to know what the script takes, which only this store does.
//!
//! A coalescer's round goes to the instance on its own
//! ([`Route::Alone`]), not through the pool's rounds: it is already
//! one pipeline of every write that waited, and a pool round would only
//! hand it to one more task and back. Measured with `kit-load compare` on
//! the binaries before and after as two servers, 3 rounds, each pair of
//! scenarios run in the order A B B A and, in a second run, B A A B (16
//! connections, one instance, 2026-12-08): insert batch 1 +13 % and +7 %,
//! insert batch 100 +7 % and +12 %.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use kit_endpoint::Code;
use redis::Pipeline;
use tokio::sync::oneshot;

use super::super::pool::{Pool, Route};
use super::super::scripts::{self, WRITE, format_score};
use super::OPS_PER_CALL;
use crate::crdt::Kind;
use crate::farm::{KeyOp, Op};
use crate::store::StoreError;

/// The most operations one round sends: a pipeline of script calls.
const OPS_PER_ROUND: usize = 16 * OPS_PER_CALL;
/// Rounds in flight at once per instance: enough that Redis finds the
/// next round waiting when it finishes one, few enough that rounds stay
/// full. Measured with `kit-load compare` on two binaries, 4 rounds of
/// each, in the order 2 4 4 2: insert batch 100 283,710 and 293,490
/// events/s with 2, 296,080 and 302,420 with 4 (+3.7 %); insert batch 1
/// 47,557 and 45,978 req/s with 2, 46,542 and 47,878 with 4 (+0.9 %).
const ROUNDS: usize = 4;
/// Writes that may wait for a round; more fail at once with
/// `ResourceExhausted` (a round is bounded by the pool's timeouts, so
/// this is reached only when Redis cannot keep up at all).
const MAX_WAITING: usize = 4096;

type Answer = Result<Vec<bool>, StoreError>;

/// One instance's write queue. See the [module docs](self).
pub(super) struct Coalescer {
    pool: Arc<Pool>,
    max_size: usize,
    state: Mutex<Queue>,
}

#[derive(Default)]
struct Queue {
    waiting: Vec<Waiter>,
    rounds: usize,
}

struct Waiter {
    ops: Vec<KeyOp>,
    answer: oneshot::Sender<Answer>,
}

impl Coalescer {
    pub(super) fn new(pool: Arc<Pool>, max_size: usize) -> Coalescer {
        Coalescer {
            pool,
            max_size,
            state: Mutex::new(Queue::default()),
        }
    }

    /// Applies `ops`, with whatever other writes are waiting: one flag per
    /// op, true where it changed the key.
    pub(super) async fn apply(self: &Arc<Self>, ops: Vec<KeyOp>) -> Answer {
        if ops.is_empty() {
            return Ok(Vec::new());
        }
        let (tx, rx) = oneshot::channel();
        {
            let mut queue = self.state.lock().unwrap_or_else(|e| e.into_inner());
            if queue.waiting.len() >= MAX_WAITING {
                return Err(StoreError::backend(
                    Code::ResourceExhausted,
                    format!(
                        "redis {}: {} writes already waiting",
                        self.pool.addr(),
                        MAX_WAITING
                    ),
                ));
            }
            queue.waiting.push(Waiter { ops, answer: tx });
            if queue.rounds < ROUNDS {
                queue.rounds += 1;
                tokio::spawn(self.clone().drain());
            }
        }
        rx.await.unwrap_or_else(|_| {
            Err(StoreError::backend(
                Code::Internal,
                format!("redis {}: the write round stopped", self.pool.addr()),
            ))
        })
    }

    /// Sends rounds until nothing waits.
    async fn drain(self: Arc<Self>) {
        let _guard = RoundGuard(&self);
        loop {
            let round = {
                let mut queue = self.state.lock().unwrap_or_else(|e| e.into_inner());
                let mut ops = 0;
                let take = queue
                    .waiting
                    .iter()
                    .take_while(|w| {
                        let first = ops == 0;
                        ops += w.ops.len();
                        first || ops <= OPS_PER_ROUND
                    })
                    .count();
                if take == 0 {
                    queue.rounds -= 1;
                    std::mem::forget(_guard);
                    return;
                }
                queue.waiting.drain(..take).collect::<Vec<_>>()
            };
            let ops: Vec<&KeyOp> = round.iter().flat_map(|w| &w.ops).collect();
            let result = apply_on(&self.pool, self.max_size, &ops).await;
            let mut flags = result.as_ref().map(|f| f.iter());
            for waiter in round {
                let answer = match &mut flags {
                    Ok(flags) => Ok(flags.by_ref().take(waiter.ops.len()).copied().collect()),
                    Err(e) => Err(e.clone()),
                };
                // A requester that went away needs no answer.
                let _ = waiter.answer.send(answer);
            }
        }
    }
}

/// Gives a round's slot back if its task ends by a panic (which would
/// otherwise leave the queue with no round to send it), and starts another
/// round for whoever waits.
struct RoundGuard<'a>(&'a Arc<Coalescer>);

impl Drop for RoundGuard<'_> {
    fn drop(&mut self) {
        let mut queue = self.0.state.lock().unwrap_or_else(|e| e.into_inner());
        if queue.waiting.is_empty() {
            queue.rounds -= 1;
        } else if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(self.0.clone().drain());
        } else {
            queue.rounds -= 1;
        }
    }
}

/// One call of the write script for `chunk` (at most [`OPS_PER_CALL`]
/// ops): its distinct keys, named by `name`, then four arguments per op.
pub(super) fn write_command(
    max_size: usize,
    chunk: &[&KeyOp],
    name: impl Fn(&[u8]) -> Vec<u8>,
) -> redis::Cmd {
    let mut index: HashMap<&[u8], usize> = HashMap::new();
    let mut keys: Vec<Vec<u8>> = Vec::new();
    for op in chunk {
        index.entry(&op.key[..]).or_insert_with(|| {
            keys.push(name(&op.key));
            keys.len()
        });
    }
    let mut cmd = WRITE.invoke(keys.iter().map(Vec::as_slice));
    cmd.arg(max_size);
    for op in chunk {
        cmd.arg(index[&op.key[..]]);
        match &op.op {
            Op::Write { member, state } => {
                let kind = if state.kind == Kind::Insert { "+" } else { "-" };
                cmd.arg(kind)
                    .arg(format_score(state.score))
                    .arg(&member[..]);
            }
            Op::Watermark { score, member } => {
                cmd.arg("~").arg(format_score(*score)).arg(&member[..]);
            }
        }
    }
    cmd
}

/// Applies `ops` on `pool`'s instance: script calls of up to
/// [`OPS_PER_CALL`] ops, pipelined; one flag per op.
pub(super) async fn apply_on(
    pool: &Arc<Pool>,
    max_size: usize,
    ops: &[&KeyOp],
) -> Result<Vec<bool>, StoreError> {
    let mut pipe = Pipeline::with_capacity(ops.len().div_ceil(OPS_PER_CALL));
    pipe.ignore_errors();
    for chunk in ops.chunks(OPS_PER_CALL) {
        pipe.add_command(write_command(max_size, chunk, |k| k.to_vec()));
    }
    let values = scripts::run(pool, &pipe, Route::Alone).await?;
    if values.len() != ops.len().div_ceil(OPS_PER_CALL) {
        return Err(StoreError::Corrupt(
            "a write reply of the wrong length".into(),
        ));
    }
    let mut applied = Vec::with_capacity(ops.len());
    for (v, chunk) in values.iter().zip(ops.chunks(OPS_PER_CALL)) {
        match scripts::bytes(v) {
            Some(flags) if flags.len() == chunk.len() => {
                applied.extend(flags.iter().map(|&f| f == b'1'));
            }
            _ => return Err(scripts::corrupt("the write script", v)),
        }
    }
    Ok(applied)
}
