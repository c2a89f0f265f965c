//! A circuit breaker for kit endpoints: stop calling a callee that is
//! failing, fail fast instead, and probe now and then to find out when it
//! has recovered.
//!
//! [`CircuitBreakerLayer`] wraps any `S: Service<Req>` whose error converts
//! into [`kit_endpoint::Error`]. It has everything of Go kit's gobreaker
//! (consecutive failures, open period, half-open probes, `Interval`,
//! `OnStateChange`, `IsSuccessful`) and of Resilience4j's breaker
//! (failure-rate and slow-call-rate thresholds over count- or time-based
//! sliding windows with a minimum number of calls, exponential backoff of
//! the open period, forced states), and one thing neither has: a readiness
//! mode that lets a tower balancer route around an open breaker. The
//! crate's README maps each gobreaker and Resilience4j setting to ours.
//!
//! ```
//! use std::time::Duration;
//! use kit_circuitbreaker::{CircuitBreakerLayer, Config, State, Trip, Window};
//! use kit_endpoint::{Code, Error, endpoint_fn};
//! use tower::{Service, ServiceBuilder, ServiceExt};
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
//! let config = Config::new()
//!     .trips([
//!         Trip::consecutive_failures(3),
//!         Trip::failure_rate(0.5, Window::Time(Duration::from_secs(10)), 20),
//!         Trip::slow_call_rate(0.8, Duration::from_secs(2), Window::Count(100), 20),
//!     ])
//!     .open_for(Duration::from_secs(5))
//!     .backoff(2.0, Duration::from_secs(60))
//!     .half_open(1, 1);
//! let mut svc = ServiceBuilder::new()
//!     .layer(CircuitBreakerLayer::new(config))
//!     .service(endpoint_fn(|ok: bool| async move {
//!         if ok { Ok(()) } else { Err(Error::unavailable("connection refused")) }
//!     }));
//! let breaker = svc.breaker().clone();
//!
//! // Three server faults in a row trip it.
//! for _ in 0..3 {
//!     let _ = svc.ready().await.unwrap().call(false).await;
//! }
//! assert_eq!(breaker.state(), State::Open);
//!
//! // While open, calls fail fast and say when the breaker will probe.
//! let err = svc.ready().await.unwrap().call(true).await.unwrap_err();
//! assert_eq!(err.code(), Code::Unavailable);
//! assert_eq!(err.message(), "circuit breaker is open; it will probe again in 5s");
//! assert_eq!(err.retry_after(), Some(Duration::from_secs(5)));
//!
//! // After the open period one probe goes through; its success closes it.
//! tokio::time::advance(Duration::from_secs(5)).await;
//! svc.ready().await.unwrap().call(true).await.unwrap();
//! assert_eq!(breaker.state(), State::Closed);
//! # }
//! ```
//!
//! # States
//!
//! - **Closed**: calls pass; each finished call is classified and recorded
//!   by every trip policy of the [`Config`]. The first policy to say so
//!   trips the breaker. Admission is one atomic load and recording a handful
//!   of atomic operations: no lock.
//! - **Open**: calls fail fast with `Unavailable`, whose message says when
//!   the breaker will probe, and whose `retry_after` is that time. The open
//!   period is [`Config::open_for`], multiplied on each re-open in a row by
//!   [`Config::backoff`] up to its cap.
//! - **Half-open**: reached by the first call (or `poll_ready`) after the
//!   open period. At most `max_probes` calls are let through at a time; the
//!   rest fail fast. `successes` successful probes close the breaker, one
//!   failed (or slow) probe opens it again.
//! - **Forced open / forced closed**: manual control through [`Breaker`]
//!   until [`Breaker::reset`].
//!
//! Every transition bumps a generation. Counters are per generation, so a
//! call admitted before a transition never counts after it.
//!
//! # What counts as a failure
//!
//! By default the error's code decides ([`ByCode`]): `Unavailable`,
//! `DeadlineExceeded`, `Internal`, `Unknown` and `DataLoss` are failures;
//! `Cancelled` counts as nothing; every other error means the callee
//! answered, which is a success. Any `Fn(Result<&Resp, &Error>) -> Outcome`
//! replaces it ([`CircuitBreakerLayer::classify`]); [`AnyError`] is Go kit's
//! rule. A call whose future is dropped before it finishes counts as
//! nothing, and frees its probe slot.
//!
//! # Readiness, and how kit-sd uses it
//!
//! With [`Readiness::FailFast`] (the default) `poll_ready` is always ready
//! while the breaker refuses, and the call fails at once: right for a
//! single endpoint, whose caller wants a fast error.
//!
//! With [`Readiness::NotReady`], `poll_ready` returns `Pending` while the
//! breaker refuses, with the task's waker registered twice: on a timer at
//! the probe time, and on the breaker itself, so a reset or a freed probe
//! slot wakes it sooner. That is what a tower balancer needs. kit-sd's
//! endpointer wraps each instance's endpoint in its own breaker
//! (`CircuitBreakerLayer::new(config.readiness(Readiness::NotReady))`
//! applied in the factory, one breaker per instance) and hands the set to
//! `tower::balance::p2c::Balance`. The balancer's ready cache polls every
//! endpoint: an open one stays `Pending` and sits in the pending set, so
//! power-of-two-choices picks only among the others. At the probe time the
//! timer wakes the balancer, which polls the endpoint again; the breaker
//! goes half-open and takes the probe permit in `poll_ready`, so the
//! endpoint rejoins the ready set holding exactly the probe slot, and the
//! next call routed to it is the probe. If every instance is open the
//! balancer itself is `Pending`: put a deadline ([`kit_endpoint::DeadlineLayer`])
//! or a load shedder outside it so callers fail instead of waiting.
//!
//! ```
//! use std::time::Duration;
//! use kit_circuitbreaker::{CircuitBreakerLayer, Config, Readiness, Trip};
//! use kit_endpoint::{Error, endpoint_fn};
//! use tower::{Layer, Service};
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
//! let layer = CircuitBreakerLayer::new(
//!     Config::new().trips([Trip::consecutive_failures(1)]).readiness(Readiness::NotReady),
//! );
//! let mut svc = layer.layer(endpoint_fn(|_: ()| async { Err::<(), _>(Error::unavailable("down")) }));
//! let waker = futures_util::task::noop_waker();
//! let mut cx = std::task::Context::from_waker(&waker);
//! assert!(svc.poll_ready(&mut cx).is_ready());
//! let _ = svc.call(()).await;
//! // Open: not ready, so a balancer skips this endpoint...
//! assert!(svc.poll_ready(&mut cx).is_pending());
//! // ...until the probe time.
//! tokio::time::advance(Duration::from_secs(5)).await;
//! assert!(svc.poll_ready(&mut cx).is_ready());
//! # }
//! ```
//!
//! # Ordering
//!
//! Put the breaker **outside** a [`DeadlineLayer`](kit_endpoint::DeadlineLayer),
//! so that timeouts reach it as `DeadlineExceeded` failures; a deadline
//! outside the breaker drops the call's future instead, which counts as
//! nothing. Put it **outside** kit's rate limiters too, or keep the default
//! classification: Go kit's addsvc puts its limiter inside gobreaker and
//! counts every error, so six rate-limit rejections open the breaker for
//! 60 s. With [`ByCode`], `ResourceExhausted` is not a failure.
//!
//! # Cost
//!
//! In the closed state admission is one atomic load; recording a call is a
//! few loads for a consecutive-failure policy and one `fetch_add` for a
//! count window, with no lock anywhere. The response future holds an `Arc`
//! to the breaker (a tower future cannot borrow its service), which is the
//! largest part of the cost. Time windows and slow-call policies read the
//! clock once per call (twice for slow calls), which is why the default
//! uses a count window. The crate README has the benchmark figures.
//!
//! # Layout
//! - [`config`]: [`Config`], [`Trip`], [`Window`], [`Readiness`].
//! - [`classify`]: [`Outcome`], [`Classify`], [`ByCode`], [`AnyError`].
//! - [`Breaker`] and [`Permit`]: the shared state machine and its handle (the
//!   slow paths, admission outside the closed state and transitions, in a
//!   private `transition` module; the lock-free counters in `window`).
//! - [`hooks`]: [`Hooks`] and [`Transition`], for logs and metrics.
//! - [`snapshot`]: [`Snapshot`], the state and counters.
//! - [`CircuitBreaker`], [`CircuitBreakerLayer`], [`future`], [`error`]: the tower side.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod breaker;
pub mod classify;
pub mod config;
pub mod error;
pub mod future;
pub mod hooks;
mod layer;
mod permit;
mod service;
pub mod snapshot;
mod state;
mod transition;
mod window;

pub use breaker::Breaker;
pub use classify::{AnyError, ByCode, Classify, Outcome};
pub use config::{Config, Rate, Readiness, Trip, Window};
pub use error::Rejected;
pub use hooks::{Cause, Hooks, Transition};
pub use layer::CircuitBreakerLayer;
pub use permit::Permit;
pub use service::CircuitBreaker;
pub use snapshot::{Snapshot, WindowCounts};
pub use state::State;
