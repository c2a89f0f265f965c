//! Reading a set: offset and cursor paging, and coalescing keys.

use std::cmp::Ordering;
use std::ops::Bound;

use bytes::Bytes;

use super::{Member, Position, Score, Set};

/// A cursor: a position `(score, member)` that a cursor select pages from
/// or to, exclusively.
///
/// The score may be infinite (`+inf` as a start means "from the top"), never
/// NaN, and `-0` is normalised to `0`.
#[derive(Clone, Debug, PartialEq)]
pub struct Cursor {
    score: f64,
    member: Bytes,
}

/// The error for a NaN cursor score.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("cursor score is NaN")]
pub struct NanCursor;

impl Cursor {
    /// A cursor at `(score, member)`; NaN is rejected.
    pub fn new(score: f64, member: impl Into<Bytes>) -> Result<Cursor, NanCursor> {
        if score.is_nan() {
            return Err(NanCursor);
        }
        Ok(Cursor {
            score: score + 0.0,
            member: member.into(),
        })
    }

    /// The cursor just at an entry.
    pub fn at(score: Score, member: impl Into<Bytes>) -> Cursor {
        Cursor {
            score: score.get(),
            member: member.into(),
        }
    }

    /// The score.
    pub fn score(&self) -> f64 {
        self.score
    }

    /// The member.
    pub fn member(&self) -> &Bytes {
        &self.member
    }

    /// The position as a `Score` if it is finite, or which side of every
    /// finite score it lies on.
    fn bound(&self) -> Result<Position, Ordering> {
        match Score::new(self.score) {
            Ok(s) => Ok((s, Member::from(&self.member[..]))),
            Err(_) if self.score > 0.0 => Err(Ordering::Greater),
            Err(_) => Err(Ordering::Less),
        }
    }
}

/// Which part of a key's order a select reads.
#[derive(Clone, Debug, PartialEq)]
pub enum Range {
    /// Skip `offset` members from the top.
    Offset(usize),
    /// Members strictly after `start` and strictly before `stop`, in
    /// (score desc, member desc) order; `None` is unbounded on that side.
    Cursor {
        /// Exclusive upper position; `None` starts at the top.
        start: Option<Cursor>,
        /// Exclusive lower position; `None` runs to the bottom.
        stop: Option<Cursor>,
    },
}

/// A select: a range and the most members to return per key.
#[derive(Clone, Debug, PartialEq)]
pub struct Query {
    /// Which part of the order.
    pub range: Range,
    /// The most members to return.
    pub limit: usize,
}

impl Query {
    /// `limit` members from `offset`.
    pub fn offset(offset: usize, limit: usize) -> Query {
        Query {
            range: Range::Offset(offset),
            limit,
        }
    }

    /// `limit` members strictly between `start` and `stop`.
    pub fn cursor(start: Option<Cursor>, stop: Option<Cursor>, limit: usize) -> Query {
        Query {
            range: Range::Cursor { start, stop },
            limit,
        }
    }
}

/// A visible member and its score, as a select returns it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The score.
    pub score: Score,
    /// The member.
    pub member: Bytes,
}

/// An event: a member with its key and score, as writes carry it and a
/// coalesced select returns it (Roshi's `KeyScoreMember`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Event {
    /// The key.
    pub key: Bytes,
    /// The score.
    pub score: Score,
    /// The member.
    pub member: Bytes,
}

impl Event {
    /// An event.
    pub fn new(key: impl Into<Bytes>, score: Score, member: impl Into<Bytes>) -> Event {
        Event {
            key: key.into(),
            score,
            member: member.into(),
        }
    }
}

impl Set {
    /// The visible members `query` asks for, in (score desc, member desc)
    /// order.
    pub fn select(&self, query: &Query) -> Vec<Entry> {
        let to_entry = |(score, member): &Position| Entry {
            score: *score,
            member: Bytes::copy_from_slice(member),
        };
        match &query.range {
            Range::Offset(offset) => self
                .visible()
                .skip(*offset)
                .take(query.limit)
                .map(to_entry)
                .collect(),
            Range::Cursor { start, stop } => {
                let Some((lower, upper)) = cursor_bounds(start.as_ref(), stop.as_ref()) else {
                    return Vec::new();
                };
                if !ordered(&lower, &upper) {
                    return Vec::new();
                }
                self.added()
                    .range((lower, upper))
                    .rev()
                    .take(query.limit)
                    .map(to_entry)
                    .collect()
            }
        }
    }
}

type B = Bound<Position>;

/// The bounds on positions for a cursor range, or `None` if it is empty
/// (an infinite cursor on the wrong side).
pub(crate) fn cursor_bounds(start: Option<&Cursor>, stop: Option<&Cursor>) -> Option<(B, B)> {
    let upper = match start.map(Cursor::bound) {
        None | Some(Err(Ordering::Greater)) => Bound::Unbounded,
        Some(Err(_)) => return None,
        Some(Ok(p)) => Bound::Excluded(p),
    };
    let lower = match stop.map(Cursor::bound) {
        None | Some(Err(Ordering::Less)) => Bound::Unbounded,
        Some(Err(_)) => return None,
        Some(Ok(p)) => Bound::Excluded(p),
    };
    Some((lower, upper))
}

/// Whether `lower < upper`, which `BTreeSet::range` needs to not panic.
pub(crate) fn ordered(lower: &B, upper: &B) -> bool {
    match (lower, upper) {
        (Bound::Excluded(l), Bound::Excluded(u)) => l < u,
        _ => true,
    }
}

/// Merges per-key results into one list in (score desc, member desc, key
/// desc) order, then skips `offset` and keeps `limit`.
///
/// For an offset select, read each key with offset 0 and limit
/// `offset + limit` first ([`coalesce_query`]); for a cursor select, read
/// each key with the same query.
pub fn coalesce<I>(per_key: I, offset: usize, limit: usize) -> Vec<Event>
where
    I: IntoIterator<Item = (Bytes, Vec<Entry>)>,
{
    let mut all: Vec<Event> = per_key
        .into_iter()
        .flat_map(|(key, entries)| {
            entries.into_iter().map(move |e| Event {
                key: key.clone(),
                score: e.score,
                member: e.member,
            })
        })
        .collect();
    all.sort_unstable_by(|a, b| (b.score, &b.member, &b.key).cmp(&(a.score, &a.member, &a.key)));
    all.into_iter().skip(offset).take(limit).collect()
}

/// The per-key query to run for a coalesced select, and the offset to
/// apply after the merge.
pub fn coalesce_query(query: &Query) -> (Query, usize) {
    match &query.range {
        Range::Offset(offset) => (
            Query::offset(0, offset.saturating_add(query.limit)),
            *offset,
        ),
        Range::Cursor { .. } => (query.clone(), 0),
    }
}
