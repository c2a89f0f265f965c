//! The walker: anti-entropy over every key of every replica.
//!
//! A pass goes through the replicas in order, and through each replica's
//! shards (instances) in order, with `SCAN … TYPE zset`. Every sorted set
//! counts, whatever its suffix, so a key with only tombstones (or only a
//! watermark) is walked too; Roshi's walker looks only for `key+`. Each
//! batch of keys waits for as many tokens of a refilling rate limit
//! ([`kit_ratelimit`]), then is repaired whole on every replica
//! ([`Farm::repair`] with [`Members::All`]).
//!
//! - **Resumable**: with a checkpoint file, the position (replica, shard,
//!   `SCAN` cursor) is written after every batch (to a temporary file,
//!   then renamed) and read at the start of a pass; a finished pass
//!   removes it. `SCAN` cursors stay valid across connections and
//!   restarts; at worst some keys are walked twice, which is harmless.
//! - **Unreachable instances are skipped**, not waited for: the shard is
//!   set aside with its cursor and retried after the others, with
//!   exponential backoff, and reported as skipped if it never answers. A
//!   batch whose repair failed on some replica (down, or its breaker
//!   open) is set aside and retried the same way.
//! - **Progress** goes to a callback after every batch ([`Progress`]);
//!   `stream-walker` turns it into structured log lines and, on a
//!   terminal, a progress bar.

use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use bytes::Bytes;
use kit_ratelimit::{Quota, RateLimiter};

use super::{Farm, Members, Replica};
use crate::redis::ConfigError;

/// How the walker walks.
#[derive(Clone, Debug)]
pub struct WalkerOptions {
    /// Keys per `SCAN` step and per repair batch (`-batch.size`).
    pub batch_size: usize,
    /// Keys repaired a second at most (`-max.keys.per.second`); at least
    /// `batch_size`.
    pub keys_per_second: u32,
    /// Where to keep the position between runs (`-checkpoint`).
    pub checkpoint: Option<PathBuf>,
    /// The first wait before retrying an unreachable shard; it doubles.
    pub retry_after: Duration,
    /// Tries per unreachable shard before it is skipped for this pass.
    pub retries: u32,
}

impl Default for WalkerOptions {
    /// roshi-walker's defaults: batches of 100, 1,000 keys a second.
    fn default() -> WalkerOptions {
        WalkerOptions {
            batch_size: 100,
            keys_per_second: 1000,
            checkpoint: None,
            retry_after: Duration::from_millis(200),
            retries: 5,
        }
    }
}

/// Where a walk is: replica, shard and `SCAN` cursor.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Position {
    /// The replica's index.
    pub replica: usize,
    /// The shard's index in the replica.
    pub shard: usize,
    /// The `SCAN` cursor in the shard.
    pub cursor: u64,
}

/// A report after each batch, and the totals at the end.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    /// Where the walk is.
    pub position: Position,
    /// The shard's name (its address).
    pub shard_name: String,
    /// Shards finished so far, of `shards_total`.
    pub shards_done: usize,
    /// Shards in the farm.
    pub shards_total: usize,
    /// Keys walked.
    pub keys: u64,
    /// Repair operations written.
    pub written: u64,
    /// Repair operations or reads that failed.
    pub failed: u64,
    /// Shards skipped (unreachable after every retry).
    pub skipped: Vec<String>,
}

/// Walks a farm. See the [module docs](self).
#[derive(Debug)]
pub struct Walker<R: Replica> {
    farm: Farm<R>,
    options: WalkerOptions,
    limiter: RateLimiter,
}

/// Work set aside: a shard that could not be scanned (and where it
/// stopped), or a batch of keys whose repair failed somewhere; its tries,
/// and when to try again.
struct Deferred {
    work: Work,
    tries: u32,
    at: tokio::time::Instant,
}

enum Work {
    Shard(Position),
    Keys(Vec<Bytes>),
}

impl<R: Replica> Walker<R> {
    /// A walker; fails if the rate is below the batch size (as roshi-walker).
    pub fn new(farm: Farm<R>, options: WalkerOptions) -> Result<Walker<R>, ConfigError> {
        let rate = NonZeroU32::new(options.keys_per_second)
            .ok_or_else(|| ConfigError::Invalid("the walker needs a rate above 0".into()))?;
        if options.batch_size == 0 || options.keys_per_second < options.batch_size as u32 {
            return Err(ConfigError::Invalid(format!(
                "max.keys.per.second ({}) must be at least batch.size ({}), which must be above 0",
                options.keys_per_second, options.batch_size
            )));
        }
        Ok(Walker {
            farm,
            limiter: RateLimiter::new(Quota::per_second(rate)),
            options,
        })
    }

    /// One pass over every shard of every replica, from the checkpoint if
    /// there is one; `report` sees the progress after every batch.
    pub async fn pass(&self, report: &mut (dyn FnMut(&Progress) + Send)) -> Progress {
        let replicas = self.farm.replicas();
        let mut progress = Progress {
            shards_total: replicas.iter().map(|r| r.shards()).sum(),
            ..Progress::default()
        };
        let start = self.load_checkpoint().unwrap_or_default();
        let mut deferred: Vec<Deferred> = Vec::new();
        for (r, replica) in replicas.iter().enumerate() {
            for shard in 0..replica.shards() {
                let mut position = Position {
                    replica: r,
                    shard,
                    cursor: 0,
                };
                if (r, shard) < (start.replica, start.shard) {
                    progress.shards_done += 1;
                    continue;
                }
                if (r, shard) == (start.replica, start.shard) {
                    position.cursor = start.cursor;
                }
                self.walk_shard(position, 0, &mut progress, &mut deferred, report)
                    .await;
            }
        }
        self.retry(deferred, &mut progress, report).await;
        self.clear_checkpoint();
        report(&progress);
        progress
    }

    fn defer(&self, work: Work, tries: u32, deferred: &mut Vec<Deferred>) {
        let wait = self.options.retry_after * 2u32.saturating_pow(tries);
        deferred.push(Deferred {
            work,
            tries: tries + 1,
            at: tokio::time::Instant::now() + wait,
        });
    }

    /// Retries set-aside work, earliest first, with doubling waits, until
    /// it succeeds or has been tried `retries` times.
    async fn retry(
        &self,
        mut deferred: Vec<Deferred>,
        progress: &mut Progress,
        report: &mut (dyn FnMut(&Progress) + Send),
    ) {
        while !deferred.is_empty() {
            deferred.sort_by_key(|d| std::cmp::Reverse(d.at));
            let Some(d) = deferred.pop() else { break };
            tokio::time::sleep_until(d.at).await;
            match d.work {
                Work::Shard(position) if d.tries > self.options.retries => {
                    let replica = &self.farm.replicas()[position.replica];
                    let name = format!("{}/{}", replica.name(), replica.shard_name(position.shard));
                    tracing::warn!(shard = %name, tries = d.tries - 1, "skipping an unreachable shard for this pass");
                    progress.skipped.push(name);
                    progress.shards_done += 1;
                }
                Work::Shard(position) => {
                    self.walk_shard(position, d.tries, progress, &mut deferred, report)
                        .await;
                }
                Work::Keys(keys) => {
                    let last = d.tries >= self.options.retries;
                    let outcome = self.repair_batch(&keys, progress, last).await;
                    if outcome.failed > 0 && !last {
                        self.defer(Work::Keys(keys), d.tries, &mut deferred);
                    }
                    report(progress);
                }
            }
        }
    }

    /// Repairs a batch; counts failures in the progress only on the last
    /// try.
    async fn repair_batch(
        &self,
        keys: &[Bytes],
        progress: &mut Progress,
        last: bool,
    ) -> super::RepairOutcome {
        self.take(keys.len()).await;
        let ask: Vec<(Bytes, Members)> = keys.iter().map(|k| (k.clone(), Members::All)).collect();
        let outcome = self.farm.repair(&ask).await;
        progress.written += outcome.written as u64;
        if last {
            progress.failed += outcome.failed as u64;
        }
        outcome
    }

    /// Walks one shard from `position`. A scan failure sets the rest of the
    /// shard aside; a batch whose repair failed somewhere is set aside too.
    async fn walk_shard(
        &self,
        mut position: Position,
        tries: u32,
        progress: &mut Progress,
        deferred: &mut Vec<Deferred>,
        report: &mut (dyn FnMut(&Progress) + Send),
    ) {
        let replica = &self.farm.replicas()[position.replica];
        progress.shard_name = replica.shard_name(position.shard);
        loop {
            let (next, keys) = match replica
                .scan(position.shard, position.cursor, self.options.batch_size)
                .await
            {
                Ok(step) => step,
                Err(e) => {
                    tracing::warn!(replica = replica.name(), shard = %progress.shard_name, error = %e, "scan failed; setting the shard aside");
                    self.defer(Work::Shard(position), tries, deferred);
                    return;
                }
            };
            for batch in keys.chunks(self.options.batch_size) {
                progress.keys += batch.len() as u64;
                let last = self.options.retries == 0;
                let outcome = self.repair_batch(batch, progress, last).await;
                if outcome.failed > 0 && !last {
                    self.defer(Work::Keys(batch.to_vec()), 0, deferred);
                }
            }
            position.cursor = next;
            progress.position = position;
            if next == 0 {
                progress.shards_done += 1;
                // The next shard starts from its beginning.
                self.save_checkpoint(Position {
                    shard: position.shard + 1,
                    cursor: 0,
                    ..position
                });
                report(progress);
                return;
            }
            self.save_checkpoint(position);
            report(progress);
        }
    }

    /// Waits for `n` tokens.
    async fn take(&self, n: usize) {
        let n = u32::try_from(n).unwrap_or(u32::MAX);
        while let Err(wait) = self.limiter.check_n(n) {
            tokio::time::sleep(wait.min(Duration::from_secs(1))).await;
        }
    }

    fn load_checkpoint(&self) -> Option<Position> {
        let path = self.options.checkpoint.as_ref()?;
        let text = std::fs::read_to_string(path).ok()?;
        let p = parse_checkpoint(&text);
        if p.is_none() {
            tracing::warn!(path = %path.display(), "ignoring an unreadable checkpoint");
        }
        p
    }

    fn save_checkpoint(&self, p: Position) {
        let Some(path) = &self.options.checkpoint else {
            return;
        };
        let tmp = path.with_extension("tmp");
        let text = format!(
            "stream-walker checkpoint\nreplica {}\nshard {}\ncursor {}\n",
            p.replica, p.shard, p.cursor
        );
        if let Err(e) = std::fs::write(&tmp, text).and_then(|()| std::fs::rename(&tmp, path)) {
            tracing::warn!(path = %path.display(), error = %e, "could not write the checkpoint");
        }
    }

    fn clear_checkpoint(&self) {
        if let Some(path) = &self.options.checkpoint {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Parses a checkpoint file; `None` if it is not one.
pub fn parse_checkpoint(text: &str) -> Option<Position> {
    let mut lines = text.lines();
    if lines.next()? != "stream-walker checkpoint" {
        return None;
    }
    let mut field = |name: &str| -> Option<u64> {
        let (k, v) = lines.next()?.split_once(' ')?;
        (k == name).then(|| v.parse().ok()).flatten()
    };
    Some(Position {
        replica: usize::try_from(field("replica")?).ok()?,
        shard: usize::try_from(field("shard")?).ok()?,
        cursor: field("cursor")?,
    })
}

/// Keys a second between two instants, for progress lines.
pub fn rate(keys: u64, since: Instant) -> f64 {
    let secs = since.elapsed().as_secs_f64();
    if secs > 0.0 { keys as f64 / secs } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoints_round_trip_and_garbage_is_none() {
        let p = Position {
            replica: 2,
            shard: 1,
            cursor: 99,
        };
        let text = format!(
            "stream-walker checkpoint\nreplica {}\nshard {}\ncursor {}\n",
            p.replica, p.shard, p.cursor
        );
        assert_eq!(parse_checkpoint(&text), Some(p));
        for bad in [
            "",
            "x",
            "stream-walker checkpoint\nreplica x\n",
            "stream-walker checkpoint\nshard 1\nreplica 1\ncursor 1",
        ] {
            assert_eq!(parse_checkpoint(bad), None, "{bad:?}");
        }
    }
}
