//! A point-in-time view of a breaker's state and counters.

use std::time::Duration;

use crate::State;
use crate::config::Rate;

/// The state and counters of a breaker, from [`Breaker::snapshot`](crate::Breaker::snapshot).
///
/// Counters of the closed state (consecutive failures, windows) belong to
/// the current generation: every transition starts them from zero, as
/// gobreaker clears its `Counts`.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Snapshot {
    /// The current state.
    pub state: State,
    /// The number of transitions so far (wrapping).
    pub generation: u32,
    /// The current run of failures (while closed, with a consecutive
    /// failures policy).
    pub consecutive_failures: u32,
    /// One entry per rate policy, in the order of the config.
    pub windows: Vec<WindowCounts>,
    /// Probes in flight (while half-open).
    pub probes_in_flight: u32,
    /// Probes that succeeded so far (while half-open).
    pub probe_successes: u32,
    /// Time left in the open period (while open); zero once the next call
    /// would be a probe.
    pub retry_in: Option<Duration>,
    /// Trips to open since the breaker was made, re-opens included.
    pub trips: u64,
    /// Calls refused since the breaker was made.
    pub rejected: u64,
}

/// What one rate policy's window holds now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct WindowCounts {
    /// What the policy counts as a hit.
    pub rate: Rate,
    /// Calls in the window.
    pub calls: u64,
    /// Hits (failures or slow calls) among them.
    pub hits: u64,
}

impl WindowCounts {
    /// `hits / calls`, or `None` for an empty window.
    pub fn ratio(&self) -> Option<f64> {
        (self.calls > 0).then(|| self.hits as f64 / self.calls as f64)
    }
}
