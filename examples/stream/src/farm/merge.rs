//! Pure functions over replicas' answers: the union of selects, the
//! members that differ, and the repair plan. No I/O, so the rules that
//! make replicas converge are tested here with proptest.

use std::collections::{HashMap, HashSet};

use bytes::Bytes;

use super::replica::{KeyOp, KeyStates, Op};
use crate::crdt::{Entry, Score, State};

/// The union of several replicas' entries for one key (each member at its
/// highest score), in (score desc, member desc) order, and the members
/// that are not the same in every answer (Roshi's difference: the repair
/// candidates).
pub(crate) fn union(answers: &[&[Entry]]) -> (Vec<Entry>, Vec<Bytes>) {
    // The common case, a healthy farm (or a farm of one): every replica
    // answered the same, which needs no hashing to see.
    if let Some((first, rest)) = answers.split_first()
        && rest.iter().all(|a| a == first)
    {
        return (first.to_vec(), Vec::new());
    }
    let mut best: HashMap<&Bytes, (Score, usize)> = HashMap::new();
    for answer in answers {
        for e in *answer {
            let slot = best.entry(&e.member).or_insert((e.score, 0));
            slot.0 = slot.0.max(e.score);
            slot.1 += 1;
        }
    }
    let mut differ: HashSet<&Bytes> = HashSet::new();
    for answer in answers {
        for e in *answer {
            let (score, seen) = best[&e.member];
            if seen != answers.len() || score != e.score {
                differ.insert(&e.member);
            }
        }
    }
    let mut entries: Vec<Entry> = best
        .iter()
        .map(|(m, (score, _))| Entry {
            score: *score,
            member: (*m).clone(),
        })
        .collect();
    sort(&mut entries);
    let mut differ: Vec<Bytes> = differ.into_iter().cloned().collect();
    differ.sort();
    (entries, differ)
}

/// Sorts entries in select order: score, then member, both descending.
pub(crate) fn sort(entries: &mut [Entry]) {
    entries.sort_unstable_by(|a, b| (b.score, &b.member).cmp(&(a.score, &a.member)));
}

/// What every replica should hold for one key, by the core's rules: the
/// highest watermark, and each member's highest state (deletes above
/// inserts at equal scores) unless it is at or below that watermark.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Winner {
    pub(crate) watermark: Option<(Score, Bytes)>,
    /// Members above the watermark and their winning states.
    pub(crate) states: HashMap<Bytes, State>,
    /// Members whose every state is at or below the watermark: gone.
    pub(crate) evicted: HashSet<Bytes>,
}

/// The winning state of a key from what the replicas that answered hold.
/// Independent of the replicas' order.
pub(crate) fn winner<'a>(snapshots: impl IntoIterator<Item = &'a KeyStates> + Clone) -> Winner {
    let watermark = snapshots
        .clone()
        .into_iter()
        .filter_map(|s| s.watermark.clone())
        .max();
    let mut states: HashMap<Bytes, State> = HashMap::new();
    for snapshot in snapshots {
        for (m, s) in &snapshot.states {
            let slot = states.entry(m.clone()).or_insert(*s);
            *slot = (*slot).max(*s);
        }
    }
    let mut evicted = HashSet::new();
    if let Some((ws, wm)) = &watermark {
        states.retain(|m, s| {
            let above = (s.score, m) > (*ws, wm);
            if !above {
                evicted.insert(m.clone());
            }
            above
        });
    }
    Winner {
        watermark,
        states,
        evicted,
    }
}

/// The operations that bring one replica's `snapshot` of `key` to the
/// winner: a watermark raise if its watermark is lower, then a write for
/// each member whose state differs. Empty when the replica already agrees.
pub(crate) fn plan(key: &Bytes, snapshot: &KeyStates, winner: &Winner) -> Vec<KeyOp> {
    let mut ops = Vec::new();
    if let Some((ws, wm)) = &winner.watermark {
        let behind = snapshot
            .watermark
            .as_ref()
            .is_none_or(|(s, m)| (*s, m) < (*ws, wm));
        if behind {
            ops.push(KeyOp::watermark(key.clone(), *ws, wm.clone()));
        }
    }
    let have: HashMap<&Bytes, State> = snapshot.states.iter().map(|(m, s)| (m, *s)).collect();
    let mut writes: Vec<(&Bytes, &State)> = winner
        .states
        .iter()
        .filter(|(m, s)| have.get(m) != Some(s))
        .collect();
    writes.sort();
    ops.extend(writes.into_iter().map(|(m, s)| KeyOp {
        key: key.clone(),
        op: Op::Write {
            member: m.clone(),
            state: *s,
        },
    }));
    ops
}

/// Drops from `entries` the members the winner does not show (deleted, or
/// evicted), and gives those it shows their winning score; re-sorts.
/// Members the winner knows nothing of are kept as they are.
pub(crate) fn resolve(entries: &mut Vec<Entry>, winner: &Winner) {
    entries.retain_mut(|e| {
        let below = winner
            .watermark
            .as_ref()
            .is_some_and(|(ws, wm)| (e.score, &e.member) <= (*ws, wm));
        if below || winner.evicted.contains(&e.member) {
            return false;
        }
        match winner.states.get(&e.member) {
            Some(s) if s.is_added() => {
                e.score = s.score;
                true
            }
            Some(_) => false,
            None => true,
        }
    });
    sort(entries);
}
