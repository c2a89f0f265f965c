//! Rate, keyed, concurrency and adaptive limits for kit endpoints.
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
