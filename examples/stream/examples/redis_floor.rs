//! The floor `benches/stream-redis.json` measures the stream service
//! against: Roshi's insert and select, written directly on axum,
//! serde_json, base64 and redis-rs, with none of the kit.
//!
//! It is what a developer would write in an afternoon: one `EVALSHA` of
//! stream's own write script per insert request (so Redis does the same
//! work per event as for the stream service), one pipeline of
//! `ZREVRANGE key+ 0 9 WITHSCORES` per select request (what the stream
//! service sends for a select without a cursor), one multiplexed
//! connection shared by every request. No deadlines, limits, breakers,
//! logs, metrics, traces, farm or read strategies, no error model: a bad
//! request is a bare 400, a Redis failure a bare 500.
//!
//! A ratio of the stream service over this floor in the same run is what
//! the kit costs, or saves, on top of the libraries it is built on; the
//! floor over raw axum is what the Redis round trip itself costs.
//!
//! ```text
//! cargo run --release -p stream --features redis --example redis_floor -- 127.0.0.1:8080 127.0.0.1:6379
//! ```

use std::collections::BTreeMap;
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use redis::aio::MultiplexedConnection;
use serde::{Deserialize, Serialize};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Roshi's default `max.size`, passed to the write script.
const MAX_SIZE: &str = "10000";
/// Roshi's default select limit.
const LIMIT: isize = 10;

#[derive(Clone)]
struct App {
    redis: MultiplexedConnection,
    write: redis::Script,
}

#[derive(Deserialize)]
struct Tuple {
    key: String,
    score: f64,
    member: String,
}

#[derive(Serialize)]
struct Record {
    key: String,
    score: f64,
    member: String,
}

#[derive(Serialize)]
struct Inserted {
    duration: String,
    inserted: usize,
}

#[derive(Serialize)]
struct Records {
    duration: String,
    records: BTreeMap<String, Vec<Record>>,
}

fn bad(what: impl std::fmt::Display) -> Response {
    (StatusCode::BAD_REQUEST, what.to_string()).into_response()
}

fn failed(e: redis::RedisError) -> Response {
    (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response()
}

async fn insert(State(app): State<App>, body: Bytes) -> Response {
    let start = Instant::now();
    let tuples: Vec<Tuple> = match serde_json::from_slice(&body) {
        Ok(t) => t,
        Err(e) => return bad(e),
    };
    // The script takes the batch's distinct keys, then four arguments per
    // operation: the key's index, the kind, the score, the member.
    let mut keys: Vec<Vec<u8>> = Vec::new();
    let mut invocation = app.write.prepare_invoke();
    invocation.arg(MAX_SIZE);
    for t in &tuples {
        let (Ok(key), Ok(member)) = (STANDARD.decode(&t.key), STANDARD.decode(&t.member)) else {
            return bad("bad base64");
        };
        let index = match keys.iter().position(|k| *k == key) {
            Some(i) => i,
            None => {
                keys.push(key);
                keys.len() - 1
            }
        };
        invocation
            .arg(index + 1)
            .arg("+")
            .arg(t.score.to_string())
            .arg(member);
    }
    for k in keys {
        invocation.key(k);
    }
    let mut redis = app.redis.clone();
    let applied: String = match invocation.invoke_async(&mut redis).await {
        Ok(a) => a,
        Err(e) => return failed(e),
    };
    axum::Json(Inserted {
        duration: format!("{:?}", start.elapsed()),
        inserted: applied.bytes().filter(|b| *b == b'1').count(),
    })
    .into_response()
}

async fn select(State(app): State<App>, body: Bytes) -> Response {
    let start = Instant::now();
    let encoded: Vec<String> = match serde_json::from_slice(&body) {
        Ok(k) => k,
        Err(e) => return bad(e),
    };
    let mut keys = Vec::with_capacity(encoded.len());
    let mut pipe = redis::pipe();
    for e in &encoded {
        let Ok(mut key) = STANDARD.decode(e) else {
            return bad("bad base64");
        };
        keys.push(String::from_utf8_lossy(&key).into_owned());
        key.push(b'+');
        pipe.zrevrange_withscores(key, 0, LIMIT - 1);
    }
    let mut redis = app.redis.clone();
    let replies: Vec<Vec<(Vec<u8>, f64)>> = match pipe.query_async(&mut redis).await {
        Ok(r) => r,
        Err(e) => return failed(e),
    };
    let records = keys
        .into_iter()
        .zip(encoded)
        .zip(replies)
        .map(|((name, key), members)| {
            let records = members
                .into_iter()
                .map(|(member, score)| Record {
                    key: key.clone(),
                    score,
                    member: STANDARD.encode(member),
                })
                .collect();
            (name, records)
        })
        .collect();
    axum::Json(Records {
        duration: format!("{:?}", start.elapsed()),
        records,
    })
    .into_response()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(listen), Some(redis_addr)) = (args.next(), args.next()) else {
        return Err("usage: redis_floor <listen host:port> <redis host:port>".into());
    };
    // Listening first: a scenario file starts its servers one at a time, in
    // name order, each once the one before accepts connections, so Redis
    // may start after this server; until it does, connections wait in the
    // listener's backlog.
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    let client = redis::Client::open(format!("redis://{redis_addr}/"))?;
    let mut tries = 0;
    let redis = loop {
        match client.get_multiplexed_async_connection().await {
            Ok(c) => break c,
            Err(e) if tries == 100 => return Err(e.into()),
            Err(_) => tries += 1,
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    let app = App {
        redis,
        write: redis::Script::new(include_str!("../src/redis/write.lua")),
    };
    let router = Router::new()
        .route("/", get(select).post(insert))
        .with_state(app);
    axum::serve(listener, router).await?;
    Ok(())
}
