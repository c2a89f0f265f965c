//! An endpoint logging middleware: one event per call, like Go kit's
//! `method=Sum took=… err=…` logging middleware.
//!
//! Every call through [`Logging`] emits one tracing event, with target
//! `kit_log::logging`, carrying:
//!
//! | field | value |
//! |---|---|
//! | `endpoint` | the name given to the layer |
//! | `code` | `ok`, or the error's canonical code name (`invalid_argument`, `unavailable`, …) |
//! | `took` | the call's duration, as Go prints it (`1.5ms`, `250µs`) |
//! | `err` | the error's message (errors only) |
//!
//! Successes are logged at `INFO`, and can be sampled (one in N) or turned
//! off; errors are always logged, at `ERROR` when the code is a server fault
//! ([`Code::is_server_fault`](kit_endpoint::Code::is_server_fault)) and at
//! `WARN` otherwise. A call whose future is dropped before it completes (the
//! client went away, a timeout outside fired) is logged once with code
//! `cancelled`.
//!
//! The event is emitted inside whatever span is current when the call
//! completes, so span fields (and, with the `otel` feature, trace ids) land
//! on the line.
//!
//! # Ordering
//! addsvc puts logging just inside instrumentation, outside the breaker and
//! the limiter: the line then shows what the caller got (`unavailable` from
//! an open breaker, `resource_exhausted` from a limiter) and how long it
//! took, middleware included. Put it further in to log only what reached
//! the endpoint.
//!
//! # Cost and clock
//! A success that is sampled out costs one clock read, one shared counter
//! increment (none when successes are off) and one reference count; see
//! `benches/logging.rs`. The clock is quanta's (a calibrated TSC, falling
//! back to the OS monotonic clock): on the 2-vCPU development VMs a read
//! cost 10–27 ns against 23–62 ns for `std::time::Instant::now()` (the
//! `clock` group of `cargo bench -p kit-metrics --bench layer`), and clock
//! reads are most of what this layer costs. The first layer built
//! calibrates it once per process (bounded by quanta at 200 ms). Tests pass
//! `quanta::Clock::mock()` to [`LoggingLayer::with_clock`] and move time
//! by hand.
//!
//! ```
//! use kit_endpoint::{Error, endpoint_fn};
//! use kit_log::{Builder, Capture, LoggingLayer};
//! use tower::{ServiceBuilder, ServiceExt};
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let capture = Capture::new();
//! let (subscriber, _guard) = Builder::new().make_writer(capture.clone()).subscriber().unwrap();
//! let _scope = tracing::subscriber::set_default(subscriber);
//!
//! let sum = ServiceBuilder::new()
//!     .layer(LoggingLayer::new("sum"))
//!     .service(endpoint_fn(|(a, b): (i64, i64)| async move {
//!         if a == 0 && b == 0 {
//!             return Err(Error::invalid_argument("can't sum two zeroes"));
//!         }
//!         Ok(a + b)
//!     }));
//! sum.oneshot((0, 0)).await.unwrap_err();
//!
//! let line = kit_log::logfmt::parse(&capture.lines()[0]).unwrap();
//! assert_eq!(line.get("endpoint"), Some("sum"));
//! assert_eq!(line.get("code"), Some("invalid_argument"));
//! assert_eq!(line.get("err"), Some("can't sum two zeroes"));
//! # }
//! ```

pub mod future;
mod layer;

#[cfg(test)]
mod tests;

pub use self::layer::LoggingLayer;

use std::borrow::Cow;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use kit_endpoint::Error;
use quanta::{Clock, Instant};
use tower_service::Service;

use self::future::ResponseFuture;

/// Logs one event per call of the inner service. See the [module docs](self).
#[derive(Clone, Debug)]
pub struct Logging<S> {
    inner: S,
    shared: Arc<Shared>,
}

/// What every call of one endpoint shares: its name and the success sampler.
#[derive(Debug)]
pub(crate) struct Shared {
    endpoint: Cow<'static, str>,
    /// Times calls: quanta's calibrated TSC by default, a mock in tests.
    clock: Clock,
    /// Log one success in `every`; `0` logs none.
    every: u64,
    /// Successes seen, for sampling. Shared by every clone of the service,
    /// because servers clone the service per request.
    seen: AtomicU64,
}

impl<S> Logging<S> {
    /// Logs every call of `inner` as `endpoint`.
    pub fn new(inner: S, endpoint: impl Into<Cow<'static, str>>) -> Logging<S> {
        LoggingLayer::new(endpoint).layer_service(inner)
    }

    /// The endpoint name on each line.
    pub fn endpoint(&self) -> &str {
        &self.shared.endpoint
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, to change.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, Req> Service<Req> for Logging<S>
where
    S: Service<Req>,
    S::Error: Into<Error>,
{
    type Response = S::Response;
    type Error = Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, req: Req) -> Self::Future {
        let start = self.shared.clock.now();
        ResponseFuture::new(self.inner.call(req), self.shared.clone(), start)
    }
}

impl Shared {
    pub(crate) fn new(endpoint: Cow<'static, str>, every: u64, clock: Clock) -> Shared {
        Shared {
            endpoint,
            clock,
            every,
            seen: AtomicU64::new(0),
        }
    }

    /// Whether this success is one to log.
    fn sample(&self) -> bool {
        match self.every {
            0 => false,
            1 => true,
            n => self.seen.fetch_add(1, Ordering::Relaxed).is_multiple_of(n),
        }
    }

    fn elapsed(&self, start: Instant) -> Duration {
        self.clock.now().saturating_duration_since(start)
    }

    fn success(&self, start: Instant) {
        if self.sample() {
            let took = self.elapsed(start);
            tracing::info!(endpoint = &*self.endpoint, code = "ok", took = ?took);
        }
    }

    fn failure(&self, start: Instant, err: &Error) {
        let took = self.elapsed(start);
        let (endpoint, code, err) = (&*self.endpoint, err.code(), err.message());
        if code.is_server_fault() {
            tracing::error!(endpoint, code = code.as_str(), took = ?took, err);
        } else {
            tracing::warn!(endpoint, code = code.as_str(), took = ?took, err);
        }
    }

    fn cancelled(&self, start: Instant) {
        let took = self.elapsed(start);
        tracing::info!(
            endpoint = &*self.endpoint,
            code = "cancelled",
            took = ?took,
            err = "dropped before completion"
        );
    }
}
