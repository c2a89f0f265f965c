use std::time::Duration;

use bytes::Bytes;
use http::Method;
use kit_endpoint::Error;
use serde::Serialize;
use tokio::sync::oneshot;
use tokio::time::sleep;

use super::client::{ConsulClient, status_error};
use super::instancer::encode;
use crate::backoff::Backoff;
use crate::{Registrar, Registration};

/// This instance, as the agent registers it.
#[derive(Clone, Debug, Serialize)]
pub struct ConsulService {
    /// Unique per instance (`addsvc-10.0.0.1-8080`).
    #[serde(rename = "ID")]
    pub id: String,
    /// The service name instancers watch.
    #[serde(rename = "Name")]
    pub name: String,
    /// The address clients connect to.
    #[serde(rename = "Address")]
    pub address: String,
    /// The port clients connect to.
    #[serde(rename = "Port")]
    pub port: u16,
    /// Tags, for filtered watches.
    #[serde(rename = "Tags")]
    pub tags: Vec<String>,
}

#[derive(Serialize)]
struct Registration_<'a> {
    #[serde(flatten)]
    service: &'a ConsulService,
    #[serde(rename = "Check")]
    check: Check,
}

#[derive(Serialize)]
struct Check {
    #[serde(rename = "CheckID")]
    id: String,
    #[serde(rename = "TTL")]
    ttl: String,
    #[serde(rename = "DeregisterCriticalServiceAfter")]
    deregister_after: String,
}

/// Registers a service with the local Consul agent
/// (`PUT /v1/agent/service/register`) with a TTL check, passes the check
/// every third of the TTL (`PUT /v1/agent/check/pass/service:<id>`), and
/// deregisters on [`Registration::deregister`]
/// (`PUT /v1/agent/service/deregister/<id>`).
///
/// If the process dies, the check goes critical after the TTL (health
/// queries with `passing` drop the instance) and Consul removes the service
/// after `deregister_critical_after`. If the agent forgot the check (it
/// answers 404, after an agent restart), the service is registered again.
#[derive(Clone, Debug)]
pub struct ConsulRegistrar {
    client: ConsulClient,
    service: ConsulService,
    ttl: Duration,
    deregister_after: Duration,
    backoff: Backoff,
}

impl ConsulRegistrar {
    /// A registrar with a TTL check of `ttl` (whole seconds, at least 1),
    /// removed after a minute of being critical.
    pub fn new(client: ConsulClient, service: ConsulService, ttl: Duration) -> ConsulRegistrar {
        ConsulRegistrar {
            client,
            service,
            ttl: Duration::from_secs(ttl.as_secs().max(1)),
            deregister_after: Duration::from_secs(60),
            backoff: Backoff::new(Duration::from_millis(50), Duration::from_secs(5)),
        }
    }

    /// How long the check may be critical before Consul removes the service.
    pub fn deregister_critical_after(mut self, after: Duration) -> Self {
        self.deregister_after = after;
        self
    }

    /// The backoff between failed check updates.
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    fn check_id(&self) -> String {
        format!("service:{}", self.service.id)
    }

    async fn put(&self, what: &str, path: &str, body: Bytes) -> Result<(), Error> {
        let resp = self
            .client
            .send(Method::PUT, path, body, Duration::from_secs(10))
            .await?;
        if resp.status.is_success() {
            Ok(())
        } else {
            Err(status_error(what, &resp))
        }
    }

    async fn register_once(&self) -> Result<(), Error> {
        let body = serde_json::to_vec(&Registration_ {
            service: &self.service,
            check: Check {
                id: self.check_id(),
                ttl: format!("{}s", self.ttl.as_secs()),
                deregister_after: format!("{}s", self.deregister_after.as_secs().max(1)),
            },
        })
        .map_err(|e| Error::internal(format!("consul: encoding the registration: {e}")))?;
        self.put("registering", "/v1/agent/service/register", body.into())
            .await?;
        self.pass().await
    }

    async fn pass(&self) -> Result<(), Error> {
        let path = format!("/v1/agent/check/pass/{}", encode(&self.check_id()));
        self.put("passing the check", &path, Bytes::new()).await
    }

    async fn keep_alive(self, mut stop: oneshot::Receiver<()>) -> Result<(), Error> {
        let every = self.ttl / 3;
        let mut delays = self.backoff.delays();
        let mut wait = every;
        loop {
            tokio::select! {
                _ = &mut stop => break,
                () = sleep(wait) => {}
            }
            let result = match self.pass().await {
                Err(e) if e.code() == kit_endpoint::Code::NotFound => self.register_once().await,
                other => other,
            };
            wait = match result {
                Ok(()) => {
                    delays = self.backoff.delays();
                    every
                }
                Err(e) => {
                    tracing::warn!(service = %self.service.id, error = %e, "consul check update failed");
                    delays.next().unwrap_or(every).min(every)
                }
            };
        }
        let path = format!("/v1/agent/service/deregister/{}", encode(&self.service.id));
        self.put("deregistering", &path, Bytes::new()).await
    }
}

impl Registrar for ConsulRegistrar {
    /// Registers and passes the check once (an error here is returned),
    /// then keeps passing it on a task.
    async fn register(&self) -> Result<Registration, Error> {
        self.register_once().await?;
        let this = self.clone();
        Ok(Registration::spawn(
            format!("consul {}", self.service.id),
            move |stop| this.keep_alive(stop),
        ))
    }
}
