//! Consul (feature `consul`): a health-filtered service watch with blocking
//! queries, and agent service registration with a TTL check, over
//! Consul's HTTP API.
//!
//! The client is deliberately small: three agent calls and one health
//! query on hyper-util's pooled HTTP/1 client, rather than a full Consul
//! SDK. Blocking queries follow Consul's documented rules: send the last
//! `X-Consul-Index` as `index` with a `wait`; reset to 0 when the index goes
//! backwards (a Consul restart or a snapshot restore); treat an index below
//! 1 as 1; never loop faster than a floor when the index has not moved.
//! Errors publish the error state and back off (Go kit's Consul instancer
//! once retried at once, spinning at 100% CPU while Consul was down).
//!
//! There is no Debian package for Consul, so kit's tests run this backend
//! against a contract fake that serves Consul's documented responses; see
//! the crate README.

mod client;
mod instancer;
mod registrar;

pub use self::client::ConsulClient;
pub use self::instancer::HealthInstancer;
pub use self::registrar::{ConsulRegistrar, ConsulService};
