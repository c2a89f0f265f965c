//! DNS SRV (feature `dns`): instances polled from SRV records with
//! hickory-resolver.
//!
//! DNS cannot push, so the instancer polls: it looks the name up, publishes
//! `target:port` for every SRV record, and asks again when the answer's TTL
//! runs out (clamped between a floor and a ceiling, so a TTL of zero is no
//! busy loop and a TTL of a day still notices changes). A failed lookup
//! publishes the error, keeping the last good set for the
//! [`Endpointer`](crate::Endpointer), and retries with
//! [`Backoff`]. A name with no records (NXDOMAIN
//! or an empty answer) is an empty set, not an error: the registry answered.
//!
//! Point the resolver at the servers to ask; the instancer does not cache
//! beyond the TTL because it asks again only when the TTL is over.

use std::time::Duration;

use hickory_resolver::TokioResolver;
use hickory_resolver::proto::rr::RData;
use kit_endpoint::Error;

use crate::backoff::Backoff;
use crate::instancer::{self, Publisher};
use crate::{Instance, Instancer};

pub use hickory_resolver;

/// Settings for a DNS SRV instancer.
///
/// ```no_run
/// use std::net::Ipv4Addr;
/// use hickory_resolver::config::{NameServerConfig, ResolverConfig};
/// use hickory_resolver::net::runtime::TokioRuntimeProvider;
/// use kit_sd::dns::{SrvInstancer, hickory_resolver::{self, TokioResolver}};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let config = ResolverConfig::from_parts(None, vec![], vec![
///     NameServerConfig::udp_and_tcp(Ipv4Addr::new(10, 0, 0, 53).into()),
/// ]);
/// let resolver = TokioResolver::builder_with_config(config, TokioRuntimeProvider::default()).build()?;
/// let instancer = SrvInstancer::new(resolver, "_http._tcp.addsvc.service.example.").build();
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct SrvInstancer {
    resolver: TokioResolver,
    name: String,
    min_interval: Duration,
    max_interval: Duration,
    backoff: Backoff,
}

impl std::fmt::Debug for SrvInstancer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SrvInstancer")
            .field("name", &self.name)
            .field("min_interval", &self.min_interval)
            .field("max_interval", &self.max_interval)
            .field("backoff", &self.backoff)
            .finish_non_exhaustive()
    }
}

impl SrvInstancer {
    /// Polls the SRV records of `name` (end it with `.` to skip search
    /// domains) at their TTL, between 1 s and 5 minutes; backs off from
    /// 100 ms to 30 s on errors.
    pub fn new(resolver: TokioResolver, name: impl Into<String>) -> SrvInstancer {
        SrvInstancer {
            resolver,
            name: name.into(),
            min_interval: Duration::from_secs(1),
            max_interval: Duration::from_secs(300),
            backoff: Backoff::new(Duration::from_millis(100), Duration::from_secs(30)),
        }
    }

    /// Never polls more often than this, whatever the TTL (at least 10 ms).
    pub fn min_interval(mut self, interval: Duration) -> Self {
        self.min_interval = interval.max(Duration::from_millis(10));
        self.max_interval = self.max_interval.max(self.min_interval);
        self
    }

    /// Polls at least this often, whatever the TTL.
    pub fn max_interval(mut self, interval: Duration) -> Self {
        self.max_interval = interval.max(self.min_interval);
        self
    }

    /// The backoff between failed lookups.
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// Starts polling on a task that ends when every [`Instancer`] is gone.
    ///
    /// # Panics
    /// Outside a Tokio runtime, as `tokio::spawn` does.
    pub fn build(self) -> Instancer {
        let (publisher, instancer) = instancer::channel();
        tokio::spawn(self.run(publisher));
        instancer
    }

    async fn run(self, publisher: Publisher) {
        let mut delays = self.backoff.delays();
        loop {
            let wait = tokio::select! {
                () = publisher.closed() => return,
                found = self.lookup() => match found {
                    Ok((instances, ttl)) => {
                        publisher.update(instances);
                        delays = self.backoff.delays();
                        ttl.clamp(self.min_interval, self.max_interval)
                    }
                    Err(e) => {
                        tracing::warn!(name = %self.name, error = %e, "SRV lookup failed; backing off");
                        publisher.fail(e);
                        delays.next().unwrap_or(self.backoff.max())
                    }
                },
            };
            tokio::select! {
                () = publisher.closed() => return,
                () = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// The instances and the smallest TTL of the answer.
    async fn lookup(&self) -> Result<(Vec<Instance>, Duration), Error> {
        let lookup = match self.resolver.srv_lookup(self.name.as_str()).await {
            Ok(lookup) => lookup,
            Err(e) if e.is_no_records_found() || e.is_nx_domain() => {
                return Ok((Vec::new(), self.min_interval));
            }
            Err(e) => {
                return Err(Error::unavailable(format!(
                    "SRV lookup of {}: {e}",
                    self.name
                )));
            }
        };
        let mut ttl = self.max_interval;
        let mut instances = Vec::new();
        for record in lookup.answers() {
            if let RData::SRV(srv) = &record.data {
                let target = srv.target.to_utf8();
                let target = target.trim_end_matches('.');
                if target.is_empty() || srv.port == 0 {
                    // "." means the service is decidedly not available here.
                    continue;
                }
                instances.push(Instance::new(format!("{target}:{}", srv.port)));
                ttl = ttl.min(Duration::from_secs(u64::from(record.ttl)));
            }
        }
        Ok((instances, ttl))
    }
}
