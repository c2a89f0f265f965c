//! What makes a breaker trip, how long it stays open, how it probes.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::hooks::{Hooks, Transition};
use crate::state::{MAX_PROBES, MAX_SUCCESSES};
use crate::window::MAX_COUNT_WINDOW;

/// A sliding window of recent calls, over which a rate is computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Window {
    /// The last `n` calls (Resilience4j's `COUNT_BASED`). `n` is clamped to
    /// `1..=65536`.
    Count(u32),
    /// The calls of the last span of time (Resilience4j's `TIME_BASED`),
    /// kept in 10 buckets of a tenth of the span each, so the window slides
    /// by a tenth at a time.
    Time(Duration),
}

impl Window {
    pub(crate) fn clamped(self) -> Window {
        match self {
            Window::Count(n) => Window::Count(n.clamp(1, MAX_COUNT_WINDOW)),
            Window::Time(d) => Window::Time(d.max(Duration::from_nanos(10))),
        }
    }
}

/// What a rate policy counts as a hit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rate {
    /// Calls classified as [`Outcome::Failure`](crate::Outcome::Failure).
    Failure,
    /// Calls, successful or not, that took at least this long.
    SlowCall(Duration),
}

/// One reason to trip. A [`Config`] holds any number of them; the breaker
/// trips as soon as one of them says so.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Trip {
    /// Trip on the `n`-th failure in a row (successes end a run; ignored
    /// calls do not). gobreaker's default `ConsecutiveFailures > 5` is
    /// `ConsecutiveFailures(6)`.
    ConsecutiveFailures(u32),
    /// Trip when at least `threshold` (0.0..=1.0) of the calls in `window`
    /// are hits, once the window holds at least `minimum_calls` calls.
    /// Checked when a hit is recorded: a success never trips the breaker.
    Rate {
        /// What counts as a hit.
        rate: Rate,
        /// The fraction of hits that trips, compared with `>=`.
        threshold: f64,
        /// The calls the fraction is taken over.
        window: Window,
        /// Fewer calls than this in the window never trip.
        minimum_calls: u32,
    },
}

impl Trip {
    /// Trip on the `n`-th consecutive failure.
    pub fn consecutive_failures(n: u32) -> Trip {
        Trip::ConsecutiveFailures(n)
    }

    /// Trip when the failure rate over `window` reaches `threshold`, once
    /// there are `minimum_calls` calls.
    pub fn failure_rate(threshold: f64, window: Window, minimum_calls: u32) -> Trip {
        Trip::Rate {
            rate: Rate::Failure,
            threshold,
            window,
            minimum_calls,
        }
    }

    /// Trip when the share of calls slower than `slow_after` over `window`
    /// reaches `threshold`, once there are `minimum_calls` calls.
    pub fn slow_call_rate(
        threshold: f64,
        slow_after: Duration,
        window: Window,
        minimum_calls: u32,
    ) -> Trip {
        Trip::Rate {
            rate: Rate::SlowCall(slow_after),
            threshold,
            window,
            minimum_calls,
        }
    }
}

/// What `poll_ready` does while the breaker rejects calls.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Readiness {
    /// `poll_ready` is ready and the call fails at once with `Unavailable`.
    /// Right for a single endpoint: callers get a fast error.
    #[default]
    FailFast,
    /// `poll_ready` is `Pending` until the breaker would admit a call: a
    /// timer wakes the task at the probe time, and any transition or freed
    /// probe slot wakes it sooner. Right behind a balancer, which then skips
    /// this endpoint (see the crate docs).
    NotReady,
}

type StateChange = Arc<dyn Fn(&Transition) + Send + Sync>;

/// The settings of a breaker. The defaults are safe in production; the
/// presets reproduce other libraries' defaults.
///
/// Out-of-range values are clamped, never rejected: thresholds to
/// `0.0..=1.0` (NaN reads as 1.0), counts and windows to at least 1,
/// probes to at most 16383 and half-open successes to at most 32767.
#[derive(Clone)]
pub struct Config {
    pub(crate) trips: Vec<Trip>,
    pub(crate) open_for: Duration,
    pub(crate) backoff: Option<(f64, Duration)>,
    pub(crate) max_probes: u32,
    pub(crate) successes_to_close: u32,
    pub(crate) interval: Option<Duration>,
    pub(crate) readiness: Readiness,
    pub(crate) hooks: Option<Arc<dyn Hooks>>,
    pub(crate) on_state_change: Option<StateChange>,
}

impl Default for Config {
    /// Trip when half of the last 100 calls failed, once there are 20;
    /// open for 5 s, doubling on each re-open in a row up to 60 s; 3
    /// concurrent probes, 3 successes to close; `poll_ready` fails fast.
    ///
    /// A count window is the default (as in Resilience4j) because it needs
    /// no clock read per call; a time window
    /// (`Window::Time(Duration::from_secs(10))`) forgets old failures at low
    /// traffic, for one clock read per call.
    fn default() -> Config {
        Config {
            trips: vec![Trip::failure_rate(0.5, Window::Count(100), 20)],
            open_for: Duration::from_secs(5),
            backoff: Some((2.0, Duration::from_secs(60))),
            max_probes: 3,
            successes_to_close: 3,
            interval: None,
            readiness: Readiness::FailFast,
            hooks: None,
            on_state_change: None,
        }
    }
}

impl Config {
    /// The defaults; see [`Config::default`].
    pub fn new() -> Config {
        Config::default()
    }

    /// Go kit's `circuitbreaker.Gobreaker` with `gobreaker.Settings{}`:
    /// trip after more than 5 consecutive failures, stay open 60 s, admit
    /// 1 probe, close on its success, never clear counts while closed
    /// (`Interval` 0). Pair it with [`AnyError`](crate::AnyError) to count
    /// every error as Go kit does.
    pub fn gobreaker() -> Config {
        Config {
            trips: vec![Trip::ConsecutiveFailures(6)],
            open_for: Duration::from_secs(60),
            backoff: None,
            max_probes: 1,
            successes_to_close: 1,
            ..Config::default()
        }
    }

    /// Go kit's `circuitbreaker.Hystrix` with hystrix-go's defaults, less
    /// what is not a breaker's job (its 1 s timeout is a
    /// [`DeadlineLayer`](kit_endpoint::DeadlineLayer), its 10 concurrent
    /// calls a concurrency limit): trip at a 50 % error rate over 10 s once
    /// there are 20 calls, sleep 5 s, then 1 probe.
    pub fn hystrix() -> Config {
        Config {
            trips: vec![Trip::failure_rate(
                0.5,
                Window::Time(Duration::from_secs(10)),
                20,
            )],
            open_for: Duration::from_secs(5),
            backoff: None,
            max_probes: 1,
            successes_to_close: 1,
            ..Config::default()
        }
    }

    /// Replaces every trip policy.
    pub fn trips(mut self, trips: impl IntoIterator<Item = Trip>) -> Config {
        self.trips = trips.into_iter().collect();
        self
    }

    /// Adds a trip policy to those already set.
    pub fn trip(mut self, trip: Trip) -> Config {
        self.trips.push(trip);
        self
    }

    /// How long the breaker stays open after its first trip.
    pub fn open_for(mut self, open_for: Duration) -> Config {
        self.open_for = open_for;
        self
    }

    /// Multiplies the open period by `factor` on each re-open in a row
    /// (a probe failed), up to `max`; closing starts again from
    /// [`open_for`](Config::open_for).
    pub fn backoff(mut self, factor: f64, max: Duration) -> Config {
        let factor = if factor.is_nan() {
            1.0
        } else {
            factor.max(1.0)
        };
        self.backoff = Some((factor, max));
        self
    }

    /// Keeps the same open period on every trip.
    pub fn no_backoff(mut self) -> Config {
        self.backoff = None;
        self
    }

    /// In half-open, admit at most `max_probes` calls at a time, and close
    /// after `successes` successful ones.
    pub fn half_open(mut self, max_probes: u32, successes: u32) -> Config {
        self.max_probes = max_probes.clamp(1, MAX_PROBES);
        self.successes_to_close = successes.clamp(1, MAX_SUCCESSES);
        self
    }

    /// Clears the consecutive-failure count every `interval` while closed
    /// (gobreaker's `Interval`). Rate windows slide on their own.
    pub fn interval(mut self, interval: Duration) -> Config {
        self.interval = (!interval.is_zero()).then_some(interval);
        self
    }

    /// What `poll_ready` does while calls would be rejected.
    pub fn readiness(mut self, readiness: Readiness) -> Config {
        self.readiness = readiness;
        self
    }

    /// Calls `f` after every state change, on the task that caused it.
    /// Changes made at nearly the same time on different threads may be
    /// reported out of order; [`Transition::generation`] orders them.
    pub fn on_state_change(mut self, f: impl Fn(&Transition) + Send + Sync + 'static) -> Config {
        self.on_state_change = Some(Arc::new(f));
        self
    }

    /// Reports every call, rejection and state change to `hooks`, for
    /// metrics.
    pub fn hooks(mut self, hooks: impl Hooks) -> Config {
        self.hooks = Some(Arc::new(hooks));
        self
    }

    /// The open period for the `level`-th re-open in a row (0 for a trip
    /// from closed).
    pub(crate) fn open_duration(&self, level: u32) -> Duration {
        let Some((factor, max)) = self.backoff else {
            return self.open_for;
        };
        let scaled = self.open_for.as_secs_f64() * factor.powi(level.min(1024) as i32);
        Duration::try_from_secs_f64(scaled)
            .unwrap_or(Duration::MAX)
            .min(max.max(self.open_for))
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("trips", &self.trips)
            .field("open_for", &self.open_for)
            .field("backoff", &self.backoff)
            .field("max_probes", &self.max_probes)
            .field("successes_to_close", &self.successes_to_close)
            .field("interval", &self.interval)
            .field("readiness", &self.readiness)
            .field("hooks", &self.hooks.is_some())
            .field("on_state_change", &self.on_state_change.is_some())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let c = Config::new()
            .open_for(Duration::from_secs(1))
            .backoff(2.0, Duration::from_secs(5));
        let got: Vec<_> = (0..5).map(|l| c.open_duration(l).as_secs()).collect();
        assert_eq!(got, [1, 2, 4, 5, 5]);
        assert_eq!(c.open_duration(u32::MAX), Duration::from_secs(5));
    }

    #[test]
    fn bad_backoff_values_do_not_shrink_or_panic() {
        for factor in [f64::NAN, -3.0, 0.5, f64::INFINITY] {
            let c = Config::new()
                .open_for(Duration::from_secs(2))
                .backoff(factor, Duration::from_secs(1));
            for level in [0, 1, 70, u32::MAX] {
                assert_eq!(c.open_duration(level), Duration::from_secs(2), "{factor}");
            }
        }
        let c = Config::new()
            .open_for(Duration::MAX)
            .backoff(10.0, Duration::MAX);
        assert_eq!(c.open_duration(3), Duration::MAX);
    }

    #[test]
    fn gobreaker_preset() {
        let c = Config::gobreaker();
        assert_eq!(c.trips, [Trip::ConsecutiveFailures(6)]);
        assert_eq!(c.open_duration(0), Duration::from_secs(60));
        assert_eq!(c.open_duration(9), Duration::from_secs(60));
        assert_eq!((c.max_probes, c.successes_to_close), (1, 1));
        assert_eq!(c.interval, None);
    }

    #[test]
    fn probes_are_clamped() {
        let c = Config::new().half_open(0, 0);
        assert_eq!((c.max_probes, c.successes_to_close), (1, 1));
        let c = Config::new().half_open(u32::MAX, u32::MAX);
        assert_eq!(
            (c.max_probes, c.successes_to_close),
            (MAX_PROBES, MAX_SUCCESSES)
        );
        assert_eq!(Config::new().interval(Duration::ZERO).interval, None);
    }
}
