//! Permits: the right to make one call, and the recording of its outcome.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::Ordering::*;

use crate::Outcome;
use crate::breaker::Shared;
use crate::config::Rate;
use crate::hooks::Cause;
use crate::state::{self, State, Word};

/// How a permit was granted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Kind {
    /// In the closed state: its outcome goes to the trip policies.
    Closed = 0,
    /// A half-open probe: it holds one of the probe slots.
    Probe = 1,
    /// Forced closed: nothing is recorded.
    Untracked = 2,
}

/// The right to make one call through a [`Breaker`](crate::Breaker).
///
/// Report how the call went with [`finish`](Permit::finish). A permit
/// dropped unfinished, as when the caller drops the call's future, counts
/// as nothing, and frees its probe slot if it held one.
#[must_use = "a permit counts nothing unless finished"]
pub struct Permit {
    shared: Arc<Shared>,
    /// When the call started, in nanoseconds from the breaker's epoch, if a
    /// slow-call policy needs to know; `NOT_TIMED` otherwise.
    start: u64,
    /// `generation:32 | kind:8 | finished:8`, one word: the hot path writes
    /// and reads the permit whole, and fields written one by one and read
    /// back as a word would stall store forwarding.
    meta: u64,
}

const NOT_TIMED: u64 = u64::MAX;
const FINISHED: u64 = 1 << 40;

impl Permit {
    #[inline]
    pub(crate) fn new(shared: Arc<Shared>, generation: u32, kind: Kind) -> Permit {
        Permit {
            shared,
            start: NOT_TIMED,
            meta: u64::from(generation) | ((kind as u64) << 32),
        }
    }

    #[inline]
    fn generation(&self) -> u32 {
        self.meta as u32
    }

    #[inline]
    fn kind(&self) -> Kind {
        match (self.meta >> 32) as u8 {
            0 => Kind::Closed,
            1 => Kind::Probe,
            _ => Kind::Untracked,
        }
    }

    #[inline]
    fn finished(&self) -> bool {
        self.meta & FINISHED != 0
    }

    /// The state the call was admitted in: closed, half-open or forced closed.
    pub fn state(&self) -> State {
        match self.kind() {
            Kind::Closed => State::Closed,
            Kind::Probe => State::HalfOpen,
            Kind::Untracked => State::ForcedClosed,
        }
    }

    /// Whether the breaker is still in the generation that granted this
    /// permit (no transition since).
    #[inline]
    pub(crate) fn is_current(&self) -> bool {
        state::generation(self.shared.word.0.load(Acquire)) == self.generation()
    }

    /// Discards a permit of a past generation without reporting it: it
    /// admitted no call, and its generation's probe slots are gone.
    pub(crate) fn discard_stale(mut self) {
        debug_assert!(!self.is_current());
        self.meta |= FINISHED;
    }

    /// Starts the slow-call clock, if a policy needs it: a permit taken in
    /// `poll_ready` starts timing when the call is made.
    #[inline]
    pub(crate) fn start_timer(&mut self) {
        if self.shared.timed {
            self.start = self.shared.now();
        }
    }

    /// Records the call's outcome.
    #[inline]
    pub fn finish(mut self, outcome: Outcome) {
        self.meta |= FINISHED;
        let s = &*self.shared;
        // One clock read serves the time window and the slow-call timer.
        let now = if s.needs_now { s.now() } else { 0 };
        let took = (self.start != NOT_TIMED).then(|| now.saturating_sub(self.start));
        let slow = match (took, s.slowest_allowed) {
            (Some(took), Some(limit)) => took >= limit,
            _ => false,
        };
        if let Some(h) = &s.config.hooks {
            h.on_call(self.state(), outcome, slow);
        }
        match self.kind() {
            Kind::Closed => s.record_closed(self.generation(), outcome, took, now),
            Kind::Probe => {
                let outcome = if slow && outcome == Outcome::Success {
                    Outcome::Failure
                } else {
                    outcome
                };
                s.release_probe(self.generation(), outcome);
            }
            Kind::Untracked => {}
        }
    }
}

impl Drop for Permit {
    #[inline]
    fn drop(&mut self) {
        if !self.finished() {
            self.cancelled();
        }
    }
}

impl Permit {
    /// Dropped unfinished: counts nothing, frees a probe slot.
    #[cold]
    fn cancelled(&mut self) {
        if let Some(h) = &self.shared.config.hooks {
            h.on_cancelled(self.state());
        }
        if self.kind() == Kind::Probe {
            self.shared
                .release_probe(self.generation(), Outcome::Ignore);
        }
    }
}

impl fmt::Debug for Permit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit")
            .field("state", &self.state())
            .field("generation", &self.generation())
            .finish_non_exhaustive()
    }
}

impl Shared {
    /// Records a call admitted while closed, and trips if a policy says so.
    #[inline]
    fn record_closed(&self, generation: u32, outcome: Outcome, took: Option<u64>, now: u64) {
        let bits = self.word.0.load(Acquire);
        if state::generation(bits) != generation || outcome == Outcome::Ignore {
            return;
        }
        let failure = outcome == Outcome::Failure;
        if self.consecutive_limit != 0 {
            if failure {
                let interval = if self.config.interval.is_some() {
                    self.interval_index(self.now())
                } else {
                    0
                };
                let run = self.consecutive.failure(generation, interval);
                if run >= self.consecutive_limit {
                    self.trip(generation, Cause::ConsecutiveFailures);
                    return;
                }
            } else {
                self.consecutive.success(generation);
            }
        }
        for p in self.policies.iter() {
            let (hit, cause) = match p.rate {
                Rate::Failure => (failure, Cause::FailureRate),
                Rate::SlowCall(limit) => (
                    took.is_some_and(|t| t >= crate::breaker::nanos(limit)),
                    Cause::SlowCallRate,
                ),
            };
            if p.record(generation, hit, now) {
                self.trip(generation, cause);
                return;
            }
        }
    }

    fn trip(&self, generation: u32, cause: Cause) {
        self.transition(Some((generation, State::Closed)), State::Open, cause);
    }

    /// Frees a probe slot of `generation`, counting `outcome`: a success
    /// may close the breaker, a failure opens it again.
    pub(crate) fn release_probe(&self, generation: u32, outcome: Outcome) {
        if outcome == Outcome::Failure {
            self.transition(
                Some((generation, State::HalfOpen)),
                State::Open,
                Cause::ProbeFailed,
            );
            return;
        }
        let mut bits = self.word.0.load(Acquire);
        loop {
            let w = Word::unpack(bits);
            if w.generation != generation || w.state != State::HalfOpen {
                return;
            }
            let successes = w.successes + u32::from(outcome == Outcome::Success);
            let next = Word {
                in_flight: w.in_flight.saturating_sub(1),
                successes,
                ..w
            };
            match self
                .word
                .0
                .compare_exchange_weak(bits, next.pack(), AcqRel, Acquire)
            {
                Ok(_) => {
                    if outcome == Outcome::Success && successes == self.config.successes_to_close {
                        self.transition(
                            Some((generation, State::HalfOpen)),
                            State::Closed,
                            Cause::ProbesSucceeded,
                        );
                    } else {
                        self.notify.notify_waiters();
                    }
                    return;
                }
                Err(actual) => bits = actual,
            }
        }
    }
}
