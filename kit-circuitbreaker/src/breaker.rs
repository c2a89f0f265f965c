//! The breaker itself: shared state, admission, transitions and manual
//! control. [`Breaker`] is a cheap, cloneable handle to it.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering::*};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kit_endpoint::Error;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::config::{Config, Rate, Trip, Window};
use crate::error::Rejected;
use crate::hooks::Cause;
use crate::permit::{Kind, Permit};
use crate::snapshot::{Snapshot, WindowCounts};
use crate::state::{self, State, Word};
use crate::window::{Consecutive, CountWindow, Counts, Padded, TimeWindow};

/// A circuit breaker: a cheap, cloneable handle to one shared state.
///
/// Every clone of a [`CircuitBreaker`](crate::CircuitBreaker) service holds
/// the same `Breaker`; get it with
/// [`CircuitBreaker::breaker`](crate::CircuitBreaker::breaker) to read the
/// state or take manual control. Outside tower, [`Breaker::acquire`] and
/// [`Permit::finish`] guard any call.
///
/// ```
/// use kit_circuitbreaker::{Breaker, Config, Outcome, State, Trip};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
/// let breaker = Breaker::new(Config::new().trips([Trip::consecutive_failures(2)]));
/// for _ in 0..2 {
///     breaker.acquire().unwrap().finish(Outcome::Failure);
/// }
/// assert_eq!(breaker.state(), State::Open);
/// let err = breaker.acquire().unwrap_err();
/// assert_eq!(err.message(), "circuit breaker is open; it will probe again in 5s");
/// breaker.reset();
/// assert!(breaker.acquire().is_ok());
/// # }
/// ```
#[derive(Clone)]
pub struct Breaker {
    pub(crate) shared: Arc<Shared>,
}

/// A rate policy and its window.
#[derive(Debug)]
pub(crate) struct RatePolicy {
    pub(crate) rate: Rate,
    /// The threshold in parts per million.
    ppm: u64,
    minimum_calls: u64,
    pub(crate) window: RateWindow,
}

#[derive(Debug)]
pub(crate) enum RateWindow {
    Count(CountWindow),
    Time(TimeWindow),
}

impl RatePolicy {
    pub(crate) fn counts(&self, generation: u32, now: u64) -> Counts {
        match &self.window {
            RateWindow::Count(w) => w.counts(generation),
            RateWindow::Time(w) => w.counts(generation, now),
        }
    }

    #[inline]
    pub(crate) fn record(&self, generation: u32, hit: bool, now: u64) -> bool {
        match &self.window {
            RateWindow::Count(w) => w.record(generation, hit),
            RateWindow::Time(w) => w.record(generation, hit, now),
        }
        hit && {
            let c = self.counts(generation, now);
            c.calls >= self.minimum_calls
                && u128::from(c.hits) * 1_000_000 >= u128::from(self.ppm) * u128::from(c.calls)
        }
    }
}

/// What every clone of a breaker shares.
pub(crate) struct Shared {
    /// The packed [`Word`]: read by every call, written on transitions and
    /// by half-open probes.
    pub(crate) word: Padded<AtomicU64>,
    pub(crate) consecutive: Consecutive,
    /// The consecutive-failure limit; 0 when there is no such policy.
    pub(crate) consecutive_limit: u32,
    pub(crate) policies: Box<[RatePolicy]>,
    /// Whether calls must be timed (a slow-call policy exists).
    pub(crate) timed: bool,
    /// Whether a finished call needs the time (timed, or a time window).
    pub(crate) needs_now: bool,
    /// The shortest slow-call threshold, in nanoseconds: a probe this slow fails.
    pub(crate) slowest_allowed: Option<u64>,
    /// Time zero for the nanosecond timestamps below.
    pub(crate) epoch: Instant,
    /// When the current open period ends, in nanoseconds from `epoch`.
    /// Written before the word that opens, so a reader of that word sees it.
    pub(crate) open_until: AtomicU64,
    /// When the breaker last closed, for `interval`.
    pub(crate) closed_at: AtomicU64,
    pub(crate) trips: AtomicU64,
    pub(crate) rejected: AtomicU64,
    /// Re-opens in a row, for the backoff; only transitions touch it, and
    /// they are serialised by this lock (the hot path never takes it).
    pub(crate) control: Mutex<u32>,
    /// Wakes services waiting in `poll_ready` on every transition and every
    /// freed probe slot.
    pub(crate) notify: Arc<Notify>,
    pub(crate) config: Config,
}

impl Breaker {
    /// A breaker in the closed state.
    pub fn new(config: Config) -> Breaker {
        let mut consecutive_limit = 0;
        let mut policies = Vec::new();
        for trip in &config.trips {
            match *trip {
                Trip::ConsecutiveFailures(n) => {
                    let n = n.max(1);
                    consecutive_limit = if consecutive_limit == 0 {
                        n
                    } else {
                        consecutive_limit.min(n)
                    };
                }
                Trip::Rate {
                    rate,
                    threshold,
                    window,
                    minimum_calls,
                } => {
                    let threshold = if threshold.is_nan() {
                        1.0
                    } else {
                        threshold.clamp(0.0, 1.0)
                    };
                    let window = match window.clamped() {
                        Window::Count(n) => RateWindow::Count(CountWindow::new(n)),
                        Window::Time(d) => RateWindow::Time(TimeWindow::new(nanos(d))),
                    };
                    let minimum_calls = match &window {
                        RateWindow::Count(w) => minimum_calls.clamp(1, w.len()),
                        RateWindow::Time(_) => minimum_calls.max(1),
                    };
                    policies.push(RatePolicy {
                        rate,
                        ppm: (threshold * 1e6).round() as u64,
                        minimum_calls: u64::from(minimum_calls),
                        window,
                    });
                }
            }
        }
        let slowest_allowed = policies
            .iter()
            .filter_map(|p| match p.rate {
                Rate::SlowCall(d) => Some(nanos(d)),
                Rate::Failure => None,
            })
            .min();
        let timed = slowest_allowed.is_some();
        let needs_now = timed
            || policies
                .iter()
                .any(|p| matches!(p.window, RateWindow::Time(_)));
        Breaker {
            shared: Arc::new(Shared {
                word: Padded(AtomicU64::new(Word::new(State::Closed, 0).pack())),
                consecutive: Consecutive::default(),
                consecutive_limit,
                policies: policies.into_boxed_slice(),
                timed,
                needs_now,
                slowest_allowed,
                epoch: Instant::now(),
                open_until: AtomicU64::new(0),
                closed_at: AtomicU64::new(0),
                trips: AtomicU64::new(0),
                rejected: AtomicU64::new(0),
                control: Mutex::new(0),
                notify: Arc::new(Notify::new()),
                config,
            }),
        }
    }

    /// Asks to make a call. `Ok` holds a [`Permit`]: report the call's
    /// outcome with [`Permit::finish`], or drop it to count nothing. `Err`
    /// is the `Unavailable` refusal (see [`Rejected`]).
    pub fn acquire(&self) -> Result<Permit, Error> {
        let mut permit = self.try_acquire().map_err(Rejected::into_error)?;
        permit.start_timer();
        Ok(permit)
    }

    pub(crate) fn try_acquire(&self) -> Result<Permit, Rejected> {
        self.admit().inspect_err(|r| self.count_rejection(r))
    }

    /// Admission without counting a refusal: `poll_ready` may ask many times
    /// for one call.
    #[inline]
    pub(crate) fn admit(&self) -> Result<Permit, Rejected> {
        // The closed state's path, inlined: one load.
        let bits = self.shared.word.0.load(Acquire);
        if state::state(bits) == State::Closed {
            let generation = state::generation(bits);
            return Ok(Permit::new(self.shared.clone(), generation, Kind::Closed));
        }
        self.admit_other()
    }

    #[cold]
    #[inline(never)]
    fn admit_other(&self) -> Result<Permit, Rejected> {
        let (generation, kind) = self.shared.admit()?;
        Ok(Permit::new(self.shared.clone(), generation, kind))
    }

    /// Counts a refused call.
    pub(crate) fn count_rejection(&self, r: &Rejected) {
        self.shared.rejected.fetch_add(1, Relaxed);
        if let Some(h) = &self.shared.config.hooks {
            h.on_rejected(r.state());
        }
    }

    /// The current state. The breaker leaves `Open` when the first call (or
    /// `poll_ready`) arrives after the open period, so this reads `Open`
    /// until then; [`Snapshot::retry_in`] tells whether that time has come.
    pub fn state(&self) -> State {
        state::state(self.shared.word.0.load(Acquire))
    }

    /// The state and every counter, read at once (each counter atomically,
    /// not all together).
    pub fn snapshot(&self) -> Snapshot {
        let s = &self.shared;
        let w = Word::unpack(s.word.0.load(Acquire));
        let now = s.now();
        let g = w.generation;
        Snapshot {
            state: w.state,
            generation: g,
            consecutive_failures: s.consecutive.get(g, s.interval_index(now)),
            windows: s
                .policies
                .iter()
                .map(|p| {
                    let c = p.counts(g, now);
                    WindowCounts {
                        rate: p.rate,
                        calls: c.calls,
                        hits: c.hits,
                    }
                })
                .collect(),
            probes_in_flight: w.in_flight,
            probe_successes: w.successes,
            retry_in: (w.state == State::Open)
                .then(|| Duration::from_nanos(s.open_until.load(Relaxed).saturating_sub(now))),
            trips: s.trips.load(Relaxed),
            rejected: s.rejected.load(Relaxed),
        }
    }

    /// The settings this breaker was built with.
    pub fn config(&self) -> &Config {
        &self.shared.config
    }

    /// Opens the breaker until [`reset`](Breaker::reset) or
    /// [`force_closed`](Breaker::force_closed): every call fails fast and
    /// no probe is made. For draining an instance by hand.
    pub fn force_open(&self) {
        self.shared
            .transition(None, State::ForcedOpen, Cause::ForceOpen);
    }

    /// Closes the breaker until [`reset`](Breaker::reset) or
    /// [`force_open`](Breaker::force_open): every call passes and nothing is
    /// recorded. For when the breaker is known to be wrong.
    pub fn force_closed(&self) {
        self.shared
            .transition(None, State::ForcedClosed, Cause::ForceClosed);
    }

    /// Back to a fresh closed state: counters cleared, backoff forgotten,
    /// waiting services woken.
    pub fn reset(&self) {
        self.shared.transition(None, State::Closed, Cause::Reset);
    }
}

impl fmt::Debug for Breaker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Breaker")
            .field("state", &self.state())
            .finish_non_exhaustive()
    }
}

pub(crate) fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}
