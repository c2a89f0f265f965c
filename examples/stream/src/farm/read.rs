//! Selects by strategy: one replica, all of them, or the first to answer
//! with the rest collected for repair.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::join_all;
use kit_endpoint::Code;
use tokio::sync::mpsc;

use super::merge::{self, resolve, union};
use super::replica::{Members, Replica};
use super::{Farm, ReadStrategy};
use crate::crdt::{Entry, Query};
use crate::store::{KeyEntries, StoreError};

/// One replica's answer: its index and one result per key.
type Answer = (usize, Vec<Result<Vec<Entry>, StoreError>>);

impl<R: Replica> Farm<R> {
    /// Reads `keys` by the farm's read strategy.
    pub(crate) async fn read(
        &self,
        keys: Vec<Bytes>,
        query: Query,
    ) -> Result<Vec<KeyEntries>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let all: Vec<usize> = (0..self.inner.replicas.len()).collect();
        let per_key = match self.inner.read {
            ReadStrategy::SendOneReadOne => self.send_one(&keys, &query).await?,
            ReadStrategy::SendAllReadAll => self.send_all(&keys, &query).await?,
            ReadStrategy::SendAllReadFirstLinger => {
                self.first_linger(&keys, &query, all, None).await?
            }
            ReadStrategy::SendVarReadFirstLinger { latency, .. } => {
                let n = u32::try_from(keys.len()).unwrap_or(u32::MAX);
                let granted = self
                    .inner
                    .send_all_permits
                    .as_ref()
                    .is_some_and(|l| l.check_n(n).is_ok());
                if granted {
                    self.first_linger(&keys, &query, all, None).await?
                } else {
                    let first = self.next_replica();
                    let rest = all.into_iter().filter(|&i| i != first).collect();
                    self.first_linger(&keys, &query, vec![first], Some((latency, rest)))
                        .await?
                }
            }
        };
        Ok(keys
            .into_iter()
            .zip(per_key)
            .map(|(k, mut entries)| {
                entries.truncate(query.limit);
                (k, entries)
            })
            .collect())
    }

    /// One replica in turn; keys it fails go to the next.
    async fn send_one(&self, keys: &[Bytes], query: &Query) -> Result<Vec<Vec<Entry>>, StoreError> {
        let n = self.inner.replicas.len();
        let start = self.next_replica();
        let mut got: Vec<Option<Vec<Entry>>> = vec![None; keys.len()];
        let mut errors = Vec::new();
        for step in 0..n {
            let missing: Vec<usize> = (0..keys.len()).filter(|&i| got[i].is_none()).collect();
            if missing.is_empty() {
                break;
            }
            let ask: Vec<Bytes> = missing.iter().map(|&i| keys[i].clone()).collect();
            let replica = &self.inner.replicas[(start + step) % n];
            for (i, result) in missing
                .into_iter()
                .zip(replica.select_each(&ask, query).await)
            {
                match result {
                    Ok(entries) => got[i] = Some(entries),
                    Err(e) => errors.push(e.to_string()),
                }
            }
        }
        complete(got, &errors)
    }

    /// Every replica, waiting for all; differences resolved and repaired.
    async fn send_all(&self, keys: &[Bytes], query: &Query) -> Result<Vec<Vec<Entry>>, StoreError> {
        let answers = join_all(
            self.inner
                .replicas
                .iter()
                .map(|r| r.select_each(keys, query)),
        )
        .await;
        let mut errors = Vec::new();
        let mut out = Vec::with_capacity(keys.len());
        let mut differ = Vec::new();
        for (k, key) in keys.iter().enumerate() {
            let ok: Vec<&[Entry]> = answers
                .iter()
                .filter_map(|a| match &a[k] {
                    Ok(entries) => Some(&entries[..]),
                    Err(e) => {
                        errors.push(e.to_string());
                        None
                    }
                })
                .collect();
            if ok.is_empty() {
                out.push(None);
                continue;
            }
            let (entries, members) = union(&ok);
            if !members.is_empty() {
                differ.push((k, (key.clone(), Members::Only(members))));
            }
            out.push(Some(entries));
        }
        if !differ.is_empty() {
            let asks: Vec<(Bytes, Members)> = differ.iter().map(|(_, a)| a.clone()).collect();
            let states = join_all(self.inner.replicas.iter().map(|r| r.read_states(&asks))).await;
            for (j, (k, _)) in differ.iter().enumerate() {
                let winner = merge::winner(states.iter().filter_map(|s| s[j].as_ref().ok()));
                if let Some(entries) = &mut out[*k] {
                    resolve(entries, &winner);
                }
            }
            self.queue_repair(asks);
        }
        complete(out, &errors)
    }

    /// Sends to `targets`, answers as soon as every key has an answer, and
    /// keeps collecting in the background for repair. With `promote`, the
    /// other replicas are asked too if the answer is not complete within
    /// the latency (or a target fails).
    async fn first_linger(
        &self,
        keys: &[Bytes],
        query: &Query,
        targets: Vec<usize>,
        mut promote: Option<(Duration, Vec<usize>)>,
    ) -> Result<Vec<Vec<Entry>>, StoreError> {
        let n = self.inner.replicas.len();
        let keys: Arc<[Bytes]> = keys.into();
        let query = Arc::new(query.clone());
        let (tx, mut rx) = mpsc::channel::<Answer>(n);
        let mut asked = 0;
        for i in targets {
            self.spawn_read(i, &keys, &query, &tx);
            asked += 1;
        }
        let mut answers: Vec<Answer> = Vec::new();
        let timer = tokio::time::sleep(promote.as_ref().map_or(Duration::MAX / 4, |(d, _)| *d));
        tokio::pin!(timer);
        loop {
            if answered(&answers, keys.len()) {
                break;
            }
            let wants_promotion = answers.len() == asked || timer.is_elapsed();
            if wants_promotion {
                if let Some((_, rest)) = promote.take() {
                    for i in rest {
                        self.spawn_read(i, &keys, &query, &tx);
                        asked += 1;
                    }
                    continue;
                }
                if answers.len() == asked {
                    break;
                }
            }
            tokio::select! {
                answer = rx.recv() => match answer {
                    Some(a) => answers.push(a),
                    None => break,
                },
                () = &mut timer, if promote.is_some() => {}
            }
        }
        drop(tx);
        let out = union_so_far(&answers, keys.len());
        let errors: Vec<String> = answers
            .iter()
            .flat_map(|(_, rs)| {
                rs.iter()
                    .filter_map(|r| r.as_ref().err().map(ToString::to_string))
            })
            .collect();
        if asked > 1 {
            self.linger(keys, answers, rx, asked);
        }
        complete(out, &errors)
    }

    fn spawn_read(
        &self,
        i: usize,
        keys: &Arc<[Bytes]>,
        query: &Arc<Query>,
        tx: &mpsc::Sender<Answer>,
    ) {
        let (replica, keys, query, tx) = (
            self.inner.replicas[i].clone(),
            keys.clone(),
            query.clone(),
            tx.clone(),
        );
        let guard = self.inner.pending.start();
        tokio::spawn(async move {
            let results = replica.select_each(&keys, &query).await;
            let _ = tx.send((i, results)).await;
            drop(guard);
        });
    }

    /// Collects the answers still to come, then queues a repair of every
    /// member that differs.
    fn linger(
        &self,
        keys: Arc<[Bytes]>,
        mut answers: Vec<Answer>,
        mut rx: mpsc::Receiver<Answer>,
        asked: usize,
    ) {
        let farm = self.clone();
        let guard = self.inner.pending.start();
        tokio::spawn(async move {
            while answers.len() < asked {
                match rx.recv().await {
                    Some(a) => answers.push(a),
                    None => break,
                }
            }
            let mut asks = Vec::new();
            for (k, key) in keys.iter().enumerate() {
                let ok: Vec<&[Entry]> = answers
                    .iter()
                    .filter_map(|(_, rs)| rs[k].as_ref().ok().map(|e| &e[..]))
                    .collect();
                let (_, members) = union(&ok);
                if !members.is_empty() {
                    asks.push((key.clone(), Members::Only(members)));
                }
            }
            farm.queue_repair(asks);
            drop(guard);
        });
    }
}

fn answered(answers: &[Answer], keys: usize) -> bool {
    (0..keys).all(|k| answers.iter().any(|(_, rs)| rs[k].is_ok()))
}

fn union_so_far(answers: &[Answer], keys: usize) -> Vec<Option<Vec<Entry>>> {
    (0..keys)
        .map(|k| {
            let ok: Vec<&[Entry]> = answers
                .iter()
                .filter_map(|(_, rs)| rs[k].as_ref().ok().map(|e| &e[..]))
                .collect();
            (!ok.is_empty()).then(|| union(&ok).0)
        })
        .collect()
}

/// Every key's entries, or `Unavailable` naming what failed if a key has
/// no answer from any replica (Roshi answers `200 {}` then).
fn complete(
    per_key: Vec<Option<Vec<Entry>>>,
    errors: &[String],
) -> Result<Vec<Vec<Entry>>, StoreError> {
    let failed = per_key.iter().filter(|e| e.is_none()).count();
    if failed == 0 {
        return Ok(per_key.into_iter().flatten().collect());
    }
    let mut errors = errors.to_vec();
    errors.dedup();
    Err(StoreError::backend(
        Code::Unavailable,
        format!(
            "complete failure: {failed} of {} keys could not be read from any replica ({})",
            per_key.len(),
            errors.join("; ")
        ),
    ))
}
