//! OTLP/HTTP protobuf export on hyper, without reqwest.
//!
//! opentelemetry-otlp's own HTTP clients are reqwest (whose default build
//! brings a second tower-http into kit's tree) or opentelemetry-http's
//! `HyperClient`. The batch span processor exports from its own thread,
//! outside any Tokio runtime, where `HyperClient` cannot run (it spawns
//! connection tasks and uses Tokio timers). [`OnRuntime`] bridges the two:
//! each request is spawned on the runtime the exporter was built in and
//! awaited from the processor's thread.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use opentelemetry_http::hyper::HyperClient;
use opentelemetry_http::{HttpClient, HttpError, Request, Response};
use opentelemetry_otlp::{
    ExporterBuildError, Protocol, SpanExporter, WithExportConfig as _, WithHttpConfig as _,
};
use tokio::runtime::Handle;

/// The OTLP/HTTP protobuf exporter, posting to `endpoint` (with
/// `/v1/traces` appended when it has no path) or to the environment's.
pub(super) fn exporter(
    runtime: Handle,
    endpoint: Option<&str>,
    timeout: Duration,
) -> Result<SpanExporter, ExporterBuildError> {
    let client = OnRuntime {
        inner: HyperClient::with_default_connector(timeout, None),
        runtime,
    };
    let mut builder = SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_timeout(timeout)
        .with_http_client(client);
    if let Some(url) = endpoint {
        builder = builder.with_endpoint(traces_url(url));
    }
    builder.build()
}

/// `url`, with `/v1/traces` as its path when it has none.
fn traces_url(url: &str) -> String {
    match url.parse::<http::Uri>() {
        Ok(uri) if uri.path().is_empty() || uri.path() == "/" => {
            format!("{}/v1/traces", url.trim_end_matches('/'))
        }
        _ => url.to_owned(),
    }
}

/// An HTTP client that runs each request on a Tokio runtime, whatever
/// thread asks.
struct OnRuntime {
    inner: HyperClient,
    runtime: Handle,
}

impl fmt::Debug for OnRuntime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OnRuntime").finish_non_exhaustive()
    }
}

type SendFuture<'a> = Pin<Box<dyn Future<Output = Result<Response<Bytes>, HttpError>> + Send + 'a>>;

// `HttpClient` is declared with `#[async_trait]`; this is the signature
// that macro expands to.
impl HttpClient for OnRuntime {
    fn send_bytes<'life0, 'async_trait>(
        &'life0 self,
        request: Request<Bytes>,
    ) -> SendFuture<'async_trait>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        let inner = self.inner.clone();
        let task = self
            .runtime
            .spawn(async move { inner.send_bytes(request).await });
        Box::pin(async move {
            match task.await {
                Ok(result) => result,
                Err(e) => Err(Box::new(e) as HttpError),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::traces_url;

    #[test]
    fn the_traces_path_is_added_only_when_missing() {
        assert_eq!(
            traces_url("http://c:4318"),
            "http://c:4318/v1/traces".to_string()
        );
        assert_eq!(traces_url("http://c:4318/"), "http://c:4318/v1/traces");
        assert_eq!(
            traces_url("http://c:4318/otlp/v1/traces"),
            "http://c:4318/otlp/v1/traces"
        );
        assert_eq!(traces_url("not a url"), "not a url");
    }
}
