//! The shared state's slow paths: admission outside the closed state, and
//! transitions. Transitions are rare and serialised by one lock; nothing
//! here runs for a call admitted and finished in the closed state.

use std::sync::PoisonError;
use std::sync::atomic::Ordering::*;
use std::time::Duration;

use tokio::time::Instant;

use crate::breaker::{Shared, nanos};
use crate::error::Rejected;
use crate::hooks::{Cause, Transition};
use crate::permit::Kind;
use crate::state::{self, State, Word};

impl Shared {
    /// Nanoseconds since `epoch`.
    #[inline]
    pub(crate) fn now(&self) -> u64 {
        self.nanos_at(Instant::now())
    }

    /// `at` in nanoseconds since `epoch`.
    #[inline]
    pub(crate) fn nanos_at(&self, at: Instant) -> u64 {
        nanos(at.saturating_duration_since(self.epoch))
    }

    /// The index of the current `interval` since the breaker closed.
    pub(crate) fn interval_index(&self, now: u64) -> u64 {
        match self.config.interval {
            Some(i) => now.saturating_sub(self.closed_at.load(Relaxed)) / nanos(i).max(1),
            None => 0,
        }
    }

    /// When the open period of the current generation ends (meaningful
    /// while open), as a tokio instant.
    pub(crate) fn open_until(&self) -> Instant {
        let at = Duration::from_nanos(self.open_until.load(Relaxed));
        self.epoch
            .checked_add(at)
            .unwrap_or(self.epoch + Duration::from_secs(86_400 * 365 * 30))
    }

    pub(crate) fn admit(&self) -> Result<(u32, Kind), Rejected> {
        let mut bits = self.word.0.load(Acquire);
        loop {
            match state::state(bits) {
                State::Closed => return Ok((state::generation(bits), Kind::Closed)),
                State::ForcedClosed => return Ok((state::generation(bits), Kind::Untracked)),
                State::ForcedOpen => return Err(Rejected::forced()),
                State::Open => {
                    let now = self.now();
                    let until = self.open_until.load(Relaxed);
                    if now < until {
                        return Err(Rejected::open(Duration::from_nanos(until - now)));
                    }
                    let g = state::generation(bits);
                    self.transition(Some((g, State::Open)), State::HalfOpen, Cause::OpenElapsed);
                    bits = self.word.0.load(Acquire);
                }
                State::HalfOpen => {
                    let w = Word::unpack(bits);
                    if w.in_flight >= self.config.max_probes {
                        return Err(Rejected::probing(w.in_flight));
                    }
                    let next = Word {
                        in_flight: w.in_flight + 1,
                        ..w
                    }
                    .pack();
                    match self
                        .word
                        .0
                        .compare_exchange_weak(bits, next, AcqRel, Acquire)
                    {
                        Ok(_) => return Ok((w.generation, Kind::Probe)),
                        Err(actual) => bits = actual,
                    }
                }
            }
        }
    }

    /// Moves to `to`, if the word is still `expect` (generation and state)
    /// or unconditionally with `None`. Returns whether it moved.
    pub(crate) fn transition(&self, expect: Option<(u32, State)>, to: State, cause: Cause) -> bool {
        let mut reopens = self.control.lock().unwrap_or_else(PoisonError::into_inner);
        // Only transitions change the generation, and they hold the lock, so
        // generation and state are stable here; probes may still move the
        // counts, which the compare-and-swap below takes care of.
        let mut bits = self.word.0.load(Acquire);
        let (from, g) = (state::state(bits), state::generation(bits));
        if expect.is_some_and(|e| e != (g, from)) {
            return false;
        }
        let now = self.now();
        let mut open_for = None;
        match to {
            State::Open => {
                let d = self.config.open_duration(*reopens);
                *reopens = reopens.saturating_add(1);
                self.open_until.store(now.saturating_add(nanos(d)), Relaxed);
                self.trips.fetch_add(1, Relaxed);
                open_for = Some(d);
            }
            State::Closed => {
                *reopens = 0;
                self.closed_at.store(now, Relaxed);
            }
            State::HalfOpen | State::ForcedOpen | State::ForcedClosed => {}
        }
        let next = Word::new(to, g.wrapping_add(1));
        // Release: whoever sees the new word sees `open_until` and `closed_at`.
        // A probe admitted between the load and here fails the exchange and
        // is counted in this generation before it ends.
        while let Err(actual) =
            self.word
                .0
                .compare_exchange_weak(bits, next.pack(), AcqRel, Acquire)
        {
            bits = actual;
        }
        drop(reopens);
        self.notify.notify_waiters();
        let t = Transition {
            from,
            to,
            cause,
            generation: next.generation,
            open_for,
        };
        if let Some(f) = &self.config.on_state_change {
            f(&t);
        }
        if let Some(h) = &self.config.hooks {
            h.on_state_change(&t);
        }
        true
    }
}
