use std::time::Duration;

use etcd_client::{Client, PutOptions};
use kit_endpoint::Error;
use tokio::sync::oneshot;
use tokio::time::sleep;

use super::error;
use crate::backoff::{Backoff, Delays};
use crate::{Registrar, Registration};

/// Registers `key = value` in etcd under a lease of `ttl`, keeps the lease
/// alive (a keep-alive every third of the TTL), and revokes it on
/// [`Registration::deregister`], which deletes the key.
///
/// When the connection drops, the keep-alive retries with backoff; when the
/// lease has expired meanwhile, it grants a new one and puts the key again.
/// If the process dies, the lease expires after `ttl` and etcd deletes the
/// key.
///
/// ```no_run
/// use std::time::Duration;
/// use kit_sd::Registrar;
/// use kit_sd::etcd::{EtcdRegistrar, etcd_client::Client};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let client = Client::connect(["127.0.0.1:2379"], None).await?;
/// let registrar = EtcdRegistrar::new(
///     client,
///     "/services/addsvc/10.0.0.1:8080",
///     "10.0.0.1:8080",
///     Duration::from_secs(10),
/// );
/// let registration = registrar.register().await?;
/// // … serve …
/// registration.deregister().await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct EtcdRegistrar {
    client: Client,
    key: String,
    value: String,
    ttl_secs: i64,
    backoff: Backoff,
}

impl std::fmt::Debug for EtcdRegistrar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EtcdRegistrar")
            .field("key", &self.key)
            .field("value", &self.value)
            .field("ttl_secs", &self.ttl_secs)
            .finish_non_exhaustive()
    }
}

impl EtcdRegistrar {
    /// A registrar for `key = value` with a lease of `ttl` (rounded up to
    /// whole seconds, at least one: etcd's unit).
    pub fn new(
        client: Client,
        key: impl Into<String>,
        value: impl Into<String>,
        ttl: Duration,
    ) -> EtcdRegistrar {
        let secs = ttl.as_secs() + u64::from(ttl.subsec_nanos() > 0);
        EtcdRegistrar {
            client,
            key: key.into(),
            value: value.into(),
            ttl_secs: i64::try_from(secs.max(1)).unwrap_or(i64::MAX),
            backoff: Backoff::new(Duration::from_millis(50), Duration::from_secs(5)),
        }
    }

    /// The backoff between failed keep-alive tries (default 50 ms to 5 s).
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// Grants a lease and puts the key under it.
    async fn grant_and_put(&self, client: &mut Client) -> Result<i64, Error> {
        let lease = client
            .lease_grant(self.ttl_secs, None)
            .await
            .map_err(|e| error("granting a lease", e))?
            .id();
        client
            .put(
                self.key.as_str(),
                self.value.as_str(),
                Some(PutOptions::new().with_lease(lease)),
            )
            .await
            .map_err(|e| error("putting the key", e))?;
        Ok(lease)
    }

    /// Keeps the lease alive until `stop`, then revokes it.
    async fn keep_alive(
        self,
        mut client: Client,
        lease: i64,
        mut stop: oneshot::Receiver<()>,
    ) -> Result<(), Error> {
        let mut lease = Some(lease);
        let mut delays = self.backoff.delays();
        loop {
            let id = match lease {
                Some(id) => id,
                None => match self.grant_and_put(&mut client).await {
                    Ok(id) => {
                        tracing::info!(key = %self.key, "etcd lease expired; registered again");
                        lease = Some(id);
                        id
                    }
                    Err(e) => {
                        tracing::warn!(key = %self.key, error = %e, "etcd registration failed");
                        if pause(&mut stop, delays.next()).await {
                            return Ok(());
                        }
                        continue;
                    }
                },
            };
            let outcome = tokio::select! {
                _ = &mut stop => break,
                outcome = self.session(&mut client, id, &mut delays) => outcome,
            };
            match outcome {
                Session::Expired => lease = None,
                Session::Failed(e) => {
                    tracing::warn!(key = %self.key, error = %e, "etcd keep-alive failed");
                    if pause(&mut stop, delays.next()).await {
                        break;
                    }
                }
            }
        }
        let Some(id) = lease else { return Ok(()) };
        client
            .lease_revoke(id)
            .await
            .map(drop)
            .map_err(|e| error("revoking the lease", e))
    }

    /// Sends keep-alives every third of the TTL until one fails.
    async fn session(&self, client: &mut Client, id: i64, delays: &mut Delays) -> Session {
        let (mut keeper, mut stream) = match client.lease_keep_alive(id).await {
            Ok(pair) => pair,
            Err(e) => return Session::Failed(error("keeping the lease alive", e)),
        };
        let every = Duration::from_millis(u64::try_from(self.ttl_secs).unwrap_or(1) * 1000 / 3);
        loop {
            if let Err(e) = keeper.keep_alive().await {
                return Session::Failed(error("keeping the lease alive", e));
            }
            match stream.message().await {
                Ok(Some(response)) if response.ttl() > 0 => *delays = self.backoff.delays(),
                Ok(Some(_)) => return Session::Expired,
                Ok(None) => {
                    return Session::Failed(Error::unavailable(
                        "etcd: the keep-alive stream ended",
                    ));
                }
                Err(e) => return Session::Failed(error("keeping the lease alive", e)),
            }
            sleep(every).await;
        }
    }
}

enum Session {
    Expired,
    Failed(Error),
}

/// Sleeps for the next delay; `true` if `stop` fired meanwhile.
async fn pause(stop: &mut oneshot::Receiver<()>, delay: Option<Duration>) -> bool {
    tokio::select! {
        _ = stop => true,
        () = sleep(delay.unwrap_or(Duration::from_secs(1))) => false,
    }
}

impl Registrar for EtcdRegistrar {
    /// Grants the lease and puts the key (an error here is returned: the
    /// instance is not registered), then keeps the lease alive on a task.
    async fn register(&self) -> Result<Registration, Error> {
        let mut client = self.client.clone();
        let lease = self.grant_and_put(&mut client).await?;
        let this = self.clone();
        Ok(Registration::spawn(
            format!("etcd {} = {}", self.key, self.value),
            move |stop| this.keep_alive(client, lease, stop),
        ))
    }
}
