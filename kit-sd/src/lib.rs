//! Service discovery for kit: find instances, make endpoints, balance,
//! retry, register.
//!
//! Go kit's `sd` is the model, with Finagle's and linkerd's balancing and
//! retry budgets on top:
//!
//! | Go kit | kit-sd |
//! |---|---|
//! | `sd.Instancer` (pushes `sd.Event{Instances, Err}`) | [`Instancer`]: a watchable [`State`](instancer::State) |
//! | `sd.Factory` | [`Factory`]: `FnMut(&Instance) -> Result<S, Error>` |
//! | `sd.Endpointer`, `InvalidateOnError(t)` | [`Endpointer`], [`Builder::invalidate_on_error`](endpointer::Builder::invalidate_on_error) |
//! | `lb.NewRoundRobin`, `lb.NewRandom` | [`Balancer`] with [`RoundRobin`](balance::RoundRobin), [`Random`](balance::Random) |
//! | (Finagle) p2c + peak EWMA | [`P2c`](balance::P2c) over [`PeakEwma`](balance::PeakEwma) endpoints |
//! | `lb.Retry(max, timeout, lb)` | [`Retry`] with a deadline, backoff, retriable codes and a [`RetryBudget`](retry::RetryBudget) |
//! | `sd.Registrar` | [`Registrar`], returning a [`Registration`] |
//!
//! Backends, each behind a feature: a fixed list (`static`, on by default),
//! DNS SRV (`dns`), etcd v3 (`etcd`), Consul (`consul`). Every backend that
//! loops backs off on errors with jitter, so a registry outage never turns
//! into a busy loop (Go kit's Consul instancer once spun at 100% CPU).
//!
//! kit-sd never depends on a transport: the [`Factory`] is where one plugs
//! in, usually kit-transport's HTTP or gRPC client for the instance's
//! address.
//!
//! ```
//! use std::time::Duration;
//! use kit_endpoint::{Context, Endpoint, Error, Request, endpoint_fn};
//! use kit_sd::balance::{Balancer, P2c, PeakEwmaLayer};
//! use kit_sd::{Endpointer, Instance, Retry, fixed};
//! use tower::{Layer, ServiceExt};
//!
//! // What a transport client would be: an endpoint per address.
//! fn client(instance: &Instance) -> Result<Endpoint<Request<u32>, String>, Error> {
//!     let addr = instance.to_string();
//!     Ok(Endpoint::new(endpoint_fn(move |req: Request<u32>| {
//!         let addr = addr.clone();
//!         async move { Ok::<_, Error>(format!("{} from {addr}", req.body)) }
//!     })))
//! }
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Error> {
//! let instancer = fixed::instancer(["10.0.0.1:80", "10.0.0.2:80"]);
//! let ewma = PeakEwmaLayer::new();
//! let endpointer = Endpointer::builder()
//!     .invalidate_on_error(Duration::from_secs(30))
//!     .build(instancer, move |i: &Instance| Ok(ewma.layer(client(i)?)));
//! let balancer = Balancer::new(endpointer, P2c::new());
//! let svc = Retry::layer()
//!     .max_attempts(3)
//!     .attempt_timeout(Duration::from_millis(250))
//!     .layer(balancer);
//!
//! let ctx = Context::new().with_timeout(Duration::from_secs(1));
//! let reply = svc.oneshot(Request::with_context(ctx, 7)).await?;
//! assert!(reply.starts_with("7 from 10.0.0."));
//! # Ok(()) }
//! ```
//!
//! # Layout
//! - [`instance`], [`instancer`]: what a registry says.
//! - [`endpointer`]: [`Endpointer`], [`Factory`], [`Endpoints`].
//! - [`balance`]: [`Balancer`], the policies, [`PeakEwma`](balance::PeakEwma).
//! - [`retry`]: [`Retry`], [`RetryLayer`](retry::RetryLayer), [`RetryBudget`](retry::RetryBudget), [`Attempts`](retry::error::Attempts).
//! - [`registrar`]: [`Registrar`], [`Registration`].
//! - [`backoff`]: the delays between a backend's tries.
//! - backends: `fixed` (feature `static`), `dns`, `etcd`, `consul`.

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod backoff;
pub mod balance;
pub mod endpointer;
pub mod instance;
pub mod instancer;
pub mod registrar;
pub mod retry;

#[cfg(feature = "consul")]
pub mod consul;
#[cfg(feature = "dns")]
pub mod dns;
#[cfg(feature = "etcd")]
pub mod etcd;
#[cfg(feature = "static")]
pub mod fixed;

pub use balance::Balancer;
pub use endpointer::{Endpointer, Endpoints, Factory};
pub use instance::Instance;
pub use instancer::Instancer;
pub use registrar::{Registrar, Registration};
pub use retry::Retry;
