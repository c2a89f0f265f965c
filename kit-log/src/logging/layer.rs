use std::borrow::Cow;
use std::num::NonZeroU64;
use std::sync::Arc;

use quanta::Clock;
use tower_layer::Layer;

use super::{Logging, Shared};

/// Applies [`Logging`] to services: one event per call, successes
/// optionally sampled.
///
/// ```
/// use std::num::NonZeroU64;
/// use kit_log::LoggingLayer;
///
/// // Every call.
/// let all = LoggingLayer::new("sum");
/// // Errors, and one success in 100.
/// let sampled = LoggingLayer::new("sum").sample_successes(NonZeroU64::new(100).unwrap());
/// // Errors only.
/// let errors = LoggingLayer::new("concat").without_successes();
/// # let _ = (all, sampled, errors);
/// ```
#[derive(Clone, Debug)]
pub struct LoggingLayer {
    endpoint: Cow<'static, str>,
    every: u64,
    clock: Clock,
}

impl LoggingLayer {
    /// Logs every call as `endpoint`.
    pub fn new(endpoint: impl Into<Cow<'static, str>>) -> LoggingLayer {
        LoggingLayer {
            endpoint: endpoint.into(),
            every: 1,
            clock: Clock::new(),
        }
    }

    /// Logs one success in `one_in`: the first, then every `one_in`-th
    /// after it, counted across all clones of the service. Errors are
    /// always logged.
    pub fn sample_successes(mut self, one_in: NonZeroU64) -> LoggingLayer {
        self.every = one_in.get();
        self
    }

    /// Logs no successes; errors are always logged.
    pub fn without_successes(mut self) -> LoggingLayer {
        self.every = 0;
        self
    }

    /// Times calls with `clock` instead of quanta's default clock: in
    /// tests, `quanta::Clock::mock()`, moved by hand.
    pub fn with_clock(mut self, clock: Clock) -> LoggingLayer {
        self.clock = clock;
        self
    }

    pub(crate) fn layer_service<S>(&self, inner: S) -> Logging<S> {
        Logging {
            inner,
            shared: Arc::new(Shared::new(
                self.endpoint.clone(),
                self.every,
                self.clock.clone(),
            )),
        }
    }
}

impl<S> Layer<S> for LoggingLayer {
    type Service = Logging<S>;

    fn layer(&self, inner: S) -> Logging<S> {
        self.layer_service(inner)
    }
}
