//! The breaker's states, and the one atomic word that holds the current one.
//!
//! Everything the hot path must see at once lives in a single `u64`, so that
//! admission in the closed state is one load and admission of a half-open
//! probe is one compare-and-swap:
//!
//! | bits | field |
//! |---|---|
//! | 0..3 | [`State`] |
//! | 3..17 | probes in flight (half-open) |
//! | 17..32 | probe successes (half-open) |
//! | 32..64 | generation: +1 on every transition |
//!
//! The generation tags every permit and every recorded outcome, so the
//! outcome of a call admitted before a transition is never counted after it,
//! and a probe slot freed late can never free a slot of a later half-open
//! period. It wraps after 2³² transitions, which only equality compares see.

use std::fmt;

/// The state of a circuit breaker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum State {
    /// Calls pass; outcomes are recorded and may trip the breaker.
    Closed,
    /// Calls fail fast until the open period ends.
    Open,
    /// A bounded number of probe calls pass; enough successes close the
    /// breaker, any failure opens it again.
    HalfOpen,
    /// Opened by hand ([`Breaker::force_open`](crate::Breaker::force_open)):
    /// calls fail fast and no probe is made until a reset.
    ForcedOpen,
    /// Closed by hand ([`Breaker::force_closed`](crate::Breaker::force_closed)):
    /// calls pass, nothing is recorded and nothing trips until a reset.
    ForcedClosed,
}

impl State {
    /// The snake_case name, as metrics label it: `closed`, `open`,
    /// `half_open`, `forced_open`, `forced_closed`.
    pub const fn as_str(self) -> &'static str {
        match self {
            State::Closed => "closed",
            State::Open => "open",
            State::HalfOpen => "half_open",
            State::ForcedOpen => "forced_open",
            State::ForcedClosed => "forced_closed",
        }
    }

    /// Whether calls are let through at all in this state (half-open lets
    /// some through).
    pub const fn admits_calls(self) -> bool {
        !matches!(self, State::Open | State::ForcedOpen)
    }

    const fn bits(self) -> u64 {
        match self {
            State::Closed => 0,
            State::Open => 1,
            State::HalfOpen => 2,
            State::ForcedOpen => 3,
            State::ForcedClosed => 4,
        }
    }

    const fn from_bits(bits: u64) -> State {
        match bits & STATE_MASK {
            0 => State::Closed,
            1 => State::Open,
            2 => State::HalfOpen,
            3 => State::ForcedOpen,
            // Only `pack` writes the word, so 5..=7 never occur.
            _ => State::ForcedClosed,
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

const STATE_MASK: u64 = 0b111;
const IN_FLIGHT_SHIFT: u32 = 3;
const SUCCESS_SHIFT: u32 = 17;
const GEN_SHIFT: u32 = 32;

/// The most probes that may be in flight at once.
pub(crate) const MAX_PROBES: u32 = (1 << (SUCCESS_SHIFT - IN_FLIGHT_SHIFT)) - 1;
/// The largest success threshold in half-open.
pub(crate) const MAX_SUCCESSES: u32 = (1 << (GEN_SHIFT - SUCCESS_SHIFT)) - 1;

/// The unpacked state word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Word {
    pub(crate) state: State,
    pub(crate) in_flight: u32,
    pub(crate) successes: u32,
    pub(crate) generation: u32,
}

impl Word {
    /// A fresh word for `state` in `generation`, with no probe counts.
    pub(crate) const fn new(state: State, generation: u32) -> Word {
        Word {
            state,
            in_flight: 0,
            successes: 0,
            generation,
        }
    }

    pub(crate) const fn pack(self) -> u64 {
        self.state.bits()
            | ((self.in_flight as u64 & MAX_PROBES as u64) << IN_FLIGHT_SHIFT)
            | ((self.successes as u64 & MAX_SUCCESSES as u64) << SUCCESS_SHIFT)
            | ((self.generation as u64) << GEN_SHIFT)
    }

    pub(crate) const fn unpack(bits: u64) -> Word {
        Word {
            state: State::from_bits(bits),
            in_flight: ((bits >> IN_FLIGHT_SHIFT) & MAX_PROBES as u64) as u32,
            successes: ((bits >> SUCCESS_SHIFT) & MAX_SUCCESSES as u64) as u32,
            generation: generation(bits),
        }
    }
}

/// The generation of a packed word, without unpacking the rest.
#[inline]
pub(crate) const fn generation(bits: u64) -> u32 {
    (bits >> GEN_SHIFT) as u32
}

/// The state of a packed word, without unpacking the rest.
#[inline]
pub(crate) const fn state(bits: u64) -> State {
    State::from_bits(bits)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const STATES: [State; 5] = [
        State::Closed,
        State::Open,
        State::HalfOpen,
        State::ForcedOpen,
        State::ForcedClosed,
    ];

    #[test]
    fn names() {
        let names: Vec<_> = STATES.iter().map(|s| s.to_string()).collect();
        assert_eq!(
            names,
            [
                "closed",
                "open",
                "half_open",
                "forced_open",
                "forced_closed"
            ]
        );
        assert!(State::HalfOpen.admits_calls());
        assert!(!State::ForcedOpen.admits_calls());
    }

    proptest! {
        #[test]
        fn word_round_trips(
            s in 0usize..5,
            in_flight in 0..=MAX_PROBES,
            successes in 0..=MAX_SUCCESSES,
            generation in any::<u32>(),
        ) {
            let w = Word { state: STATES[s], in_flight, successes, generation };
            let bits = w.pack();
            prop_assert_eq!(Word::unpack(bits), w);
            prop_assert_eq!(super::generation(bits), generation);
            prop_assert_eq!(super::state(bits), STATES[s]);
        }
    }
}
