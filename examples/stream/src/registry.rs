//! Registration in etcd (feature `etcd`): the service announces itself
//! through kit-sd's [`EtcdRegistrar`] for as long as it runs.
//!
//! The record is Go kit's etcd layout: the key `<prefix><address>` (by
//! default `/services/stream/10.0.0.1:6302`) holds the address, under a
//! lease of `ttl` that a task keeps alive. [`Registration::deregister`] on
//! graceful shutdown revokes the lease and so deletes the key; if the
//! process dies, the lease runs out and etcd deletes the key then.
//!
//! ```no_run
//! use stream::registry::{RegistryConfig, register};
//!
//! # async fn run() -> Result<(), kit_endpoint::Error> {
//! let config = RegistryConfig::new(vec!["127.0.0.1:2379".into()], "10.0.0.1:6302");
//! let registration = register(&config).await?;
//! // … serve …
//! registration.deregister().await?;
//! # Ok(()) }
//! ```

use std::time::Duration;

use kit_endpoint::Error;
use kit_sd::Registrar;
use kit_sd::etcd::EtcdRegistrar;
use kit_sd::etcd::etcd_client::{Client, ConnectOptions};

pub use kit_sd::Registration;

/// Where and how to register.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistryConfig {
    /// etcd endpoints (`host:port` or URLs).
    pub endpoints: Vec<String>,
    /// The key prefix; the address is appended.
    pub prefix: String,
    /// The address others should call, stored as the value.
    pub address: String,
    /// The lease's time to live.
    pub ttl: Duration,
    /// How long to wait for etcd when registering.
    pub connect_timeout: Duration,
}

impl RegistryConfig {
    /// Registration of `address` in etcd at `endpoints`, under
    /// `/services/stream/`, with a 10 s lease.
    pub fn new(endpoints: Vec<String>, address: impl Into<String>) -> RegistryConfig {
        RegistryConfig {
            endpoints,
            prefix: "/services/stream/".into(),
            address: address.into(),
            ttl: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(3),
        }
    }

    /// The key the address is registered under.
    pub fn key(&self) -> String {
        format!("{}{}", self.prefix, self.address)
    }
}

/// Connects to etcd and registers; the returned [`Registration`] keeps the
/// lease alive until it is deregistered or dropped. Fails with
/// `InvalidArgument` for an empty configuration, `Unavailable` if etcd
/// cannot be reached within the connect timeout.
pub async fn register(config: &RegistryConfig) -> Result<Registration, Error> {
    if config.endpoints.is_empty() || config.address.is_empty() {
        return Err(Error::invalid_argument(
            "registration needs etcd endpoints and an address",
        ));
    }
    // No request timeout: it would also cut the lease's keep-alive stream.
    let options = ConnectOptions::new().with_connect_timeout(config.connect_timeout);
    let connect = Client::connect(config.endpoints.clone(), Some(options));
    let client = tokio::time::timeout(config.connect_timeout, connect)
        .await
        .map_err(|_| {
            Error::unavailable(format!(
                "etcd: no answer within {:?}",
                config.connect_timeout
            ))
        })?
        .map_err(|e| Error::unavailable(format!("etcd: {e}")))?;
    let registrar = EtcdRegistrar::new(client, config.key(), config.address.clone(), config.ttl);
    tokio::time::timeout(config.connect_timeout, registrar.register())
        .await
        .map_err(|_| {
            Error::unavailable(format!(
                "etcd: no answer within {:?}",
                config.connect_timeout
            ))
        })?
}
