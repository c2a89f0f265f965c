//! `Pool`: one instance's bounded connection pool, its circuit breaker, and
//! what it does after a restart.
//!
//! Roshi's pool (redigo's) blocks forever when it is exhausted, and hands
//! out idle connections unchecked, so each stale one fails a request with
//! `EOF` after a Redis restart. This one:
//!
//! - holds at most `pool_size` connections, each used by one request at a
//!   time (a semaphore counts them); a request that finds none free within
//!   `pool_timeout` fails with `ResourceExhausted`;
//! - connects lazily, within `connect_timeout`, and bounds every reply by
//!   `response_timeout`;
//! - after a failure that shows the connection was dropped (EOF, reset,
//!   broken pipe) on a connection it had reused, forgets every idle
//!   connection made before it (they belong to the dead server) and runs
//!   the request once more on a fresh connection. That is safe because
//!   every command this store sends is idempotent: reads, and CRDT writes
//!   that apply at most once however often they are sent. A health check by
//!   `PING` on every checkout would cost a round trip per request; this
//!   costs nothing until a restart, and no request fails because of one;
//! - asks the instance's [`Breaker`] before each request, and tells it how
//!   the request went: dropped connections, refusals and timeouts are
//!   failures; an error reply from Redis is not (the server answered); an
//!   exhausted pool counts as nothing (the fault is local).

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use kit_circuitbreaker::{Breaker, Outcome};
use kit_endpoint::Code;
use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Client, Pipeline, RedisError, Value};
use tokio::sync::Semaphore;

use super::config::{Addr, ClusterConfig};
use crate::store::StoreError;

/// One instance's connections and breaker.
pub(crate) struct Pool {
    addr: Addr,
    client: Client,
    conn_config: AsyncConnectionConfig,
    /// Connections not in use, with the generation they were made in.
    idle: Mutex<Vec<(MultiplexedConnection, u64)>>,
    /// One permit per connection that may exist.
    permits: Semaphore,
    /// Bumped when a reused connection turns out dead: idle connections of
    /// an older generation are dropped instead of used.
    generation: AtomicU64,
    pool_timeout: Duration,
    /// How long one attempt may take in all: connect plus reply.
    attempt_timeout: Duration,
    breaker: Breaker,
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
        Ok(Pool {
            addr,
            client,
            conn_config,
            idle: Mutex::new(Vec::new()),
            permits: Semaphore::new(config.pool_size.max(1)),
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
    pub(crate) async fn query(&self, pipe: &Pipeline) -> Result<Vec<Value>, StoreError> {
        let permit = self
            .breaker
            .acquire()
            .map_err(|e| self.error(e.code(), e.message()))?;
        let Ok(Ok(_slot)) = tokio::time::timeout(self.pool_timeout, self.permits.acquire()).await
        else {
            permit.finish(Outcome::Ignore);
            return Err(self.error(
                Code::ResourceExhausted,
                &format!("no free connection within {:?}", self.pool_timeout),
            ));
        };
        let result = self.query_with_retry(pipe).await;
        permit.finish(match &result {
            Ok(_) => Outcome::Success,
            Err(_) => Outcome::Failure,
        });
        result.map_err(|e| self.redis_error(&e))
    }

    async fn query_with_retry(&self, pipe: &Pipeline) -> Result<Vec<Value>, RedisError> {
        let (conn, reused) = self.checkout().await?;
        match self.attempt(conn, pipe).await {
            Err(e) if reused && e.is_connection_dropped() && !e.is_timeout() => {
                // The server went away since this connection was idle: so did
                // every connection made before it.
                self.generation.fetch_add(1, Ordering::AcqRel);
                tracing::debug!(instance = %self.addr, error = %e, "stale connection; retrying on a new one");
                let (conn, _) = self.checkout().await?;
                self.attempt(conn, pipe).await
            }
            other => other,
        }
    }

    /// One try on `conn`; keeps the connection if it is still good.
    async fn attempt(
        &self,
        mut conn: (MultiplexedConnection, u64),
        pipe: &Pipeline,
    ) -> Result<Vec<Value>, RedisError> {
        let sent = tokio::time::timeout(
            self.attempt_timeout,
            pipe.query_async::<Vec<Value>>(&mut conn.0),
        )
        .await;
        match sent {
            Ok(Ok(values)) => {
                self.checkin(conn);
                Ok(values)
            }
            Ok(Err(e)) => Err(e),
            Err(_) => Err(RedisError::from(std::io::Error::from(
                std::io::ErrorKind::TimedOut,
            ))),
        }
    }

    /// An idle connection of the current generation, or a new one.
    async fn checkout(&self) -> Result<((MultiplexedConnection, u64), bool), RedisError> {
        let generation = self.generation.load(Ordering::Acquire);
        {
            let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
            idle.retain(|(_, g)| *g == generation);
            if let Some(conn) = idle.pop() {
                return Ok((conn, true));
            }
        }
        let conn = tokio::time::timeout(
            self.attempt_timeout,
            self.client
                .get_multiplexed_async_connection_with_config(&self.conn_config),
        )
        .await
        .map_err(|_| RedisError::from(std::io::Error::from(std::io::ErrorKind::TimedOut)))??;
        Ok(((conn, generation), false))
    }

    fn checkin(&self, conn: (MultiplexedConnection, u64)) {
        if conn.1 == self.generation.load(Ordering::Acquire) {
            let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
            idle.push(conn);
        }
    }

    fn error(&self, code: Code, message: &str) -> StoreError {
        StoreError::backend(code, format!("redis {}: {message}", self.addr))
    }

    fn redis_error(&self, e: &RedisError) -> StoreError {
        let code = if e.is_timeout() {
            Code::DeadlineExceeded
        } else if e.is_io_error() || e.is_connection_dropped() || e.is_connection_refusal() {
            Code::Unavailable
        } else {
            Code::Internal
        };
        self.error(code, &e.to_string())
    }
}
