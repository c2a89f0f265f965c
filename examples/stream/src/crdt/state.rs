//! The state of one (key, member) pair and the write rule.

use super::Score;

/// What a write does: add a member or leave a tombstone.
///
/// The order is the tie-break of the write rule: at equal scores a
/// `Delete` is above an `Insert`, so deletes win ties.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// An insert: the member becomes visible at the score.
    Insert,
    /// A delete: the member becomes a tombstone at the score.
    Delete,
}

/// The state of a member that has seen at least one write: `Added(s)` or
/// `Removed(s)`. "Absent" is the lack of a `State`.
///
/// A write `(kind, s')` applies when it is strictly above the current state
/// in the order of `(score, kind)`, which gives exactly this table:
///
/// | current | `Insert(s')` applies when | `Delete(s')` applies when |
/// |---|---|---|
/// | absent | always | always (it leaves a tombstone) |
/// | `Added(s)` | `s' > s` | `s' >= s` (deletes win ties) |
/// | `Removed(s)` | `s' > s` | `s' > s` |
///
/// A state is therefore the maximum of the writes it has seen, and merging
/// two states is `max`: commutative, associative and idempotent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct State {
    /// The score of the winning write.
    pub score: Score,
    /// The kind of the winning write.
    pub kind: Kind,
}

impl State {
    /// An `Added(score)` state.
    pub fn added(score: Score) -> State {
        State {
            score,
            kind: Kind::Insert,
        }
    }

    /// A `Removed(score)` state.
    pub fn removed(score: Score) -> State {
        State {
            score,
            kind: Kind::Delete,
        }
    }

    /// Whether the member is visible (`Added`).
    pub fn is_added(self) -> bool {
        self.kind == Kind::Insert
    }

    /// Whether a write of `next` applies on top of `self`.
    pub fn yields_to(self, next: State) -> bool {
        next > self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: f64) -> Score {
        Score::new(v).unwrap()
    }

    #[test]
    fn the_table() {
        let (lo, mid, hi) = (s(1.0), s(2.0), s(3.0));
        let added = State::added(mid);
        let removed = State::removed(mid);
        // Added(s): insert only above, delete at or above.
        assert!(!added.yields_to(State::added(lo)));
        assert!(
            !added.yields_to(State::added(mid)),
            "equal re-insert is a no-op"
        );
        assert!(added.yields_to(State::added(hi)));
        assert!(!added.yields_to(State::removed(lo)));
        assert!(added.yields_to(State::removed(mid)), "deletes win ties");
        assert!(added.yields_to(State::removed(hi)));
        // Removed(s): only strictly above.
        assert!(!removed.yields_to(State::added(lo)));
        assert!(!removed.yields_to(State::added(mid)));
        assert!(removed.yields_to(State::added(hi)));
        assert!(!removed.yields_to(State::removed(lo)));
        assert!(!removed.yields_to(State::removed(mid)));
        assert!(removed.yields_to(State::removed(hi)));
    }
}
