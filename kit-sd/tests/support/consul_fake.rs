//! A CONTRACT FAKE of Consul's HTTP API — not Consul.
//!
//! Consul has no Debian package, so kit's Consul backend is tested against
//! this fake, built from Consul's documented HTTP API:
//!
//! - `GET /v1/health/service/:service?passing&index&wait`: a blocking query.
//!   With `index` at or above the current index, the answer waits until the
//!   index moves or `wait` passes; every answer carries `X-Consul-Index`.
//!   The body is a JSON array of `{"Node":{…},"Service":{…},"Checks":[…]}`,
//!   and `passing` keeps only entries whose checks pass.
//! - `PUT /v1/agent/service/register`: a JSON service definition with an
//!   embedded TTL check, whose check ID is `service:<ID>`; a TTL check
//!   starts critical.
//! - `PUT /v1/agent/check/pass/:check_id`: 404 for an unknown check.
//! - `PUT /v1/agent/service/deregister/:service_id`.
//!
//! Every write moves the index. The test controls what Consul would do on
//! its own: a check going critical (TTL ran out), the agent forgetting its
//! services (restart), the index going backwards (snapshot restore), 500s.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::{Json, Router};
use serde_json::{Value, json};
use tokio::sync::watch;

#[derive(Clone, Debug)]
struct Svc {
    name: String,
    address: String,
    port: u16,
    passing: bool,
}

#[derive(Default)]
struct Inner {
    services: BTreeMap<String, Svc>,
    fail_next: usize,
}

/// The fake's state, shared with the test.
pub struct ConsulFake {
    inner: Mutex<Inner>,
    index: watch::Sender<u64>,
    passes: watch::Sender<u64>,
    health_queries: AtomicUsize,
    seen_indexes: watch::Sender<Vec<u64>>,
}

impl ConsulFake {
    /// Serves the fake on a free loopback port.
    pub async fn start() -> (Arc<ConsulFake>, SocketAddr) {
        let fake = Arc::new(ConsulFake {
            inner: Mutex::default(),
            index: watch::channel(1).0,
            passes: watch::channel(0).0,
            health_queries: AtomicUsize::new(0),
            seen_indexes: watch::channel(Vec::new()).0,
        });
        let app = Router::new()
            .route("/v1/health/service/{name}", get(health))
            .route("/v1/agent/service/register", put(register))
            .route("/v1/agent/check/pass/{check}", put(pass))
            .route("/v1/agent/service/deregister/{id}", put(deregister))
            .with_state(fake.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        (fake, addr)
    }

    fn bump(&self) {
        self.index.send_modify(|i| *i += 1);
    }

    /// The check of `id` goes critical, as when its TTL runs out.
    pub fn critical(&self, id: &str) {
        if let Some(s) = self.inner.lock().unwrap().services.get_mut(id) {
            s.passing = false;
        }
        self.bump();
    }

    /// The agent forgets everything, as after a restart without state.
    pub fn forget_all(&self) {
        self.inner.lock().unwrap().services.clear();
        self.bump();
    }

    /// Sets the index, e.g. backwards, as after a snapshot restore.
    pub fn set_index(&self, index: u64) {
        self.index.send_replace(index);
    }

    /// The next `n` health queries fail with 500.
    pub fn fail_next(&self, n: usize) {
        self.inner.lock().unwrap().fail_next = n;
    }

    /// Health queries answered so far.
    pub fn health_queries(&self) -> usize {
        self.health_queries.load(Ordering::SeqCst)
    }

    /// The `index` parameter of every health query, in order.
    pub fn seen_indexes(&self) -> Vec<u64> {
        self.seen_indexes.borrow().clone()
    }

    /// A receiver of the `index` parameters seen, to wait on.
    pub fn watch_indexes(&self) -> watch::Receiver<Vec<u64>> {
        self.seen_indexes.subscribe()
    }

    /// Registered service IDs.
    pub fn service_ids(&self) -> Vec<String> {
        self.inner
            .lock()
            .unwrap()
            .services
            .keys()
            .cloned()
            .collect()
    }

    /// A receiver of the count of check passes.
    pub fn passes(&self) -> watch::Receiver<u64> {
        self.passes.subscribe()
    }
}

fn parse_wait(s: &str) -> Option<Duration> {
    if let Some(ms) = s.strip_suffix("ms") {
        return ms.parse().ok().map(Duration::from_millis);
    }
    s.strip_suffix('s')?.parse().ok().map(Duration::from_secs)
}

async fn health(
    State(fake): State<Arc<ConsulFake>>,
    Path(name): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    fake.health_queries.fetch_add(1, Ordering::SeqCst);
    {
        let mut inner = fake.inner.lock().unwrap();
        if inner.fail_next > 0 {
            inner.fail_next -= 1;
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                "rpc error: No cluster leader",
            )
                .into_response();
        }
    }
    let asked: u64 = q.get("index").and_then(|i| i.parse().ok()).unwrap_or(0);
    fake.seen_indexes.send_modify(|seen| seen.push(asked));
    let wait = q
        .get("wait")
        .and_then(|w| parse_wait(w))
        .unwrap_or(Duration::from_secs(300));
    let mut index = fake.index.subscribe();
    if asked > 0 && *index.borrow_and_update() <= asked {
        let _ = tokio::time::timeout(wait, index.changed()).await;
    }
    let current = *index.borrow();
    let passing_only = q.contains_key("passing");
    let body: Vec<Value> = fake
        .inner
        .lock()
        .unwrap()
        .services
        .iter()
        .filter(|(_, s)| s.name == name && (s.passing || !passing_only))
        .map(|(id, s)| {
            json!({
                "Node": {"Node": "fake-node", "Address": "127.0.0.1"},
                "Service": {"ID": id, "Service": s.name, "Address": s.address, "Port": s.port, "Tags": []},
                "Checks": [{"CheckID": format!("service:{id}"), "Status": if s.passing { "passing" } else { "critical" }}],
            })
        })
        .collect();
    let mut headers = HeaderMap::new();
    headers.insert("x-consul-index", current.to_string().parse().unwrap());
    (headers, Json(body)).into_response()
}

async fn register(State(fake): State<Arc<ConsulFake>>, Json(def): Json<Value>) -> Response {
    let (Some(id), Some(name), Some(port)) = (
        def["ID"].as_str(),
        def["Name"].as_str(),
        def["Port"].as_u64(),
    ) else {
        return (StatusCode::BAD_REQUEST, "Invalid service definition").into_response();
    };
    let check_ok = def["Check"]["CheckID"].as_str() == Some(&format!("service:{id}"))
        && def["Check"]["TTL"].as_str().and_then(parse_wait).is_some();
    if !check_ok {
        return (StatusCode::BAD_REQUEST, "Invalid check: TTL required").into_response();
    }
    fake.inner.lock().unwrap().services.insert(
        id.to_owned(),
        Svc {
            name: name.to_owned(),
            address: def["Address"].as_str().unwrap_or("").to_owned(),
            port: u16::try_from(port).unwrap_or(0),
            passing: false,
        },
    );
    fake.bump();
    StatusCode::OK.into_response()
}

async fn pass(State(fake): State<Arc<ConsulFake>>, Path(check): Path<String>) -> Response {
    let Some(id) = check.strip_prefix("service:") else {
        return (StatusCode::NOT_FOUND, "Unknown check ID").into_response();
    };
    let changed = {
        let mut inner = fake.inner.lock().unwrap();
        let Some(s) = inner.services.get_mut(id) else {
            return (
                StatusCode::NOT_FOUND,
                format!("Unknown check ID \"{check}\""),
            )
                .into_response();
        };
        !std::mem::replace(&mut s.passing, true)
    };
    if changed {
        fake.bump();
    }
    fake.passes.send_modify(|n| *n += 1);
    StatusCode::OK.into_response()
}

async fn deregister(State(fake): State<Arc<ConsulFake>>, Path(id): Path<String>) -> Response {
    fake.inner.lock().unwrap().services.remove(&id);
    fake.bump();
    StatusCode::OK.into_response()
}
