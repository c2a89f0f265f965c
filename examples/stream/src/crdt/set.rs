//! `Set`: one key's LWW-element-set with a convergent size bound.

use std::collections::{BTreeSet, HashMap};

use std::sync::Arc;

use super::{Kind, Score, State};

/// The default bound on entries per key, as roshi-server's `-max.size`.
pub const DEFAULT_MAX_SIZE: usize = 10_000;

/// A member as a set holds it: shared by its state and its place in the
/// order, one allocation, two words.
pub type Member = Arc<[u8]>;

/// A position in a key's order: `(score, member)`, compared by score, then
/// member bytes. Selects walk positions downwards; the watermark is one.
pub type Position = (Score, Member);

/// One key's last-writer-wins element set, bounded to `max_size` entries.
///
/// Holds the [`State`] of every member it keeps, visible (`Added`) or not
/// (`Removed`, a tombstone), plus the **watermark**: the highest position
/// ever evicted. Every write at or below the watermark is ignored. See the
/// [module docs](super) for why this keeps the set a CRDT.
///
/// ```
/// use stream::crdt::{Kind, Score, Set};
///
/// let mut set = Set::new();
/// let s = |v| Score::new(v).unwrap();
/// assert!(set.apply(Kind::Insert, s(1.0), b"a"));
/// assert!(!set.apply(Kind::Insert, s(1.0), b"a")); // equal re-insert: no-op
/// assert!(set.apply(Kind::Delete, s(1.0), b"a"));  // deletes win ties
/// assert_eq!(set.len_visible(), 0);
/// ```
#[derive(Clone, Debug)]
pub struct Set {
    /// The bound on kept entries (visible and tombstones together).
    max_size: usize,
    /// Every kept member's state: the source of truth.
    states: HashMap<Member, State>,
    /// Visible members by position, for selects.
    added: BTreeSet<Position>,
    /// Tombstones by position, so eviction can find the lowest entry.
    removed: BTreeSet<Position>,
    /// The highest evicted position; writes at or below it are ignored.
    watermark: Option<Position>,
}

impl Default for Set {
    fn default() -> Set {
        Set::new()
    }
}

impl PartialEq for Set {
    /// Two sets are equal when they keep the same states and watermark
    /// (the bound is configuration, not state).
    fn eq(&self, other: &Set) -> bool {
        self.states == other.states && self.watermark == other.watermark
    }
}

impl Eq for Set {}

impl Set {
    /// An empty set bounded to [`DEFAULT_MAX_SIZE`] entries.
    pub fn new() -> Set {
        Set::with_max_size(DEFAULT_MAX_SIZE)
    }

    /// An empty set bounded to `max_size` entries (`usize::MAX`: unbounded).
    pub fn with_max_size(max_size: usize) -> Set {
        Set {
            max_size,
            states: HashMap::new(),
            added: BTreeSet::new(),
            removed: BTreeSet::new(),
            watermark: None,
        }
    }

    /// The bound on entries.
    pub fn max_size(&self) -> usize {
        self.max_size
    }

    /// The highest evicted position, if any entry was ever evicted.
    pub fn watermark(&self) -> Option<&Position> {
        self.watermark.as_ref()
    }

    /// The state of `member`, if the set keeps one.
    pub fn state(&self, member: &[u8]) -> Option<State> {
        self.states.get(member).copied()
    }

    /// How many entries (visible and tombstones) the set keeps.
    pub fn len(&self) -> usize {
        self.states.len()
    }

    /// Whether the set keeps no entry.
    pub fn is_empty(&self) -> bool {
        self.states.is_empty()
    }

    /// How many members are visible.
    pub fn len_visible(&self) -> usize {
        self.added.len()
    }

    /// Visible members, highest position first.
    pub fn visible(&self) -> impl DoubleEndedIterator<Item = &Position> + '_ {
        self.added.iter().rev()
    }

    /// The visible positions, in ascending order, for range walks.
    pub(super) fn added(&self) -> &BTreeSet<Position> {
        &self.added
    }

    /// Every kept `(member, state)`, in no particular order.
    pub fn entries(&self) -> impl Iterator<Item = (&Member, State)> + '_ {
        self.states.iter().map(|(m, s)| (m, *s))
    }

    /// Applies one write; returns whether it took effect (changed the state
    /// and was not evicted at once).
    pub fn apply(&mut self, kind: Kind, score: Score, member: &[u8]) -> bool {
        self.apply_state(member, State { score, kind })
    }

    /// Applies a write given as the state it asks for. Returns whether it
    /// took effect.
    pub fn apply_state(&mut self, member: &[u8], next: State) -> bool {
        self.apply_state_evicting(member, next, &mut Vec::new())
    }

    /// [`apply_state`](Set::apply_state), also pushing onto `evicted` every
    /// member the bound evicted (its state is gone; the watermark moved).
    pub fn apply_state_evicting(
        &mut self,
        member: &[u8],
        next: State,
        evicted: &mut Vec<Member>,
    ) -> bool {
        if self.below_watermark(next.score, member) {
            return false;
        }
        let member: Member = match self.states.get_key_value(member) {
            Some((m, current)) => {
                if !current.yields_to(next) {
                    return false;
                }
                let (m, current) = (m.clone(), *current);
                self.index_mut(current.kind)
                    .remove(&(current.score, m.clone()));
                m
            }
            None => Arc::from(member),
        };
        self.states.insert(member.clone(), next);
        self.index_mut(next.kind)
            .insert((next.score, member.clone()));
        self.enforce_bound(evicted);
        self.states.get(&member) == Some(&next)
    }

    /// Raises the watermark to `w` (if it is higher), dropping every entry
    /// at or below it onto `evicted`: how a stored watermark is restored.
    pub fn raise_watermark(&mut self, w: Position, evicted: &mut Vec<Member>) {
        if self.watermark.as_ref().is_some_and(|cur| *cur >= w) {
            return;
        }
        for kind in [Kind::Insert, Kind::Delete] {
            let index = self.index_mut(kind);
            // `split_off` keeps what is below `w` and returns the rest.
            let above = index.split_off(&w);
            let below = std::mem::replace(index, above);
            let hit = index.remove(&w);
            for (_, member) in below {
                self.states.remove(&member);
                evicted.push(member);
            }
            if hit {
                self.states.remove(&w.1);
                evicted.push(w.1.clone());
            }
        }
        self.watermark = Some(w);
    }

    /// Merges another replica's state of the same key into this one: the
    /// higher watermark, each member's maximum state, then the bound.
    pub fn merge(&mut self, other: &Set) {
        let mut evicted = Vec::new();
        if let Some(w) = &other.watermark {
            self.raise_watermark(w.clone(), &mut evicted);
        }
        for (member, state) in &other.states {
            self.apply_state_evicting(member, *state, &mut evicted);
        }
    }

    /// Whether a write at `(score, member)` falls at or below the watermark.
    fn below_watermark(&self, score: Score, member: &[u8]) -> bool {
        self.watermark
            .as_ref()
            .is_some_and(|(ws, wm)| (score, member) <= (*ws, wm.as_ref()))
    }

    fn index_mut(&mut self, kind: Kind) -> &mut BTreeSet<Position> {
        match kind {
            Kind::Insert => &mut self.added,
            Kind::Delete => &mut self.removed,
        }
    }

    /// Evicts the lowest entries until at most `max_size` are kept.
    fn enforce_bound(&mut self, evicted: &mut Vec<Member>) {
        while self.states.len() > self.max_size {
            let lowest = match (self.added.first(), self.removed.first()) {
                (Some(a), Some(r)) => a.min(r).clone(),
                (Some(a), None) => a.clone(),
                (None, Some(r)) => r.clone(),
                (None, None) => return,
            };
            self.raise_watermark(lowest, evicted);
        }
    }
}
