//! Rate, keyed, concurrency and adaptive limits for kit endpoints, as tower
//! layers.
//!
//! Go kit has two rate limiters, both unkeyed: an erroring one that fails at
//! once with "rate limit exceeded", and a delaying one that waits for a
//! token unless the wait would pass the context's deadline. tower's
//! `RateLimit` is a fixed window that only waits, and its clones do not
//! share a budget. This crate keeps Go kit's semantics and adds what
//! services need next:
//!
//! | you want | layer | a request over the limit |
//! |---|---|---|
//! | at most a rate, with bursts (Go kit's erroring limiter) | [`RateLimitLayer`] | fails at once |
//! | a rate, waiting for a token within the deadline (Go kit's delaying limiter) | [`DelayLimitLayer`] | waits, or fails at once if the wait would pass the deadline |
//! | a rate per client, tenant, IP or metadata value, in bounded memory | [`KeyedRateLimitLayer`] | fails at once |
//! | at most N at once, a bounded queue, a queue timeout | [`ConcurrencyLimitLayer`] | waits in the queue, or fails when it is full or the wait times out |
//! | a concurrency limit learnt from latency (Netflix's Gradient2 and Vegas) | [`AdaptiveLimitLayer`] | is shed at once |
//!
//! Rates are governor's GCRA, lock-free, on tokio's clock ([`clock`]).
//! Limiters are shared handles: every clone of a layer's services, and
//! every service built from one layer, draws from one budget.
//!
//! Every rejection is a kit [`Error`](kit_endpoint::Error) with
//! [`Code::ResourceExhausted`](kit_endpoint::Code::ResourceExhausted) and a
//! [retry-after hint](kit_endpoint::Error::retry_after), which transports
//! send as `Retry-After` or gRPC metadata; each is reported to the
//! limiter's [`Hooks`](hooks::Hooks) first, with its [`Reason`](hooks::Reason),
//! for metrics to count.
//!
//! # Example
//!
//! An endpoint limited to 100 requests a second overall, 10 a second per
//! tenant, and an adaptive number at once, with rejections counted:
//!
//! ```
//! use std::num::NonZeroU32;
//! use std::sync::Arc;
//! use kit_endpoint::{Code, Context, Error, Request, endpoint_fn};
//! use kit_ratelimit::adaptive::{AdaptiveLimitLayer, AdaptiveLimiter, Gradient2};
//! use kit_ratelimit::hooks::{Counters, Reason};
//! use kit_ratelimit::keyed::{KeyedRateLimitLayer, KeyedRateLimiter, MetadataKey};
//! use kit_ratelimit::{Quota, RateLimitLayer, RateLimiter};
//! use tower::{ServiceBuilder, ServiceExt};
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
//! let counters = Arc::new(Counters::new());
//! let per_second = |n| Quota::per_second(NonZeroU32::new(n).unwrap());
//!
//! let svc = ServiceBuilder::new()
//!     .layer(RateLimitLayer::new(
//!         RateLimiter::builder(per_second(100)).hooks(counters.clone()).build(),
//!     ))
//!     .layer(KeyedRateLimitLayer::new(
//!         MetadataKey::new("x-tenant"),
//!         KeyedRateLimiter::builder(per_second(10)).hooks(counters.clone()).build(),
//!     ))
//!     .layer(AdaptiveLimitLayer::new(AdaptiveLimiter::new(Gradient2::new())))
//!     .service(endpoint_fn(|req: Request<u32>| async move { Ok::<_, Error>(req.body * 2) }));
//!
//! let mut ctx = Context::new();
//! ctx.metadata_mut().insert("x-tenant", "acme");
//! for _ in 0..10 {
//!     let req = Request::with_context(ctx.clone(), 21);
//!     assert_eq!(svc.clone().oneshot(req).await.unwrap(), 42);
//! }
//! // acme's burst of 10 is spent
//! let err = svc.oneshot(Request::with_context(ctx, 21)).await.unwrap_err();
//! assert_eq!(err.code(), Code::ResourceExhausted);
//! assert_eq!(err.retry_after().unwrap().as_millis(), 100);
//! assert_eq!(counters.rejected(Reason::RateExceeded), 1);
//! # }
//! ```
//!
//! # Ordering
//! - Put cheap, stateless rejections first: a global rate limit before a
//!   keyed one, both before concurrency limits, so that rejected requests
//!   never hold a slot.
//! - Put the adaptive limit innermost, next to the callee it protects, so
//!   that the latency it learns from is the callee's.
//! - Put limits *outside* a circuit breaker when their rejections should
//!   not count as the callee's failures. In Go kit's addsvc the limiter sits
//!   inside the breaker, so six rate-limit rejections open the breaker; a
//!   kit breaker that counts only server faults (`Code::is_server_fault`)
//!   ignores `ResourceExhausted` either way.
//! - The delaying limiter waits inside the request's deadline: put it
//!   inside the `DeadlineLayer` that sets that deadline.
//!
//! # Layout
//! - [`limiter`]: [`RateLimiter`], one shared GCRA budget.
//! - [`rate`] and [`delay`]: the erroring and delaying rate limits.
//! - [`keyed`]: per-key rate limits; [`keyed::store`], the capped store.
//! - [`concurrency`]: the concurrency limit with a bounded queue.
//! - [`adaptive`]: the adaptive concurrency limit, Gradient2 and Vegas.
//! - [`hooks`]: rejections, limit changes and the hooks that report them.
//! - [`clock`]: the governor clock that reads tokio's time.
//! - [`future`]: the response future shared by the limits that decide at
//!   once.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod adaptive;
pub mod clock;
pub mod concurrency;
pub mod delay;
pub mod future;
pub mod hooks;
pub mod keyed;
pub mod limiter;
pub mod rate;

pub use adaptive::{AdaptiveLimit, AdaptiveLimitLayer, AdaptiveLimiter};
pub use concurrency::{ConcurrencyLimit, ConcurrencyLimitLayer, ConcurrencyLimiter};
pub use delay::{DelayLimit, DelayLimitLayer};
pub use governor::Quota;
pub use keyed::{KeyedRateLimit, KeyedRateLimitLayer, KeyedRateLimiter};
pub use limiter::RateLimiter;
pub use rate::{RateLimit, RateLimitLayer};
