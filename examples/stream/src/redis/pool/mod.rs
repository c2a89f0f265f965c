//! `Pool`: one instance's bounded set of shared connections, its circuit
//! breaker, and what it does after a restart.
//!
//! Roshi's pool (redigo's) blocks forever when it is exhausted, and hands
//! out idle connections unchecked, so each stale one fails a request with
//! `EOF` after a Redis restart. This one:
//!
//! - sends the requests waiting for the instance together, in rounds of
//!   one pipeline each (see [`rounds`]), on connections shared between
//!   requests (redis-rs `MultiplexedConnection`s); a caller that joins
//!   requests itself (the write coalescer) sends alone. A round takes the
//!   least-loaded connection; a new one is opened, up to `pool_size`, when
//!   every open connection already carries half its `pipeline_depth`;
//! - bounds the requests waiting or in flight at `pool_size ×
//!   pipeline_depth`; a request that finds no room within `pool_timeout`
//!   fails with `ResourceExhausted`;
//! - connects lazily, within `connect_timeout`, and bounds every reply by
//!   `response_timeout`;
//! - after a failure that shows the connection was dropped (EOF, reset,
//!   broken pipe) on a connection made before the round began, forgets
//!   every connection made before it (they belong to the dead server) and
//!   sends the round once more on a fresh connection. That is safe because
//!   every command this store sends is idempotent: reads, and CRDT writes
//!   that apply at most once however often they are sent. A health check by
//!   `PING` on every checkout would cost a round trip per request; this
//!   costs nothing until a restart, and no request fails because of one;
//! - asks the instance's [`Breaker`] before each request, and tells it how
//!   the request went: dropped connections, refusals and timeouts are
//!   failures; an error reply from Redis is not (the server answered); an
//!   exhausted pool counts as nothing (the fault is local).

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kit_circuitbreaker::{Breaker, Outcome};
use kit_endpoint::Code;
use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Client, Pipeline, RedisError, Value};
use tokio::sync::{Notify, Semaphore};

mod rounds;

use super::config::{Addr, ClusterConfig};
use crate::store::StoreError;

/// How a pipeline goes to its instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Route {
    /// In the instance's next round if it is small, on its own if not
    /// ([`Pool::query`]).
    BySize,
    /// On its own, never in a round: for callers that join concurrent
    /// requests themselves (the write coalescer), where a round would only
    /// add a hand-over between tasks.
    Alone,
}

/// One instance's connections and breaker.
pub(crate) struct Pool {
    addr: Addr,
    client: Client,
    conn_config: AsyncConnectionConfig,
    /// Open connections and connections being opened.
    conns: Mutex<Conns>,
    /// Told whenever an opening ends, for requests that found every slot
    /// being opened and nothing open.
    opened: Notify,
    /// Most connections that may be open at once.
    max_conns: usize,
    /// Requests one connection should carry before another is opened.
    open_at: usize,
    /// One permit per request that may be in flight.
    permits: Arc<Semaphore>,
    /// Requests waiting for a round, and the rounds under way.
    rounds: Mutex<rounds::Queue>,
    /// Bumped when a connection turns out dead: connections of an older
    /// generation are dropped instead of used.
    generation: AtomicU64,
    pool_timeout: Duration,
    /// How long opening a connection may take in all.
    attempt_timeout: Duration,
    breaker: Breaker,
}

#[derive(Default)]
struct Conns {
    open: Vec<Conn>,
    /// Connections being opened, which count against `max_conns`.
    opening: usize,
}

/// One shared connection, the generation it was made in, and the requests
/// it carries now.
#[derive(Clone)]
struct Conn {
    conn: MultiplexedConnection,
    generation: u64,
    load: Arc<AtomicUsize>,
}

/// A request's hold on a [`Conn`]: counts it in the connection's load.
struct Lease(Conn);

impl Lease {
    fn new(conn: Conn) -> Lease {
        conn.load.fetch_add(1, Ordering::Relaxed);
        Lease(conn)
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.0.load.fetch_sub(1, Ordering::Relaxed);
    }
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("addr", &self.addr)
            .field("available", &self.permits.available_permits())
            .field("breaker", &self.breaker.state())
            .finish_non_exhaustive()
    }
}

impl Pool {
    /// A pool for `addr`; connects nothing yet.
    pub(crate) fn new(addr: Addr, config: &ClusterConfig) -> Result<Pool, StoreError> {
        let client = Client::open(redis::ConnectionAddr::Tcp(
            addr.host().to_string(),
            addr.port(),
        ))
        .map_err(|e| StoreError::backend(Code::InvalidArgument, format!("redis {addr}: {e}")))?;
        let conn_config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(config.connect_timeout))
            .set_response_timeout(Some(config.response_timeout));
        let max_conns = config.pool_size.max(1);
        let depth = config.pipeline_depth.max(1);
        Ok(Pool {
            addr,
            client,
            conn_config,
            conns: Mutex::new(Conns::default()),
            opened: Notify::new(),
            max_conns,
            open_at: depth.div_ceil(2),
            permits: Arc::new(Semaphore::new(max_conns.saturating_mul(depth))),
            rounds: Mutex::default(),
            generation: AtomicU64::new(0),
            pool_timeout: config.pool_timeout,
            attempt_timeout: config.connect_timeout + config.response_timeout,
            breaker: Breaker::new(config.breaker.clone()),
        })
    }

    /// The instance's address.
    pub(crate) fn addr(&self) -> &Addr {
        &self.addr
    }

    /// The instance's circuit breaker.
    pub(crate) fn breaker(&self) -> &Breaker {
        &self.breaker
    }

    /// Runs `pipe` (which must ignore errors: per-command error replies come
    /// back as [`Value::ServerError`]) and returns one value per command.
    ///
    /// A pipeline of fewer than [`rounds::ALONE`] commands goes out in the
    /// instance's next round, together with every other request waiting
    /// then (see [`rounds`]); a larger one goes on its own.
    pub(crate) async fn query(self: &Arc<Self>, pipe: &Pipeline) -> Result<Vec<Value>, StoreError> {
        self.query_in(pipe, pipe.len() >= rounds::ALONE).await
    }

    /// Runs `pipe` as [`query`](Pool::query) does, by `route`.
    pub(crate) async fn query_by(
        self: &Arc<Self>,
        pipe: &Pipeline,
        route: Route,
    ) -> Result<Vec<Value>, StoreError> {
        match route {
            Route::BySize => self.query(pipe).await,
            Route::Alone => self.query_in(pipe, true).await,
        }
    }

    async fn query_in(
        self: &Arc<Self>,
        pipe: &Pipeline,
        alone: bool,
    ) -> Result<Vec<Value>, StoreError> {
        let permit = self
            .breaker
            .acquire()
            .map_err(|e| self.error(e.code(), e.message()))?;
        let Ok(Ok(slot)) =
            tokio::time::timeout(self.pool_timeout, self.permits.clone().acquire_owned()).await
        else {
            permit.finish(Outcome::Ignore);
            return Err(self.error(
                Code::ResourceExhausted,
                &format!("no room for a request within {:?}", self.pool_timeout),
            ));
        };
        let result = if alone {
            let result = self
                .query_with_retry(pipe)
                .await
                .map_err(|e| self.redis_error(&e));
            drop(slot);
            result
        } else {
            self.in_round(pipe, slot).await
        };
        permit.finish(match &result {
            Ok(_) => Outcome::Success,
            Err(_) => Outcome::Failure,
        });
        result
    }

    async fn query_with_retry(&self, pipe: &Pipeline) -> Result<Vec<Value>, RedisError> {
        let began = self.generation.load(Ordering::Acquire);
        let (lease, fresh) = self.checkout(began).await?;
        match self.attempt(&lease, pipe).await {
            Err(e) if !fresh && e.is_connection_dropped() && !e.is_timeout() => {
                // The server went away since this connection was made: so did
                // every connection made before it.
                drop(lease);
                let _ = self.generation.compare_exchange(
                    began,
                    began + 1,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                );
                tracing::debug!(instance = %self.addr, error = %e, "stale connection; retrying on a new one");
                let (lease, _) = self
                    .checkout(self.generation.load(Ordering::Acquire))
                    .await?;
                self.attempt(&lease, pipe).await
            }
            other => other,
        }
    }

    /// One try on `lease`'s connection. The reply is bounded by redis-rs
    /// itself (`response_timeout` in the connection's config), so a timer
    /// of our own would only cost a second timer registration a request.
    async fn attempt(&self, lease: &Lease, pipe: &Pipeline) -> Result<Vec<Value>, RedisError> {
        let mut conn = lease.0.conn.clone();
        pipe.query_async::<Vec<Value>>(&mut conn).await
    }

    /// The least-loaded connection of `generation`, or a new one when every
    /// open connection is busy enough and there is room; `true` when the
    /// connection was opened for this request.
    async fn checkout(&self, generation: u64) -> Result<(Lease, bool), RedisError> {
        loop {
            let wait = {
                let mut conns = self.conns.lock().unwrap_or_else(|e| e.into_inner());
                conns.open.retain(|c| c.generation >= generation);
                let least = conns
                    .open
                    .iter()
                    .min_by_key(|c| c.load.load(Ordering::Relaxed));
                let busy = least.is_none_or(|c| c.load.load(Ordering::Relaxed) >= self.open_at);
                let room = conns.open.len() + conns.opening < self.max_conns;
                match least {
                    Some(c) if !(busy && room) => return Ok((Lease::new(c.clone()), false)),
                    // Nothing open, and every slot is being opened by another
                    // request: wait for one of those.
                    None if !room => self.opened.notified(),
                    _ => {
                        conns.opening += 1;
                        break;
                    }
                }
            };
            wait.await;
        }
        let opened = self.connect(generation).await;
        let mut conns = self.conns.lock().unwrap_or_else(|e| e.into_inner());
        conns.opening -= 1;
        self.opened.notify_waiters();
        let conn = opened?;
        if conn.generation == self.generation.load(Ordering::Acquire) {
            conns.open.push(conn.clone());
        }
        Ok((Lease::new(conn), true))
    }

    async fn connect(&self, generation: u64) -> Result<Conn, RedisError> {
        let conn = tokio::time::timeout(
            self.attempt_timeout,
            self.client
                .get_multiplexed_async_connection_with_config(&self.conn_config),
        )
        .await
        .map_err(|_| RedisError::from(std::io::Error::from(std::io::ErrorKind::TimedOut)))??;
        Ok(Conn {
            conn,
            generation,
            load: Arc::new(AtomicUsize::new(0)),
        })
    }

    fn error(&self, code: Code, message: &str) -> StoreError {
        StoreError::backend(code, format!("redis {}: {message}", self.addr))
    }

    fn redis_error(&self, e: &RedisError) -> StoreError {
        self.error(code_of(e), &e.to_string())
    }
}

/// The kit code for a failed Redis request: timeouts are
/// `DeadlineExceeded`, a server out of reach is `Unavailable`, anything
/// else `Internal`.
pub(crate) fn code_of(e: &RedisError) -> Code {
    if e.is_timeout() {
        Code::DeadlineExceeded
    } else if e.is_io_error() || e.is_connection_dropped() || e.is_connection_refusal() {
        Code::Unavailable
    } else {
        Code::Internal
    }
}
