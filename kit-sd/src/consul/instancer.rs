use std::time::Duration;

use bytes::Bytes;
use http::Method;
use kit_endpoint::Error;
use serde::Deserialize;
use tokio::time::Instant;

use super::client::{ConsulClient, status_error};
use crate::backoff::Backoff;
use crate::instancer::{self, Publisher};
use crate::{Instance, Instancer};

/// Watches the passing instances of a service with blocking queries on
/// `/v1/health/service/<name>?passing`.
///
/// ```no_run
/// use kit_sd::consul::{ConsulClient, HealthInstancer};
///
/// # #[tokio::main] async fn main() {
/// let instancer = HealthInstancer::new(ConsulClient::new("http://127.0.0.1:8500"), "addsvc")
///     .tag("v2")
///     .build();
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct HealthInstancer {
    client: ConsulClient,
    service: String,
    tag: Option<String>,
    wait: Duration,
    floor: Duration,
    backoff: Backoff,
}

/// One entry of Consul's health endpoint, as much of it as kit reads.
#[derive(Deserialize)]
struct Entry {
    #[serde(rename = "Node")]
    node: Option<Node>,
    #[serde(rename = "Service")]
    service: Option<Service>,
}

#[derive(Deserialize)]
struct Node {
    #[serde(rename = "Address", default)]
    address: String,
}

#[derive(Deserialize)]
struct Service {
    #[serde(rename = "Address", default)]
    address: String,
    #[serde(rename = "Port", default)]
    port: u16,
}

impl HealthInstancer {
    /// Passing instances of `service`; blocking queries of 5 minutes
    /// (Consul's default); at most one query per 100 ms while the index
    /// stands still; backoff 10 ms to 1 minute on errors (Go kit's).
    pub fn new(client: ConsulClient, service: impl Into<String>) -> HealthInstancer {
        HealthInstancer {
            client,
            service: service.into(),
            tag: None,
            wait: Duration::from_secs(300),
            floor: Duration::from_millis(100),
            backoff: Backoff::default(),
        }
    }

    /// Only instances with this tag.
    pub fn tag(mut self, tag: impl Into<String>) -> Self {
        self.tag = Some(tag.into());
        self
    }

    /// How long a blocking query may wait (whole seconds, at least 1).
    pub fn wait(mut self, wait: Duration) -> Self {
        self.wait = wait.max(Duration::from_secs(1));
        self
    }

    /// The least time between two queries when the index has not moved.
    pub fn floor(mut self, floor: Duration) -> Self {
        self.floor = floor;
        self
    }

    /// The backoff between failed queries.
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// Starts watching on a task that ends when every [`Instancer`] is gone.
    ///
    /// # Panics
    /// Outside a Tokio runtime, as `tokio::spawn` does.
    pub fn build(self) -> Instancer {
        let (publisher, instancer) = instancer::channel();
        tokio::spawn(self.run(publisher));
        instancer
    }

    async fn run(self, publisher: Publisher) {
        let mut index = 0u64;
        let mut delays = self.backoff.delays();
        loop {
            let started = Instant::now();
            let pause = tokio::select! {
                () = publisher.closed() => return,
                answer = self.query(index) => match answer {
                    Ok((instances, next)) => {
                        publisher.update(instances);
                        delays = self.backoff.delays();
                        let moved = next != index;
                        index = next_index(index, next);
                        let floor = started + self.floor;
                        if moved { None } else { Some(floor.saturating_duration_since(Instant::now())) }
                    }
                    Err(e) => {
                        tracing::warn!(service = %self.service, error = %e, "consul query failed; backing off");
                        publisher.fail(e);
                        Some(delays.next().unwrap_or(self.backoff.max()))
                    }
                },
            };
            if let Some(pause) = pause.filter(|p| !p.is_zero()) {
                tokio::select! {
                    () = publisher.closed() => return,
                    () = tokio::time::sleep(pause) => {}
                }
            }
        }
    }

    /// One blocking query: the passing instances and the new index.
    async fn query(&self, index: u64) -> Result<(Vec<Instance>, u64), Error> {
        let mut path = format!(
            "/v1/health/service/{}?passing=1&index={index}&wait={}s",
            encode(&self.service),
            self.wait.as_secs()
        );
        if let Some(tag) = &self.tag {
            path.push_str("&tag=");
            path.push_str(&encode(tag));
        }
        // Consul adds up to wait/16 of jitter to a blocking query.
        let timeout = self.wait + self.wait / 16 + Duration::from_secs(5);
        let resp = self
            .client
            .send(Method::GET, &path, Bytes::new(), timeout)
            .await?;
        if !resp.status.is_success() {
            return Err(status_error("health query", &resp));
        }
        let next = resp
            .headers
            .get("x-consul-index")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .ok_or_else(|| Error::unavailable("consul: the answer has no valid X-Consul-Index"))?;
        Ok((parse_entries(&resp.body)?, next))
    }
}

/// The index to send next, by Consul's rules: reset to 0 when it went
/// backwards, and never below 1 otherwise.
fn next_index(previous: u64, answered: u64) -> u64 {
    if answered < previous {
        0
    } else {
        answered.max(1)
    }
}

/// `address:port` of each entry: the service address, or the node's when
/// the service has none. Entries without either, or port 0, are skipped.
fn parse_entries(body: &[u8]) -> Result<Vec<Instance>, Error> {
    let entries: Vec<Entry> = serde_json::from_slice(body)
        .map_err(|e| Error::unavailable(format!("consul: the health answer is not valid: {e}")))?;
    Ok(entries
        .into_iter()
        .filter_map(|e| {
            let service = e.service?;
            let address = if service.address.is_empty() {
                e.node?.address
            } else {
                service.address
            };
            (!address.is_empty() && service.port != 0)
                .then(|| Instance::new(join(&address, service.port)))
        })
        .collect())
}

/// `host:port`, with brackets around an IPv6 address.
fn join(address: &str, port: u16) -> String {
    if address.contains(':') && !address.starts_with('[') {
        format!("[{address}]:{port}")
    } else {
        format!("{address}:{port}")
    }
}

/// Percent-encodes everything but unreserved characters.
pub(super) fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn index_rules() {
        assert_eq!(next_index(0, 0), 1, "never below 1");
        assert_eq!(next_index(10, 12), 12);
        assert_eq!(next_index(10, 10), 10);
        assert_eq!(next_index(10, 3), 0, "backwards resets");
    }

    #[test]
    fn entries_prefer_the_service_address() {
        let body = br#"[
            {"Node":{"Address":"10.0.0.1"},"Service":{"Address":"","Port":80}},
            {"Node":{"Address":"10.0.0.2"},"Service":{"Address":"192.168.0.2","Port":81}},
            {"Node":{"Address":"::1"},"Service":{"Port":82}},
            {"Node":{"Address":"10.0.0.4"},"Service":{"Address":"x","Port":0}},
            {"Node":null,"Service":{"Address":"","Port":83}},
            {"Checks":[]}
        ]"#;
        let got: Vec<String> = parse_entries(body)
            .unwrap()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(got, ["10.0.0.1:80", "192.168.0.2:81", "[::1]:82"]);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for body in [
            &b""[..],
            b"{",
            b"null",
            b"{\"a\":1}",
            b"[1,2]",
            &[0xff, 0xfe],
        ] {
            assert!(
                parse_entries(body).is_err(),
                "{:?}",
                String::from_utf8_lossy(body)
            );
        }
        assert!(parse_entries(b"[]").unwrap().is_empty());
    }

    #[test]
    fn names_are_encoded() {
        assert_eq!(encode("add svc/v1?x=&"), "add%20svc%2Fv1%3Fx%3D%26");
        assert_eq!(encode("a-b_c.d~e"), "a-b_c.d~e");
    }

    proptest! {
        #[test]
        fn any_body_parses_without_panic(body in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = parse_entries(&body);
        }

        #[test]
        fn the_index_never_goes_backwards_unless_reset(prev in any::<u64>(), next in any::<u64>()) {
            let i = next_index(prev, next);
            prop_assert!(i == 0 || i >= prev);
            prop_assert!(i == 0 || i >= 1);
        }
    }
}
