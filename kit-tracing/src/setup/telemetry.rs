use std::fmt;

use opentelemetry::InstrumentationScope;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::registry::LookupSpan;

use super::SetupError;
use crate::TracePropagator;

/// The tracer provider a [`Setup`](super::Setup) built, and the guard that
/// flushes and shuts it down when dropped.
///
/// ```
/// use kit_tracing::Setup;
/// use opentelemetry_sdk::trace::InMemorySpanExporter;
///
/// // No globals: a provider for one test, exporting to memory.
/// let exporter = InMemorySpanExporter::default();
/// let telemetry = Setup::new("test").build_with_exporter(exporter.clone()).unwrap();
/// let _tracer = telemetry.tracer();
/// telemetry.shutdown().unwrap();
/// ```
pub struct Telemetry {
    provider: SdkTracerProvider,
    tracer: SdkTracer,
    /// Set once `shutdown` ran, so that `drop` does not run it again.
    shut_down: bool,
}

impl Telemetry {
    pub(super) fn new(provider: SdkTracerProvider) -> Telemetry {
        let scope = InstrumentationScope::builder("kit-tracing")
            .with_version(env!("CARGO_PKG_VERSION"))
            .build();
        let tracer = provider.tracer_with_scope(scope);
        Telemetry {
            provider,
            tracer,
            shut_down: false,
        }
    }

    /// The tracer provider.
    pub fn provider(&self) -> &SdkTracerProvider {
        &self.provider
    }

    /// A tracer (scope `kit-tracing`), for [`TraceLayer`](crate::TraceLayer)s.
    pub fn tracer(&self) -> SdkTracer {
        self.tracer.clone()
    }

    /// The tracing-opentelemetry layer that exports `tracing` spans through
    /// this provider, for a subscriber you compose yourself.
    pub fn layer<S>(&self) -> tracing_opentelemetry::OpenTelemetryLayer<S, SdkTracer>
    where
        S: tracing::Subscriber + for<'span> LookupSpan<'span>,
    {
        tracing_opentelemetry::layer().with_tracer(self.tracer.clone())
    }

    /// Installs globally: OpenTelemetry's tracer provider and propagator
    /// ([`TracePropagator`]), and a `tracing` subscriber made of a registry
    /// and [`layer`](Telemetry::layer). Fails if a subscriber is already
    /// installed.
    pub fn install(self) -> Result<Telemetry, SetupError> {
        let subscriber = tracing_subscriber::registry().with(self.layer());
        tracing::subscriber::set_global_default(subscriber)
            .map_err(SetupError::GlobalSubscriber)?;
        Ok(self.install_otel_globals())
    }

    /// Like [`install`](Telemetry::install), with `layer` (a log
    /// formatter, a filter) in the subscriber too, beneath the
    /// OpenTelemetry layer.
    pub fn install_with<L>(self, layer: L) -> Result<Telemetry, SetupError>
    where
        L: tracing_subscriber::Layer<tracing_subscriber::Registry> + Send + Sync + 'static,
    {
        let subscriber = tracing_subscriber::registry()
            .with(layer)
            .with(self.layer());
        tracing::subscriber::set_global_default(subscriber)
            .map_err(SetupError::GlobalSubscriber)?;
        Ok(self.install_otel_globals())
    }

    fn install_otel_globals(self) -> Telemetry {
        opentelemetry::global::set_tracer_provider(self.provider.clone());
        opentelemetry::global::set_text_map_propagator(TracePropagator::new());
        self
    }

    /// Exports every span ended so far, blocking until done or timed out.
    /// From async code on a current-thread runtime, call it inside
    /// `spawn_blocking`: the exporter needs the runtime to make progress.
    pub fn flush(&self) -> Result<(), SetupError> {
        self.provider.force_flush().map_err(SetupError::Provider)
    }

    /// Flushes and shuts the provider down (what `drop` does), reporting
    /// failures. Spans ended afterwards are dropped.
    pub fn shutdown(mut self) -> Result<(), SetupError> {
        self.shut_down = true;
        self.provider.shutdown().map_err(SetupError::Provider)
    }
}

impl fmt::Debug for Telemetry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Telemetry")
            .field("shut_down", &self.shut_down)
            .finish_non_exhaustive()
    }
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if !self.shut_down {
            // Nothing to report to from a destructor; `shutdown` reports.
            let _ = self.provider.shutdown();
        }
    }
}
