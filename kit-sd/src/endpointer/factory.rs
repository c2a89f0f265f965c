//! `Factory`: how an instance becomes an endpoint.

use kit_endpoint::Error;

use crate::Instance;

/// Builds the endpoint for one instance: Go kit's `sd.Factory`.
///
/// Usually a transport client for the instance's address, wrapped in the
/// per-instance middleware (a circuit breaker, a limiter, [`PeakEwma`](crate::balance::PeakEwma)
/// for the p2c balancer). An error skips the instance until the next update
/// names it again. There is no separate closer: dropping the endpoint closes
/// it, and the [`Endpointer`](super::Endpointer) drops its copy when the
/// instance leaves the set (requests in flight keep theirs until they end).
///
/// Any `FnMut(&Instance) -> Result<S, Error> + Send + 'static` is a factory.
pub trait Factory<S>: Send + 'static {
    /// Builds the endpoint for `instance`.
    fn make(&mut self, instance: &Instance) -> Result<S, Error>;
}

impl<F, S> Factory<S> for F
where
    F: FnMut(&Instance) -> Result<S, Error> + Send + 'static,
{
    fn make(&mut self, instance: &Instance) -> Result<S, Error> {
        self(instance)
    }
}
