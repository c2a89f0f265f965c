//! One call to export traces: OTLP, batching, sampling, resource, and the
//! bridge into `tracing`.
//!
//! [`Setup`] describes the service (`service.name`, `service.version`,
//! `service.instance.id`), where spans go (an OTLP endpoint over gRPC, or
//! HTTP/protobuf with the `otlp-http` feature) and how many traces to keep
//! (a parent-based ratio sampler: a root span is kept with the given
//! probability, a child follows its parent's decision, so a trace is never
//! cut in half). Spans are exported in batches by opentelemetry_sdk's
//! batch span processor (tunable with the standard `OTEL_BSP_*` variables).
//!
//! - `Setup::install` builds all that and installs it globally:
//!   OpenTelemetry's tracer provider and propagator ([`TracePropagator`](crate::TracePropagator)),
//!   and a `tracing` subscriber whose tracing-opentelemetry layer turns
//!   `tracing` spans into OpenTelemetry spans (children of kit's endpoint
//!   spans, since a traced call attaches its context).
//!   [`Telemetry::install_with`] adds a layer of your own (kit-log's) to
//!   that subscriber.
//! - `Setup::build` builds the same provider and installs nothing, for
//!   tests and for processes that compose their own subscriber (add
//!   [`Telemetry::layer`] to it).
//!
//! Either returns a [`Telemetry`]: the guard. Dropping it flushes what is
//! buffered and shuts the provider down (blocking for at most a few
//! seconds), so keep it alive in `main`.
//!
//! OTLP export runs on Tokio: build inside a runtime, and prefer the
//! multi-threaded one, since a flush blocks its caller until the exporter,
//! which runs on the runtime, is done.
//!
//! ```no_run
//! # #[cfg(not(feature = "otlp"))] fn main() {}
//! # #[cfg(feature = "otlp")]
//! # #[tokio::main] async fn main() -> Result<(), kit_tracing::SetupError> {
//! let telemetry = kit_tracing::Setup::new("addsvc")
//!     .version(env!("CARGO_PKG_VERSION"))
//!     .endpoint("http://otel-collector:4317")
//!     .sample_ratio(0.1)
//!     .install()?;
//! let tracer = telemetry.tracer(); // for kit_tracing::TraceLayer
//! // … serve …
//! drop(telemetry); // flushes and shuts down
//! # Ok(()) }
//! ```

mod error;
#[cfg(feature = "otlp-http")]
mod http;
mod telemetry;

pub use self::error::SetupError;
pub use self::telemetry::Telemetry;

use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider, SpanExporter};

use crate::semconv;

/// The OTLP transport.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Protocol {
    /// OTLP/gRPC (port 4317 by convention), on tonic.
    #[default]
    Grpc,
    /// OTLP/HTTP with protobuf bodies (port 4318), on hyper. Needs the
    /// `otlp-http` feature.
    HttpProtobuf,
}

/// Describes how this service exports traces. See the [module docs](self).
#[derive(Clone, Debug)]
pub struct Setup {
    service_name: String,
    version: Option<String>,
    instance_id: Option<String>,
    attributes: Vec<KeyValue>,
    endpoint: Option<String>,
    protocol: Protocol,
    sample_ratio: f64,
    export_timeout: Duration,
}

impl Setup {
    /// A setup for the service called `service_name`: OTLP/gRPC to the
    /// endpoint in `OTEL_EXPORTER_OTLP_ENDPOINT` (else
    /// `http://localhost:4317`), every trace sampled, a random instance id.
    pub fn new(service_name: impl Into<String>) -> Setup {
        Setup {
            service_name: service_name.into(),
            version: None,
            instance_id: None,
            attributes: Vec::new(),
            endpoint: None,
            protocol: Protocol::Grpc,
            sample_ratio: 1.0,
            export_timeout: Duration::from_secs(10),
        }
    }

    /// `service.version`.
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.version = Some(version.into());
        self
    }

    /// `service.instance.id`; by default a random UUID (v4), new each run.
    pub fn instance_id(mut self, id: impl Into<String>) -> Self {
        self.instance_id = Some(id.into());
        self
    }

    /// Another resource attribute (`deployment.environment.name`, …).
    pub fn resource_attribute(mut self, attribute: KeyValue) -> Self {
        self.attributes.push(attribute);
        self
    }

    /// The collector's URL: `http://host:4317` for gRPC; for HTTP, the
    /// traces URL, with `/v1/traces` appended when the URL has no path.
    pub fn endpoint(mut self, url: impl Into<String>) -> Self {
        self.endpoint = Some(url.into());
        self
    }

    /// The OTLP transport (default gRPC).
    pub fn protocol(mut self, protocol: Protocol) -> Self {
        self.protocol = protocol;
        self
    }

    /// The fraction of new traces to keep, `0.0..=1.0` (default 1.0).
    /// Spans with a parent follow the parent's decision.
    pub fn sample_ratio(mut self, ratio: f64) -> Self {
        self.sample_ratio = ratio;
        self
    }

    /// How long one export may take (default 10 s).
    pub fn export_timeout(mut self, timeout: Duration) -> Self {
        self.export_timeout = timeout;
        self
    }

    /// The resource every span is reported under: the environment's
    /// (`OTEL_RESOURCE_ATTRIBUTES`, the SDK's own attributes), then this
    /// setup's, which win.
    pub fn resource(&self) -> Resource {
        let instance_id = self.instance_id.clone().unwrap_or_else(random_uuid);
        let mut builder = Resource::builder()
            .with_service_name(self.service_name.clone())
            .with_attribute(KeyValue::new(semconv::SERVICE_INSTANCE_ID, instance_id));
        if let Some(v) = &self.version {
            builder = builder.with_attribute(KeyValue::new(semconv::SERVICE_VERSION, v.clone()));
        }
        builder
            .with_attributes(self.attributes.iter().cloned())
            .build()
    }

    /// The sampler: parent-based, with a trace-id ratio for root spans.
    pub fn sampler(&self) -> Result<Sampler, SetupError> {
        let r = self.sample_ratio;
        if !(0.0..=1.0).contains(&r) {
            return Err(SetupError::InvalidRatio(r));
        }
        Ok(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(
            r,
        ))))
    }

    /// Builds the provider with an OTLP exporter; installs nothing.
    #[cfg(feature = "otlp")]
    pub fn build(self) -> Result<Telemetry, SetupError> {
        let exporter = self.exporter()?;
        self.build_with_exporter(exporter)
    }

    /// Builds the provider with any exporter, batched; installs nothing.
    pub fn build_with_exporter(
        self,
        exporter: impl SpanExporter + 'static,
    ) -> Result<Telemetry, SetupError> {
        let provider = SdkTracerProvider::builder()
            .with_sampler(self.sampler()?)
            .with_resource(self.resource())
            .with_batch_exporter(exporter)
            .build();
        Ok(Telemetry::new(provider))
    }

    /// Builds and installs globally; see the [module docs](self).
    #[cfg(feature = "otlp")]
    pub fn install(self) -> Result<Telemetry, SetupError> {
        self.build()?.install()
    }

    #[cfg(feature = "otlp")]
    fn exporter(&self) -> Result<opentelemetry_otlp::SpanExporter, SetupError> {
        use opentelemetry_otlp::WithExportConfig as _;
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return Err(SetupError::NoRuntime);
        };
        let built = match self.protocol {
            Protocol::Grpc => {
                let mut b = opentelemetry_otlp::SpanExporter::builder()
                    .with_tonic()
                    .with_timeout(self.export_timeout);
                if let Some(url) = &self.endpoint {
                    b = b.with_endpoint(url.clone());
                }
                b.build()
            }
            #[cfg(feature = "otlp-http")]
            Protocol::HttpProtobuf => {
                http::exporter(runtime, self.endpoint.as_deref(), self.export_timeout)
            }
            #[cfg(not(feature = "otlp-http"))]
            Protocol::HttpProtobuf => {
                let _ = runtime;
                return Err(SetupError::Unsupported {
                    protocol: "HTTP/protobuf",
                    feature: "otlp-http",
                });
            }
        };
        built.map_err(|e| SetupError::Exporter(Box::new(e)))
    }
}

/// A random (version 4) UUID, for `service.instance.id`.
fn random_uuid() -> String {
    let mut n: u128 = rand::random();
    n = (n & !(0xf << 76)) | (0x4 << 76); // version 4
    n = (n & !(0x3 << 62)) | (0x2 << 62); // RFC 4122 variant
    let h = format!("{n:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

#[cfg(test)]
mod tests;
