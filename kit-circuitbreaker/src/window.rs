//! Lock-free outcome counters: the consecutive-failure counter and the
//! count-based and time-based sliding windows.
//!
//! Written by hand rather than taken from a crate because the breaker's hot
//! path must stay a handful of atomic operations with no lock: the window
//! crates we looked at (`failsafe`'s windowed adder, `recloser`'s ring)
//! take a lock or a `&mut` on every record.
//!
//! Nothing here is ever reset in place. Every entry is tagged with the
//! breaker's generation (low bits) and an entry with another tag reads as
//! empty, so a transition "clears" every counter in O(1) by bumping the
//! generation, and a late writer from an earlier generation cannot corrupt
//! the counts of the current one.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::Relaxed};

/// Pads a value to its own cache line, so a counter written by every call
/// does not slow down readers of its neighbours.
#[derive(Debug, Default)]
#[repr(align(128))]
pub(crate) struct Padded<T>(pub(crate) T);

/// Whether tag `a` is later than tag `b` in a `bits`-bit wrapping space.
#[inline]
fn later(a: u64, b: u64, bits: u32) -> bool {
    let mask = (1u64 << bits) - 1;
    let d = a.wrapping_sub(b) & mask;
    d != 0 && d < (1 << (bits - 1))
}

/// Consecutive failures in the closed state, optionally cleared every
/// `interval` (gobreaker's `Interval`): `tag:32 | count:32`, where the tag
/// is `generation:8 | interval index:24`.
#[derive(Debug, Default)]
pub(crate) struct Consecutive(Padded<AtomicU64>);

impl Consecutive {
    fn tag(generation: u32, interval: u64) -> u64 {
        (u64::from(generation & 0xff) << 24) | (interval & 0xff_ffff)
    }

    /// Records a success: the run of failures ends.
    #[inline]
    pub(crate) fn success(&self, generation: u32) {
        let cur = self.0.0.load(Relaxed);
        if cur & 0xffff_ffff != 0 && (cur >> 56) as u32 == generation & 0xff {
            let _ = self
                .0
                .0
                .compare_exchange(cur, cur & !0xffff_ffff, Relaxed, Relaxed);
        }
    }

    /// Records a failure and returns the length of the run it extends
    /// (0 when the record is stale).
    pub(crate) fn failure(&self, generation: u32, interval: u64) -> u32 {
        let tag = Self::tag(generation, interval);
        let mut cur = self.0.0.load(Relaxed);
        loop {
            let (cur_tag, count) = (cur >> 32, cur as u32);
            let next = if cur_tag == tag {
                count.saturating_add(1)
            } else if cur_tag >> 24 != tag >> 24 || later(tag, cur_tag, 24) {
                1
            } else {
                return 0;
            };
            match self.0.0.compare_exchange_weak(
                cur,
                (tag << 32) | u64::from(next),
                Relaxed,
                Relaxed,
            ) {
                Ok(_) => return next,
                Err(actual) => cur = actual,
            }
        }
    }

    /// The current run in `generation` and `interval`.
    pub(crate) fn get(&self, generation: u32, interval: u64) -> u32 {
        let cur = self.0.0.load(Relaxed);
        if cur >> 32 == Self::tag(generation, interval) {
            cur as u32
        } else {
            0
        }
    }
}

/// Calls and hits (failures, or slow calls) seen by a window.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    pub(crate) calls: u64,
    pub(crate) hits: u64,
}

/// The largest count-based window.
pub(crate) const MAX_COUNT_WINDOW: u32 = 1 << 16;

/// The last `n` outcomes, as a ring of slots `generation:30 | value:2`
/// (0 empty, 1 miss, 2 hit) and one summary word
/// `generation:24 | calls:20 | hits:20` kept equal to the ring's sum.
#[derive(Debug)]
pub(crate) struct CountWindow {
    slots: Box<[AtomicU32]>,
    /// `u64::MAX / len + 1`, for a modulo without a division.
    magic: u64,
    cursor: Padded<AtomicU32>,
    summary: Padded<AtomicU64>,
}

const FIELD: u64 = (1 << 20) - 1;

impl CountWindow {
    pub(crate) fn new(size: u32) -> CountWindow {
        let len = size.clamp(1, MAX_COUNT_WINDOW);
        CountWindow {
            slots: (0..len).map(|_| AtomicU32::new(0)).collect(),
            magic: (u64::MAX / u64::from(len)).wrapping_add(1),
            cursor: Padded::default(),
            summary: Padded::default(),
        }
    }

    pub(crate) fn len(&self) -> u32 {
        self.slots.len() as u32
    }

    #[inline]
    fn index(&self, n: u32) -> usize {
        // Lemire's fastmod: n % len with two multiplications.
        let low = self.magic.wrapping_mul(u64::from(n));
        ((u128::from(low) * self.slots.len() as u128) >> 64) as usize
    }

    #[inline]
    pub(crate) fn record(&self, generation: u32, hit: bool) {
        let n = self.cursor.0.fetch_add(1, Relaxed);
        let Some(slot) = self.slots.get(self.index(n)) else {
            return;
        };
        let tag = generation & 0x3fff_ffff;
        let new = (tag << 2) | (1 + u32::from(hit));
        let cur = slot.load(Relaxed);
        if cur == new {
            // The ring already holds this outcome here: the sums stand.
            return;
        }
        if later(u64::from(cur >> 2), u64::from(tag), 30) {
            return;
        }
        let old = slot.swap(new, Relaxed);
        let (was_call, was_hit) = if old >> 2 == tag {
            (old & 3 != 0, old & 3 == 2)
        } else {
            (false, false)
        };
        let calls = u64::from(!was_call);
        let hits = u64::from(hit).wrapping_sub(u64::from(was_hit));
        if calls != 0 || hits != 0 {
            self.add(generation, calls, hits);
        }
    }

    fn add(&self, generation: u32, calls: u64, hits: u64) {
        let tag = u64::from(generation & 0xff_ffff);
        let mut cur = self.summary.0.load(Relaxed);
        loop {
            let next = if cur >> 40 == tag {
                let c = ((cur >> 20) + calls) & FIELD;
                let h = cur.wrapping_add(hits) & FIELD;
                (tag << 40) | (c << 20) | h
            } else if later(tag, cur >> 40, 24) {
                // First record of a generation: the ring holds nothing of it
                // but what this call wrote.
                (tag << 40) | (calls << 20) | (hits & 1)
            } else {
                return;
            };
            match self
                .summary
                .0
                .compare_exchange_weak(cur, next, Relaxed, Relaxed)
            {
                Ok(_) => return,
                Err(actual) => cur = actual,
            }
        }
    }

    pub(crate) fn counts(&self, generation: u32) -> Counts {
        let cur = self.summary.0.load(Relaxed);
        if cur >> 40 != u64::from(generation & 0xff_ffff) {
            return Counts::default();
        }
        let calls = (cur >> 20) & FIELD;
        let hits = cur & FIELD;
        // A hit removed before its own add lands reads, for a moment, as a
        // field that wrapped below zero: larger than any window.
        let hits = if hits > u64::from(MAX_COUNT_WINDOW) {
            0
        } else {
            hits
        };
        Counts {
            calls,
            hits: hits.min(calls),
        }
    }
}

/// Buckets of a time-based window.
pub(crate) const TIME_BUCKETS: u64 = 10;

/// Outcomes of the last `span`, in [`TIME_BUCKETS`] buckets of `span / 10`
/// each; every bucket counter is `tag:32 | count:32` with the tag
/// `generation:8 | bucket index:24`.
#[derive(Debug)]
pub(crate) struct TimeWindow {
    width: u64,
    calls: Padded<[AtomicU64; TIME_BUCKETS as usize]>,
    hits: Padded<[AtomicU64; TIME_BUCKETS as usize]>,
}

impl TimeWindow {
    pub(crate) fn new(span_nanos: u64) -> TimeWindow {
        TimeWindow {
            width: (span_nanos / TIME_BUCKETS).max(1),
            calls: Padded::default(),
            hits: Padded::default(),
        }
    }

    fn tag(generation: u32, index: u64) -> u64 {
        (u64::from(generation & 0xff) << 24) | (index & 0xff_ffff)
    }

    #[inline]
    pub(crate) fn record(&self, generation: u32, hit: bool, now_nanos: u64) {
        let index = now_nanos / self.width;
        let tag = Self::tag(generation, index);
        let i = (index % TIME_BUCKETS) as usize;
        bump(&self.calls.0[i], tag);
        if hit {
            bump(&self.hits.0[i], tag);
        }
    }

    pub(crate) fn counts(&self, generation: u32, now_nanos: u64) -> Counts {
        let now = now_nanos / self.width;
        let live = |word: u64| {
            let tag = word >> 32;
            let age = (now & 0xff_ffff).wrapping_sub(tag & 0xff_ffff) & 0xff_ffff;
            tag >> 24 == u64::from(generation & 0xff) && age < TIME_BUCKETS
        };
        let sum = |cells: &[AtomicU64; TIME_BUCKETS as usize]| {
            cells
                .iter()
                .map(|c| c.load(Relaxed))
                .filter(|w| live(*w))
                .map(|w| w & 0xffff_ffff)
                .sum::<u64>()
        };
        let calls = sum(&self.calls.0);
        Counts {
            calls,
            hits: sum(&self.hits.0).min(calls),
        }
    }
}

#[inline]
fn bump(cell: &AtomicU64, tag: u64) {
    let cur = cell.load(Relaxed);
    if cur >> 32 == tag {
        if cur & 0xffff_ffff != 0xffff_ffff {
            cell.fetch_add(1, Relaxed);
        }
        return;
    }
    // The bucket holds an older period (or another generation): start it
    // afresh, unless a later period got there first.
    let mut cur = cur;
    loop {
        let cur_tag = cur >> 32;
        let next = if cur_tag == tag {
            cur.saturating_add(u64::from(cur as u32 != u32::MAX))
        } else if cur_tag >> 24 != tag >> 24 || later(tag, cur_tag, 24) {
            (tag << 32) | 1
        } else {
            return;
        };
        match cell.compare_exchange_weak(cur, next, Relaxed, Relaxed) {
            Ok(_) => return,
            Err(actual) => cur = actual,
        }
    }
}

#[cfg(test)]
mod tests;
