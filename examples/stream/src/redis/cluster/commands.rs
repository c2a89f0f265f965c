//! The commands of one shard: script calls and pipelines, and the fan-out
//! of a request over the shards.

use bytes::Bytes;
use futures_util::future::join_all;
use redis::{Pipeline, Value};

use super::super::pool::Route;
use super::super::scripts::{self, SELECT, STATES, format_score};
use super::{Cluster, KEYS_PER_CALL};
use crate::crdt::{Entry, Query, Range};
use crate::farm::{KeyStates, Members};
use crate::store::StoreError;

impl Cluster {
    /// Reads one shard's keys.
    pub(super) async fn select_shard(
        &self,
        shard: usize,
        keys: &[&Bytes],
        query: &Query,
    ) -> Result<Vec<Vec<Entry>>, StoreError> {
        let limit = query.limit.min(i64::MAX as usize / 2);
        if limit == 0 {
            return Ok(vec![Vec::new(); keys.len()]);
        }
        let mut pipe = Pipeline::new();
        pipe.ignore_errors();
        let cursor = match &query.range {
            Range::Offset(offset) => {
                for key in keys {
                    let start = (*offset).min(i64::MAX as usize / 2);
                    let mut k = key.to_vec();
                    k.push(b'+');
                    pipe.cmd("ZREVRANGE")
                        .arg(k)
                        .arg(start)
                        .arg(start + limit - 1)
                        .arg("WITHSCORES");
                }
                false
            }
            Range::Cursor { start, stop } => {
                let Some(args) = cursor_args(start.as_ref(), stop.as_ref()) else {
                    return Ok(vec![Vec::new(); keys.len()]);
                };
                for chunk in keys.chunks(KEYS_PER_CALL) {
                    let mut cmd = SELECT.invoke(chunk.iter().map(|k| &k[..]));
                    cmd.arg(limit);
                    for a in &args {
                        cmd.arg(&a[..]);
                    }
                    pipe.add_command(cmd);
                }
                true
            }
        };
        let values = scripts::run(&self.pools[shard], &pipe, Route::BySize).await?;
        let per_key: Vec<&Value> = if cursor {
            let mut flat = Vec::with_capacity(keys.len());
            for v in &values {
                match v {
                    Value::Array(items) => flat.extend(items.iter()),
                    v => return Err(scripts::corrupt("the select script", v)),
                }
            }
            flat
        } else {
            values.iter().collect()
        };
        if per_key.len() != keys.len() {
            return Err(StoreError::Corrupt(
                "a select reply of the wrong length".into(),
            ));
        }
        per_key
            .into_iter()
            .map(|v| {
                let mut entries =
                    scripts::entries(v).ok_or_else(|| scripts::corrupt("a select", v))?;
                if cursor {
                    entries.reverse();
                }
                Ok(entries)
            })
            .collect()
    }

    pub(super) async fn states_shard(
        &self,
        shard: usize,
        keys: &[&(Bytes, Members)],
    ) -> Result<Vec<KeyStates>, StoreError> {
        let mut pipe = Pipeline::new();
        pipe.ignore_errors();
        for chunk in keys.chunks(KEYS_PER_CALL) {
            let mut cmd = STATES.invoke(chunk.iter().map(|(k, _)| &k[..]));
            for (_, members) in chunk {
                match members {
                    Members::All => {
                        cmd.arg(-1);
                    }
                    Members::Only(ms) => {
                        cmd.arg(ms.len());
                        for m in ms {
                            cmd.arg(&m[..]);
                        }
                    }
                }
            }
            pipe.add_command(cmd);
        }
        let values = scripts::run(&self.pools[shard], &pipe, Route::BySize).await?;
        let mut out = Vec::with_capacity(keys.len());
        for v in &values {
            let Value::Array(items) = v else {
                return Err(scripts::corrupt("the states script", v));
            };
            for item in items {
                out.push(
                    scripts::key_states(item)
                        .ok_or_else(|| scripts::corrupt("the states script", item))?,
                );
            }
        }
        if out.len() != keys.len() {
            return Err(StoreError::Corrupt(
                "a states reply of the wrong length".into(),
            ));
        }
        Ok(out)
    }
}

/// The select script's cursor arguments, or `None` when the range is
/// empty whatever the data (a start at -inf, a stop at +inf).
pub(super) fn cursor_args(
    start: Option<&crate::crdt::Cursor>,
    stop: Option<&crate::crdt::Cursor>,
) -> Option<Vec<Bytes>> {
    let mut args = Vec::with_capacity(6);
    for (cursor, unbounded_sign) in [(start, 1.0), (stop, -1.0)] {
        match cursor {
            None => args.extend([Bytes::from("0"), Bytes::new(), Bytes::new()]),
            Some(c) if c.score().is_infinite() => {
                if c.score().signum() != unbounded_sign {
                    return None;
                }
                args.extend([Bytes::from("0"), Bytes::new(), Bytes::new()]);
            }
            Some(c) => {
                let score = crate::crdt::Score::new(c.score()).ok()?;
                args.extend([
                    Bytes::from("1"),
                    Bytes::from(format_score(score)),
                    c.member().clone(),
                ]);
            }
        }
    }
    Some(args)
}

/// Fans `items` out by shard, runs `f` per shard in parallel, and puts the
/// per-item results back in input order.
pub(super) async fn per_shard<'a, I, T, F, Fut>(
    cluster: &'a Cluster,
    items: &'a [I],
    key: impl Fn(&I) -> &[u8],
    f: F,
) -> Vec<Result<T, StoreError>>
where
    F: Fn(usize, Vec<&'a I>) -> Fut,
    Fut: std::future::Future<Output = Result<Vec<T>, StoreError>>,
    T: Clone,
{
    let groups = cluster.by_shard(items.iter().map(&key));
    let runs = groups
        .iter()
        .enumerate()
        .filter(|(_, g)| !g.is_empty())
        .map(|(shard, g)| {
            let batch: Vec<&I> = g.iter().map(|&i| &items[i]).collect();
            let fut = f(shard, batch);
            async move { (g, fut.await) }
        });
    let mut out: Vec<Option<Result<T, StoreError>>> = (0..items.len()).map(|_| None).collect();
    for (g, result) in join_all(runs).await {
        match result {
            Ok(values) => {
                for (&i, v) in g.iter().zip(values) {
                    out[i] = Some(Ok(v));
                }
            }
            Err(e) => {
                for &i in g {
                    out[i] = Some(Err(e.clone()));
                }
            }
        }
    }
    out.into_iter()
        .map(|r| {
            r.unwrap_or_else(|| {
                Err(StoreError::Corrupt(
                    "a shard returned too few results".into(),
                ))
            })
        })
        .collect()
}
