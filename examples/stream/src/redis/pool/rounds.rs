//! Rounds: the requests waiting for one instance, sent as one pipeline.
//!
//! Under load many requests wait for one instance at once. Sent each on
//! its own, every request costs a write and a read system call on both
//! sides of the socket and a wake-up of the Redis process, several times
//! what Redis spends on a `ZREVRANGE`. So at most [`ROUNDS`] rounds are in
//! flight per instance; requests that arrive meanwhile wait, and the next
//! round sends all of them as one pipeline: one write, one read, one
//! wake-up for the lot. Nothing waits for a timer: a request that finds a
//! round free goes out at once, after one yield to the scheduler so that
//! the requests made runnable by the same wake-up join it.
//!
//! Why not redis-rs alone: its `MultiplexedConnection` joins only the
//! requests that reach its connection task between two of that task's
//! polls. Under tokio's scheduler the task is woken into the waking
//! task's LIFO slot and runs right after it, so it almost always finds one
//! request (a test here counts Redis's reads: about 60 for 40 concurrent
//! selects without rounds, at most a few with them).
//!
//! Measured (the binary before and after as two servers in one
//! `kit-load compare` run of `scripts/bench-stream-redis`'s scenarios, 16
//! connections, one instance, run once in each order): select 1
//! key 48,362 → 49,553 and 36,575 → 40,409 req/s, its p99 from 3.5–3.7 ms
//! to 0.56–0.69 ms; select 10 keys (requests that go alone, see
//! [`ALONE`]) 17,291 → 15,922 and 14,524 → 15,225, within noise; inserts
//! (already joined by the write coalescer) unchanged: the server written
//! second won by 5–20 % in both orders, because kit-load then numbered
//! each scenario's writes from 0, so the second wrote older scores, which
//! the script rejects cheaply (fixed since: one binary as two servers,
//! the second won by 14 % with that kit-load, lost 1 % with the fixed
//! one). On freshly started servers (10 entries a reply, alternating
//! runs), select 1 key went from 43,874 to 49,297 and from 36,992 to
//! 44,354 req/s, and Redis's CPU per select from 10.5 to 5.7 and 13.7 to
//! 6.7 µs.
//!
//! Each request still gets exactly its own replies, in order; per-command
//! error replies stay with their request (the pipeline ignores errors). A
//! round that fails (connection lost twice, timeout) fails every request
//! in it: none was acknowledged, and every command this store sends is
//! idempotent, so retrying is safe. A request whose caller went away keeps
//! its place (and its slot in the pool's bound) until its round ends.

use std::sync::Arc;

use kit_endpoint::Code;
use redis::{Cmd, Pipeline, Value};
use tokio::sync::{OwnedSemaphorePermit, oneshot};

use super::Pool;
use crate::store::StoreError;

/// Most rounds in flight per instance: one covers the round trip while the
/// next forms. One alone measured 10–15 % slower at 16 connections; three
/// measured the same as two within noise.
const ROUNDS: usize = 2;
/// Requests of at least this many commands go out on their own: they
/// already share one round trip among their commands, and joining a round
/// would only hold them up.
pub(super) const ALONE: usize = 8;
/// Most commands one round sends; a request's commands are never split, so
/// a request larger than this goes in a round of its own.
const COMMANDS_PER_ROUND: usize = 1024;

type Answer = Result<Vec<Value>, StoreError>;

/// Requests waiting for a round, and how many rounds are under way.
#[derive(Default)]
pub(super) struct Queue {
    waiting: Vec<Job>,
    running: usize,
}

/// One request's commands and where its replies go.
struct Job {
    cmds: Vec<Cmd>,
    answer: oneshot::Sender<Answer>,
    /// The request's place in the pool's bound, held until its round ends.
    slot: OwnedSemaphorePermit,
}

impl Pool {
    /// Sends `pipe`'s commands in the next round and returns their replies.
    pub(super) async fn in_round(
        self: &Arc<Self>,
        pipe: &Pipeline,
        slot: OwnedSemaphorePermit,
    ) -> Answer {
        let (answer, reply) = oneshot::channel();
        let job = Job {
            cmds: pipe.cmd_iter().cloned().collect(),
            answer,
            slot,
        };
        {
            let mut queue = self.queue();
            queue.waiting.push(job);
            if queue.running < ROUNDS {
                queue.running += 1;
                tokio::spawn(self.clone().send_rounds());
            }
        }
        reply
            .await
            .unwrap_or_else(|_| Err(self.error(Code::Internal, "the round stopped")))
    }

    fn queue(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.rounds.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sends rounds until nothing waits.
    async fn send_rounds(self: Arc<Self>) {
        let guard = RoundGuard(&self);
        loop {
            // Let the tasks woken with this one queue their requests first.
            tokio::task::yield_now().await;
            let jobs = {
                let mut queue = self.queue();
                let take = round_size(&queue.waiting);
                if take == 0 {
                    queue.running -= 1;
                    std::mem::forget(guard);
                    return;
                }
                queue.waiting.drain(..take).collect::<Vec<_>>()
            };
            self.send(jobs).await;
        }
    }

    /// One round: `jobs`' commands as one pipeline, the replies handed back.
    async fn send(&self, jobs: Vec<Job>) {
        let mut pipe = Pipeline::with_capacity(jobs.iter().map(|j| j.cmds.len()).sum());
        pipe.ignore_errors();
        let mut waiting = Vec::with_capacity(jobs.len());
        for job in jobs {
            let n = job.cmds.len();
            for cmd in job.cmds {
                pipe.add_command(cmd);
            }
            waiting.push((n, job.answer, job.slot));
        }
        let result = if pipe.is_empty() {
            Ok(Vec::new())
        } else {
            self.query_with_retry(&pipe)
                .await
                .map_err(|e| self.redis_error(&e))
        };
        let result = match result {
            Ok(values) if values.len() != pipe.len() => Err(StoreError::Corrupt(format!(
                "redis {}: {} replies to {} commands",
                self.addr,
                values.len(),
                pipe.len()
            ))),
            other => other,
        };
        match result {
            Ok(values) => {
                let mut values = values.into_iter();
                for (n, answer, _slot) in waiting {
                    // A requester that went away needs no answer.
                    let _ = answer.send(Ok(values.by_ref().take(n).collect()));
                }
            }
            Err(e) => {
                for (_, answer, _slot) in waiting {
                    let _ = answer.send(Err(e.clone()));
                }
            }
        }
    }
}

/// How many of the first `waiting` jobs the next round takes: at least one,
/// then as many as fit in [`COMMANDS_PER_ROUND`].
fn round_size(waiting: &[Job]) -> usize {
    let mut commands = 0;
    waiting
        .iter()
        .take_while(|j| {
            let first = commands == 0;
            commands += j.cmds.len().max(1);
            first || commands <= COMMANDS_PER_ROUND
        })
        .count()
}

/// Gives a round back if its task ends by a panic (which would otherwise
/// leave requests waiting with no round to send them), and starts another
/// round for whoever waits.
struct RoundGuard<'a>(&'a Arc<Pool>);

impl Drop for RoundGuard<'_> {
    fn drop(&mut self) {
        let mut queue = self.0.queue();
        if !queue.waiting.is_empty()
            && let Ok(handle) = tokio::runtime::Handle::try_current()
        {
            handle.spawn(self.0.clone().send_rounds());
        } else {
            queue.running -= 1;
        }
    }
}
