use std::fmt;

use kit_endpoint::BoxError;

/// Why tracing could not be set up, flushed or shut down.
#[derive(Debug)]
#[non_exhaustive]
pub enum SetupError {
    /// The sample ratio is not a number in `0.0..=1.0`.
    InvalidRatio(f64),
    /// OTLP export needs a Tokio runtime, and none is running here.
    NoRuntime,
    /// The protocol asked for is not compiled in (enable the feature named).
    Unsupported {
        /// The protocol.
        protocol: &'static str,
        /// The kit-tracing feature that provides it.
        feature: &'static str,
    },
    /// The exporter could not be built (a bad endpoint, …).
    Exporter(BoxError),
    /// A global tracing subscriber was already installed.
    GlobalSubscriber(tracing::subscriber::SetGlobalDefaultError),
    /// Flushing or shutting down the provider failed (a timeout, an export
    /// error, a second shutdown).
    Provider(opentelemetry_sdk::error::OTelSdkError),
}

impl fmt::Display for SetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SetupError::InvalidRatio(r) => {
                write!(f, "the sample ratio must be within 0.0..=1.0, got {r}")
            }
            SetupError::NoRuntime => f.write_str(
                "OTLP export needs a Tokio runtime: build the exporter inside one \
                 (e.g. in #[tokio::main])",
            ),
            SetupError::Unsupported { protocol, feature } => write!(
                f,
                "OTLP over {protocol} is not compiled in: enable kit-tracing's `{feature}` feature"
            ),
            SetupError::Exporter(e) => write!(f, "building the OTLP exporter: {e}"),
            SetupError::GlobalSubscriber(e) => write!(f, "installing the subscriber: {e}"),
            SetupError::Provider(e) => write!(f, "tracer provider: {e}"),
        }
    }
}

impl std::error::Error for SetupError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SetupError::Exporter(e) => Some(e.as_ref()),
            SetupError::GlobalSubscriber(e) => Some(e),
            SetupError::Provider(e) => Some(e),
            _ => None,
        }
    }
}
