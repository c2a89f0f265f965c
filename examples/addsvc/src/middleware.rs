//! Every kit middleware, wired per endpoint, as Go kit's `addendpoint.New`
//! and `addservice.New` do, in an order that avoids Go kit's flaw.
//!
//! Go kit: `pkg/addendpoint/middleware.go`, `pkg/addendpoint/set.go`.
//!
//! # Ordering
//! Outermost first:
//!
//! 1. **metrics** (`requests_total`, `request_duration_seconds`): sees every
//!    call, rejections included, as clients do;
//! 2. **tracing**: a server span per call; everything below runs inside it;
//! 3. **logging**: one line per call, carrying the span's trace id;
//! 4. **rate limit** (Go kit's erroring limiter): rejects with
//!    `ResourceExhausted` and a retry-after before the breaker sees the call;
//! 5. **circuit breaker** (gobreaker's defaults): counts only server faults;
//! 6. the endpoint.
//!
//! Go kit puts the limiter *inside* the breaker and counts every error as a
//! failure, so six rate-limited calls in a row open the breaker for 60 s,
//! and every caller is refused for a minute after a burst. Here a rejection
//! never reaches the breaker, and the breaker classifies by code, so a
//! limiter's `ResourceExhausted` would not count even if it did.

use std::num::NonZeroU32;

use kit_circuitbreaker::{CircuitBreakerLayer, Config};
use kit_endpoint::{Endpoint, Request};
use kit_log::LoggingLayer;
use kit_metrics::RequestMetrics;
use kit_metrics::hooks::{BreakerMetrics, LimiterMetrics};
use kit_ratelimit::{Quota, RateLimitLayer, RateLimiter};
use kit_tracing::TraceLayer;
use opentelemetry_sdk::trace::SdkTracer;
use prometheus_client::registry::Registry;
use tower::ServiceBuilder;

use crate::endpoints::Set;
use crate::service::Service;

/// A rate: `per_second` requests a second with bursts of `burst`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    /// Requests a second.
    pub per_second: NonZeroU32,
    /// The largest burst.
    pub burst: NonZeroU32,
}

impl Rate {
    /// `per_second` with bursts of `burst`; zeros are taken as one.
    pub fn new(per_second: u32, burst: u32) -> Rate {
        Rate {
            per_second: NonZeroU32::new(per_second).unwrap_or(NonZeroU32::MIN),
            burst: NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN),
        }
    }

    fn quota(self) -> Quota {
        Quota::per_second(self.per_second).allow_burst(self.burst)
    }
}

/// What the middleware reports to, and its settings.
#[derive(Debug)]
pub struct Middleware {
    metrics: RequestMetrics,
    breakers: BreakerMetrics,
    limiters: LimiterMetrics,
    tracer: Option<SdkTracer>,
    /// Sum's rate limit (Go kit: 1/s, burst 1).
    pub sum_rate: Rate,
    /// Concat's rate limit (Go kit: 1/s, burst 100).
    pub concat_rate: Rate,
    /// The breaker's settings (default: gobreaker's, as Go kit).
    pub breaker: Config,
    /// Log one success in this many (errors are always logged); 1 logs
    /// every call, as Go kit does.
    pub log_one_in: NonZeroU32,
}

impl Middleware {
    /// Registers the metrics in `registry`; Go kit's limits and breaker;
    /// tracing when a tracer is given.
    pub fn new(registry: &mut Registry, tracer: Option<SdkTracer>) -> Middleware {
        Middleware {
            metrics: RequestMetrics::register(registry),
            breakers: BreakerMetrics::register(registry),
            limiters: LimiterMetrics::register(registry),
            tracer,
            sum_rate: Rate::new(1, 1),
            concat_rate: Rate::new(1, 100),
            breaker: Config::gobreaker(),
            log_one_in: NonZeroU32::MIN,
        }
    }

    fn wrap<Req, Resp>(
        &self,
        name: &'static str,
        rate: Rate,
        ep: Endpoint<Request<Req>, Resp>,
    ) -> Endpoint<Request<Req>, Resp>
    where
        Req: Send + 'static,
        Resp: Send + 'static,
    {
        let limiter = RateLimiter::builder(rate.quota())
            .hooks(self.limiters.limiter(name))
            .build();
        let breaker = self.breaker.clone().hooks(self.breakers.breaker(name));
        let trace = self
            .tracer
            .clone()
            .map(|t| TraceLayer::server(t, name).rpc("grpc", "pb.Add", name));
        let logging = match self.log_one_in.get() {
            1 => LoggingLayer::new(name),
            n => LoggingLayer::new(name)
                .sample_successes(u64::from(n).try_into().unwrap_or(std::num::NonZeroU64::MIN)),
        };
        Endpoint::new(
            ServiceBuilder::new()
                .layer(self.metrics.layer(name))
                .option_layer(trace)
                .layer(logging)
                .layer(RateLimitLayer::new(limiter))
                .layer(CircuitBreakerLayer::new(breaker))
                .service(ep),
        )
    }

    /// The service's endpoints, each wrapped in every middleware.
    pub fn set<S: Service + Clone + 'static>(&self, svc: S) -> Set {
        self.wrap_set(Set::new(svc))
    }

    /// A set's endpoints, each wrapped in every middleware: on the server,
    /// the service's; on a client, the transport's client endpoints (as Go
    /// kit's clients wrap theirs in a limiter and a breaker).
    pub fn wrap_set(&self, set: Set) -> Set {
        Set {
            sum: self.wrap("Sum", self.sum_rate, set.sum),
            concat: self.wrap("Concat", self.concat_rate, set.concat),
        }
    }
}
