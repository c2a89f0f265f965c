//! The Lua scripts, sent by SHA (`EVALSHA`) and loaded on `NOSCRIPT`, and
//! the parsing of their replies.
//!
//! A script is loaded into a server once, by the first request that finds
//! it missing (`NOSCRIPT` error reply): that request sends `SCRIPT LOAD`
//! and its failed commands again in one pipeline. A restarted server has
//! lost its scripts, and is handled the same way. Resending is safe: every
//! script here is idempotent.

use std::sync::{Arc, LazyLock};

use bytes::Bytes;
use redis::{Cmd, Pipeline, Value};

use super::pool::{Pool, Route};
use crate::crdt::{Entry, Kind, Score, State};
use crate::farm::KeyStates;
use crate::store::StoreError;
use crate::wire::encode::MAX_EXACT;

/// A script's source and SHA-1.
#[derive(Debug)]
pub(crate) struct Script {
    source: &'static str,
    sha: String,
}

impl Script {
    fn new(source: &'static str) -> Script {
        Script {
            source,
            sha: redis::Script::new(source).get_hash().to_string(),
        }
    }

    /// `SCRIPT LOAD` of this script.
    pub(crate) fn load_cmd(&self) -> Cmd {
        let mut cmd = redis::cmd("SCRIPT");
        cmd.arg("LOAD").arg(self.source);
        cmd
    }

    /// An `EVALSHA` of this script with `keys`, to which the caller adds
    /// the arguments.
    pub(crate) fn invoke<'a>(&self, keys: impl ExactSizeIterator<Item = &'a [u8]>) -> Cmd {
        let mut cmd = redis::cmd("EVALSHA");
        cmd.arg(&self.sha).arg(keys.len());
        for k in keys {
            cmd.arg(k);
        }
        cmd
    }
}

/// The write script: inserts, deletes and watermark raises.
pub(crate) static WRITE: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("write.lua")));
/// The cursor select script.
pub(crate) static SELECT: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("select.lua")));
/// The member-states script, for repair and the walker.
pub(crate) static STATES: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("states.lua")));

/// Runs a pipeline of script calls (and plain commands) on `pool` by
/// `route`; loads the scripts and resends the commands that met `NOSCRIPT`.
pub(crate) async fn run(
    pool: &Arc<Pool>,
    pipe: &Pipeline,
    route: Route,
) -> Result<Vec<Value>, StoreError> {
    let mut values = pool.query_by(pipe, route).await?;
    let missing: Vec<usize> = values
        .iter()
        .enumerate()
        .filter(|(_, v)| is_noscript(v))
        .map(|(i, _)| i)
        .collect();
    if missing.is_empty() {
        return Ok(values);
    }
    let scripts = [&*WRITE, &*SELECT, &*STATES];
    let mut retry = Pipeline::with_capacity(scripts.len() + missing.len());
    retry.ignore_errors();
    for s in scripts {
        retry.cmd("SCRIPT").arg("LOAD").arg(s.source);
    }
    let cmds: Vec<&Cmd> = pipe.cmd_iter().collect();
    for &i in &missing {
        retry.add_command(cmds[i].clone());
    }
    let again = pool.query_by(&retry, route).await?;
    for (i, v) in missing
        .into_iter()
        .zip(again.into_iter().skip(scripts.len()))
    {
        values[i] = v;
    }
    Ok(values)
}

fn is_noscript(v: &Value) -> bool {
    matches!(v, Value::ServerError(e) if e.code() == "NOSCRIPT")
}

/// A reply that is not what the script returns.
pub(crate) fn corrupt(what: &str, v: &Value) -> StoreError {
    match v {
        Value::ServerError(e) => StoreError::backend(
            kit_endpoint::Code::Internal,
            format!("redis error reply to {what}: {e}"),
        ),
        _ => StoreError::Corrupt(format!("unexpected reply to {what}: {v:?}")),
    }
}

/// The bytes of a bulk or simple string.
pub(crate) fn bytes(v: &Value) -> Option<&[u8]> {
    match v {
        Value::BulkString(b) => Some(b),
        Value::SimpleString(s) => Some(s.as_bytes()),
        _ => None,
    }
}

/// A score as Redis prints it (or as this crate sends it).
pub(crate) fn score(v: &Value) -> Option<Score> {
    match v {
        Value::Double(d) => Score::new(*d).ok(),
        v => parse_score(bytes(v)?),
    }
}

/// A score from its decimal text.
pub(crate) fn parse_score(b: &[u8]) -> Option<Score> {
    let f: f64 = std::str::from_utf8(b).ok()?.parse().ok()?;
    Score::new(f).ok()
}

/// A score as the scripts receive it: the shortest text that parses back
/// to the same `f64` (`1.5e0`, `-3e-1`), which Redis and Lua parse exactly.
/// Whole numbers below 2^53 (timestamps) are written as integers, exact
/// too and several times cheaper than float formatting (4 % of the
/// server's CPU on batches of 100 events, measured with perf).
pub(crate) fn format_score(s: Score) -> String {
    let v = s.get();
    if v.fract() == 0.0 && v.abs() < MAX_EXACT && v != 0.0 {
        return (v as i64).to_string();
    }
    format!("{v:e}")
}

/// `member, score` pairs, ascending or descending as Redis sent them.
pub(crate) fn entries(v: &Value) -> Option<Vec<Entry>> {
    let Value::Array(items) = v else { return None };
    if items.len() % 2 != 0 {
        return None;
    }
    items
        .chunks_exact(2)
        .map(|pair| {
            Some(Entry {
                member: Bytes::copy_from_slice(bytes(&pair[0])?),
                score: score(&pair[1])?,
            })
        })
        .collect()
}

/// One key's reply from the states script.
pub(crate) fn key_states(v: &Value) -> Option<KeyStates> {
    let Value::Array(items) = v else { return None };
    if items.len() < 2 || (items.len() - 2) % 3 != 0 {
        return None;
    }
    let wm_member = bytes(&items[0])?;
    let wm_score = bytes(&items[1])?;
    let watermark = if wm_score.is_empty() {
        None
    } else {
        Some((parse_score(wm_score)?, Bytes::copy_from_slice(wm_member)))
    };
    let states = items[2..]
        .chunks_exact(3)
        .map(|t| {
            let kind = match bytes(&t[2])? {
                b"+" => Kind::Insert,
                b"-" => Kind::Delete,
                _ => return None,
            };
            let state = State {
                score: score(&t[1])?,
                kind,
            };
            Some((Bytes::copy_from_slice(bytes(&t[0])?), state))
        })
        .collect::<Option<Vec<_>>>()?;
    Some(KeyStates { watermark, states })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn scores_round_trip_through_text() {
        for v in [0.0, 1.5, -0.3, 1e300, -1e-300, 5e-324, f64::MAX, f64::MIN] {
            let s = Score::new(v).unwrap();
            assert_eq!(parse_score(format_score(s).as_bytes()), Some(s), "{v}");
        }
        assert_eq!(parse_score(b"inf"), None);
        assert_eq!(parse_score(b"nan"), None);
        assert_eq!(parse_score(b"\xff"), None);
        // Redis prints 17 significant digits
        assert_eq!(
            parse_score(b"0.10000000000000001"),
            Some(Score::new(0.1).unwrap())
        );
    }

    #[test]
    fn replies_that_are_not_the_scripts_are_refused() {
        let s = |b: &[u8]| Value::BulkString(b.to_vec());
        assert_eq!(entries(&Value::Nil), None);
        assert_eq!(entries(&Value::Array(vec![s(b"m")])), None);
        assert_eq!(entries(&Value::Array(vec![s(b"m"), s(b"x")])), None);
        let one = entries(&Value::Array(vec![s(b"m"), s(b"2")])).unwrap();
        assert_eq!(one[0].member, "m");
        assert_eq!(key_states(&Value::Array(vec![s(b"")])), None);
        let ks = key_states(&Value::Array(vec![
            s(b"w"),
            s(b"1"),
            s(b"a"),
            s(b"2"),
            s(b"-"),
        ]))
        .unwrap();
        assert_eq!(
            ks.watermark,
            Some((Score::new(1.0).unwrap(), Bytes::from("w")))
        );
        assert_eq!(ks.states[0].1, State::removed(Score::new(2.0).unwrap()));
        let bad_kind = Value::Array(vec![s(b""), s(b""), s(b"a"), s(b"2"), s(b"?")]);
        assert_eq!(key_states(&bad_kind), None);
    }

    proptest! {
        #[test]
        fn every_finite_score_round_trips(v in any::<f64>()) {
            if let Ok(s) = Score::new(v) {
                prop_assert_eq!(parse_score(format_score(s).as_bytes()), Some(s));
            }
        }

        /// Whole scores (timestamps) up to and past 2^53, and their
        /// neighbours, come back exactly through the integer form.
        #[test]
        fn whole_scores_round_trip(n in -(1i64 << 54)..(1i64 << 54), step in -2.0f64..2.0) {
            for v in [n as f64, n as f64 + step, (n >> 20) as f64] {
                if let Ok(s) = Score::new(v) {
                    prop_assert_eq!(parse_score(format_score(s).as_bytes()), Some(s));
                }
            }
        }
    }
}
