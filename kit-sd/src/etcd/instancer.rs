use std::collections::BTreeMap;

use etcd_client::{Client, EventType, GetOptions, WatchOptions};
use kit_endpoint::Error;

use super::error;
use crate::backoff::{Backoff, Delays};
use crate::instancer::{self, Publisher};
use crate::{Instance, Instancer};

/// Watches the keys under `prefix`; each value is an instance. Retries with
/// the default [`Backoff`] (10 ms doubling to a minute).
///
/// The watch runs on a task that ends when every [`Instancer`] is gone.
///
/// # Panics
/// Outside a Tokio runtime, as `tokio::spawn` does.
pub fn instancer(client: Client, prefix: impl Into<String>) -> Instancer {
    instancer_with_backoff(client, prefix, Backoff::default())
}

/// [`instancer()`] with the given backoff between failed tries.
///
/// # Panics
/// Outside a Tokio runtime, as `tokio::spawn` does.
pub fn instancer_with_backoff(
    client: Client,
    prefix: impl Into<String>,
    backoff: Backoff,
) -> Instancer {
    let (publisher, instancer) = instancer::channel();
    tokio::spawn(run(client, prefix.into(), publisher, backoff));
    instancer
}

/// Why a read-and-watch session ended.
enum End {
    /// The watch was cancelled (its revision compacted): read again.
    Resync,
    /// The registry failed.
    Failed(Error),
}

async fn run(mut client: Client, prefix: String, publisher: Publisher, backoff: Backoff) {
    let mut delays = backoff.delays();
    loop {
        let end = tokio::select! {
            () = publisher.closed() => return,
            end = session(&mut client, &prefix, &publisher, (&backoff, &mut delays)) => end,
        };
        match end {
            End::Resync => tracing::debug!(%prefix, "etcd watch cancelled; reading again"),
            End::Failed(e) => {
                tracing::warn!(%prefix, error = %e, "etcd watch failed; backing off");
                publisher.fail(e);
            }
        }
        let delay = delays.next().unwrap_or_else(|| backoff.max());
        tokio::select! {
            () = publisher.closed() => return,
            () = tokio::time::sleep(delay) => {}
        }
    }
}

/// Reads the prefix, publishes it, then applies watch events until the
/// watch ends.
async fn session(
    client: &mut Client,
    prefix: &str,
    publisher: &Publisher,
    (backoff, delays): (&Backoff, &mut Delays),
) -> End {
    let got = match client
        .get(prefix, Some(GetOptions::new().with_prefix()))
        .await
    {
        Ok(got) => got,
        Err(e) => return End::Failed(error("reading the prefix", e)),
    };
    let revision = got.header().map_or(0, |h| h.revision());
    let mut keys: BTreeMap<Vec<u8>, Instance> = got
        .kvs()
        .iter()
        .filter_map(|kv| Some((kv.key().to_vec(), value(kv.key(), kv.value())?)))
        .collect();
    publisher.update(keys.values().cloned());
    *delays = backoff.delays();

    let options = WatchOptions::new()
        .with_prefix()
        .with_start_revision(revision + 1);
    let mut stream = match client.watch(prefix, Some(options)).await {
        Ok(stream) => stream,
        Err(e) => return End::Failed(error("starting the watch", e)),
    };
    loop {
        let response = match stream.message().await {
            Ok(Some(response)) => response,
            Ok(None) => return End::Failed(Error::unavailable("etcd: the watch stream ended")),
            Err(e) => return End::Failed(error("watching", e)),
        };
        if response.canceled() || response.compact_revision() > 0 {
            return End::Resync;
        }
        for event in response.events() {
            let Some(kv) = event.kv() else { continue };
            match event.event_type() {
                EventType::Put => match value(kv.key(), kv.value()) {
                    Some(instance) => keys.insert(kv.key().to_vec(), instance),
                    None => keys.remove(kv.key()),
                },
                EventType::Delete => keys.remove(kv.key()),
            };
        }
        publisher.update(keys.values().cloned());
    }
}

/// The instance a key's value names; a value that is not UTF-8 or is empty
/// is skipped (and logged), not trusted.
fn value(key: &[u8], value: &[u8]) -> Option<Instance> {
    match std::str::from_utf8(value) {
        Ok(v) if !v.trim().is_empty() => Some(Instance::new(v.trim())),
        _ => {
            tracing::warn!(key = %String::from_utf8_lossy(key), "etcd value is not an address; skipped");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::value;

    #[test]
    fn garbage_values_are_skipped() {
        assert_eq!(value(b"k", b"10.0.0.1:80").unwrap().as_str(), "10.0.0.1:80");
        assert_eq!(value(b"k", b" host:1 \n").unwrap().as_str(), "host:1");
        assert!(value(b"k", b"").is_none());
        assert!(value(b"k", b"   ").is_none());
        assert!(value(b"k", &[0xff, 0xfe, 0x00]).is_none());
    }
}
