//! A Redis Cluster as one replica, for users who already run one.
//!
//! Redis Cluster places keys itself, by hash slot, and a script may only
//! touch keys of one slot. So the three sets of key `K` are named with a
//! hash tag, `{kK}+`, `{kK}-` and `{kK}~`: Redis hashes the text between
//! the first `{` and the first `}` after it, which is the same for the
//! three names whatever `K` holds (a `}` inside `K` ends the tag early, for
//! all three alike), and never empty, thanks to the `k` (an empty tag would
//! hash each whole name apart). This is not Roshi's layout: a Redis Cluster
//! is a store of its own, not a drop-in for a roshi-server's instances.
//!
//! Every script call carries one key, so no call crosses slots; the calls
//! of a request go out together on redis-rs's cluster connection, which
//! routes each by its key, follows `MOVED`/`ASK` redirections and
//! pipelines concurrent requests per node. Scripts are loaded on every
//! primary when a call meets `NOSCRIPT`. The walker scans each primary
//! known at connect time (`CLUSTER NODES`), or the seed nodes if that
//! failed; a resharding during a walk may skip or repeat keys for that
//! pass, and the next pass covers them.
//!
//! Circuit breaking and the connection pool of the sharded store are not
//! used here: redis-rs keeps one multiplexed connection per node,
//! reconnects and retries on its own, and each call is bounded by the
//! response timeout.

use std::collections::HashMap;
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::join_all;
use kit_endpoint::Code;
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::{RoutingInfo, SingleNodeRoutingInfo};
use redis::{Cmd, RedisError, Value};
use tokio::sync::OnceCell;

use super::super::config::{Addr, ClusterConfig};
use super::super::pool::code_of;
use super::super::scripts::{self, SELECT, STATES, WRITE};
use super::OPS_PER_CALL;
use super::coalesce::write_command;
use super::commands::cursor_args;
use crate::crdt::{Entry, Query, Range};
use crate::farm::{KeyOp, KeyStates, Members};
use crate::store::StoreError;

/// The name Redis Cluster knows key `key` by (without the set's suffix).
pub fn tagged(key: &[u8]) -> Vec<u8> {
    let mut name = Vec::with_capacity(key.len() + 3);
    name.extend_from_slice(b"{k");
    name.extend_from_slice(key);
    name.push(b'}');
    name
}

/// The key behind a tagged name, or `None` for names of other programs.
pub fn untagged(name: &[u8]) -> Option<&[u8]> {
    name.strip_prefix(b"{k")?.strip_suffix(b"}")
}

/// One Redis Cluster. See the [module docs](self).
pub(super) struct Native {
    client: ClusterClient,
    conn: OnceCell<ClusterConnection>,
    /// The primaries, scanned by the walker, in a fixed order.
    nodes: Vec<Addr>,
    max_size: usize,
    timeout: Duration,
}

impl Native {
    /// Connects to the cluster through `seeds` and lists its primaries.
    pub(super) async fn connect(
        seeds: &[Addr],
        config: &ClusterConfig,
    ) -> Result<Native, StoreError> {
        let urls: Vec<String> = seeds.iter().map(|a| format!("redis://{}", a)).collect();
        let client = ClusterClient::builder(urls)
            .connection_timeout(config.connect_timeout)
            .response_timeout(config.response_timeout)
            .build()
            .map_err(|e| {
                StoreError::backend(Code::InvalidArgument, format!("redis cluster: {e}"))
            })?;
        let mut native = Native {
            client,
            conn: OnceCell::new(),
            nodes: seeds.to_vec(),
            max_size: config.max_size,
            timeout: config.connect_timeout + config.response_timeout,
        };
        match native.primaries().await {
            Ok(nodes) if !nodes.is_empty() => native.nodes = nodes,
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "redis cluster: no node list; the walker scans the seeds")
            }
        }
        Ok(native)
    }

    /// The primaries, by `CLUSTER NODES`.
    async fn primaries(&self) -> Result<Vec<Addr>, StoreError> {
        let reply = self.call(redis::cmd("CLUSTER").arg("NODES")).await?;
        let text =
            scripts::bytes(&reply).ok_or_else(|| scripts::corrupt("CLUSTER NODES", &reply))?;
        let mut nodes: Vec<Addr> = String::from_utf8_lossy(text)
            .lines()
            .filter_map(|line| {
                let fields: Vec<&str> = line.split(' ').collect();
                let flags = fields.get(2)?;
                if !flags.split(',').any(|f| f == "master") || flags.contains("fail") {
                    return None;
                }
                let addr = fields.get(1)?.split(['@', ',']).next()?;
                addr.parse().ok()
            })
            .collect();
        nodes.sort_by_key(|a| a.to_string());
        Ok(nodes)
    }

    pub(super) fn nodes(&self) -> &[Addr] {
        &self.nodes
    }

    async fn connection(&self) -> Result<ClusterConnection, RedisError> {
        let conn = self
            .conn
            .get_or_try_init(|| async {
                tokio::time::timeout(self.timeout, self.client.get_async_connection())
                    .await
                    .map_err(|_| timed_out())?
            })
            .await?;
        Ok(conn.clone())
    }

    /// One command; a script call that meets `NOSCRIPT` loads the scripts on
    /// every primary and runs once more.
    async fn call(&self, cmd: &Cmd) -> Result<Value, StoreError> {
        let result = async {
            let mut conn = self.connection().await?;
            let once = |conn: &mut ClusterConnection| {
                let mut conn = conn.clone();
                async move {
                    tokio::time::timeout(self.timeout, cmd.query_async::<Value>(&mut conn))
                        .await
                        .map_err(|_| timed_out())?
                }
            };
            match once(&mut conn).await {
                Err(e)
                    if e.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::NoScript) =>
                {
                    for script in [&*WRITE, &*SELECT, &*STATES] {
                        let _: Value = script.load_cmd().query_async(&mut conn).await?;
                    }
                    once(&mut conn).await
                }
                other => other,
            }
        }
        .await;
        result.map_err(|e| error(&e))
    }

    /// Applies `ops`: one script call per key and up to [`OPS_PER_CALL`]
    /// ops, all at once.
    pub(super) async fn apply(&self, ops: &[KeyOp]) -> Result<Vec<bool>, StoreError> {
        let mut by_key: HashMap<&[u8], Vec<usize>> = HashMap::new();
        for (i, op) in ops.iter().enumerate() {
            by_key.entry(&op.key[..]).or_default().push(i);
        }
        let calls: Vec<(Vec<usize>, Cmd)> = by_key
            .into_values()
            .flat_map(|indices| {
                indices
                    .chunks(OPS_PER_CALL)
                    .map(|chunk| {
                        let chunk_ops: Vec<&KeyOp> = chunk.iter().map(|&i| &ops[i]).collect();
                        (
                            chunk.to_vec(),
                            write_command(self.max_size, &chunk_ops, tagged),
                        )
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        let replies = join_all(calls.iter().map(|(_, cmd)| self.call(cmd))).await;
        let mut applied = vec![false; ops.len()];
        for ((indices, _), reply) in calls.iter().zip(replies) {
            let reply = reply?;
            match scripts::bytes(&reply) {
                Some(flags) if flags.len() == indices.len() => {
                    for (&i, &f) in indices.iter().zip(flags) {
                        applied[i] = f == b'1';
                    }
                }
                _ => return Err(scripts::corrupt("the write script", &reply)),
            }
        }
        Ok(applied)
    }

    /// Reads each key.
    pub(super) async fn select_each(
        &self,
        keys: &[Bytes],
        query: &Query,
    ) -> Vec<Result<Vec<Entry>, StoreError>> {
        let limit = query.limit.min(i64::MAX as usize / 2);
        if limit == 0 {
            return vec![Ok(Vec::new()); keys.len()];
        }
        let cmds: Vec<(Cmd, bool)> = match &query.range {
            Range::Offset(offset) => {
                let start = (*offset).min(i64::MAX as usize / 2);
                keys.iter()
                    .map(|k| {
                        let mut name = tagged(k);
                        name.push(b'+');
                        let mut cmd = redis::cmd("ZREVRANGE");
                        cmd.arg(name)
                            .arg(start)
                            .arg(start + limit - 1)
                            .arg("WITHSCORES");
                        (cmd, false)
                    })
                    .collect()
            }
            Range::Cursor { start, stop } => {
                let Some(args) = cursor_args(start.as_ref(), stop.as_ref()) else {
                    return vec![Ok(Vec::new()); keys.len()];
                };
                keys.iter()
                    .map(|k| {
                        let name = tagged(k);
                        let mut cmd = SELECT.invoke([&name[..]].into_iter());
                        cmd.arg(limit);
                        for a in &args {
                            cmd.arg(&a[..]);
                        }
                        (cmd, true)
                    })
                    .collect()
            }
        };
        join_all(cmds.iter().map(|(cmd, cursor)| async move {
            let reply = self.call(cmd).await?;
            let reply = if *cursor {
                match &reply {
                    Value::Array(items) if items.len() == 1 => items[0].clone(),
                    v => return Err(scripts::corrupt("the select script", v)),
                }
            } else {
                reply
            };
            let mut entries =
                scripts::entries(&reply).ok_or_else(|| scripts::corrupt("a select", &reply))?;
            if *cursor {
                entries.reverse();
            }
            Ok(entries)
        }))
        .await
    }

    /// Reads the watermark and member states of each key.
    pub(super) async fn read_states(
        &self,
        keys: &[(Bytes, Members)],
    ) -> Vec<Result<KeyStates, StoreError>> {
        join_all(keys.iter().map(|(k, members)| async move {
            let name = tagged(k);
            let mut cmd = STATES.invoke([&name[..]].into_iter());
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
            let reply = self.call(&cmd).await?;
            match &reply {
                Value::Array(items) if items.len() == 1 => scripts::key_states(&items[0])
                    .ok_or_else(|| scripts::corrupt("the states script", &reply)),
                v => Err(scripts::corrupt("the states script", v)),
            }
        }))
        .await
    }

    /// One `SCAN` step on primary `node`.
    pub(super) async fn scan(
        &self,
        node: usize,
        cursor: u64,
        count: usize,
    ) -> Result<(u64, Vec<Bytes>), StoreError> {
        let addr = self
            .nodes
            .get(node)
            .ok_or_else(|| StoreError::Invalid(format!("no node {node}")))?;
        let mut cmd = redis::cmd("SCAN");
        cmd.arg(cursor)
            .arg("COUNT")
            .arg(count.max(1))
            .arg("TYPE")
            .arg("zset");
        let routing = RoutingInfo::SingleNode(SingleNodeRoutingInfo::ByAddress {
            host: addr.host().to_string(),
            port: addr.port(),
        });
        let reply = async {
            let mut conn = self.connection().await?;
            tokio::time::timeout(self.timeout, conn.route_command(cmd, routing))
                .await
                .map_err(|_| timed_out())?
        }
        .await
        .map_err(|e| error(&e))?;
        let (next, names) =
            super::super::parse_scan(&reply).ok_or_else(|| scripts::corrupt("SCAN", &reply))?;
        let keys = names
            .iter()
            .filter_map(|n| untagged(n).map(Bytes::copy_from_slice))
            .collect();
        Ok((next, keys))
    }
}

fn timed_out() -> RedisError {
    RedisError::from(std::io::Error::from(std::io::ErrorKind::TimedOut))
}

fn error(e: &RedisError) -> StoreError {
    StoreError::backend(code_of(e), format!("redis cluster: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn names_round_trip_and_share_a_non_empty_tag(key in prop::collection::vec(any::<u8>(), 0..12)) {
            let name = tagged(&key);
            prop_assert_eq!(untagged(&name), Some(&key[..]));
            // The hash tag Redis reads: from the first `{` to the first `}`
            // after it; the same for the name with any suffix, and non-empty.
            let tag = |n: &[u8]| -> Vec<u8> {
                let open = n.iter().position(|&b| b == b'{').unwrap();
                let close = n[open + 1..].iter().position(|&b| b == b'}').unwrap();
                n[open + 1..open + 1 + close].to_vec()
            };
            let mut plus = name.clone();
            plus.push(b'+');
            prop_assert!(!tag(&name).is_empty());
            prop_assert_eq!(tag(&name), tag(&plus));
        }
    }

    #[test]
    fn foreign_names_are_not_keys() {
        assert_eq!(untagged(b"k+"), None);
        assert_eq!(untagged(b"{k"), None);
        assert_eq!(untagged(b"{k}"), Some(&b""[..]));
    }
}
