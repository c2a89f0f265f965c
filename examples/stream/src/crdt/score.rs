//! `Score`: a finite `f64` with a total order.

use std::cmp::Ordering;
use std::fmt;

/// An event's score, normally a Unix timestamp: a finite `f64`.
///
/// NaN and the infinities are rejected at construction, and `-0` becomes
/// `0` (Roshi returns `-0` as `0` too), so every score has one bit pattern
/// and the order is total: `Score` is `Ord`, `Eq` and `Hash`.
///
/// ```
/// use stream::crdt::Score;
///
/// let s = Score::new(1.5).unwrap();
/// assert!(s > Score::new(-3.0).unwrap());
/// assert_eq!(Score::new(-0.0).unwrap().get().to_bits(), 0);
/// assert!(Score::new(f64::NAN).is_err());
/// assert!(Score::new(f64::INFINITY).is_err());
/// ```
#[derive(Clone, Copy)]
pub struct Score(f64);

/// The error for a NaN or infinite score.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("score must be a finite number")]
pub struct NonFiniteScore;

impl Score {
    /// Zero.
    pub const ZERO: Score = Score(0.0);

    /// A score, if `value` is finite. `-0` is normalised to `0`.
    pub fn new(value: f64) -> Result<Score, NonFiniteScore> {
        if !value.is_finite() {
            return Err(NonFiniteScore);
        }
        // `-0.0 + 0.0` is `+0.0`; every other value is unchanged.
        Ok(Score(value + 0.0))
    }

    /// The value.
    pub fn get(self) -> f64 {
        self.0
    }

    /// A `u64` whose unsigned order is the order of scores, for ordered
    /// keys in a storage engine.
    pub fn to_ordered_bits(self) -> u64 {
        let bits = self.0.to_bits();
        if bits >> 63 == 1 {
            !bits
        } else {
            bits | (1 << 63)
        }
    }

    /// The inverse of [`to_ordered_bits`](Score::to_ordered_bits); `None` if
    /// the bits are not those of a finite, normalised score.
    pub fn from_ordered_bits(ordered: u64) -> Option<Score> {
        let bits = if ordered >> 63 == 1 {
            ordered & !(1 << 63)
        } else {
            !ordered
        };
        let score = Score::new(f64::from_bits(bits)).ok()?;
        (score.0.to_bits() == bits).then_some(score)
    }
}

impl PartialEq for Score {
    fn eq(&self, other: &Score) -> bool {
        self.0.to_bits() == other.0.to_bits()
    }
}

impl Eq for Score {}

impl PartialOrd for Score {
    fn partial_cmp(&self, other: &Score) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Score {
    fn cmp(&self, other: &Score) -> Ordering {
        self.0.total_cmp(&other.0)
    }
}

impl std::hash::Hash for Score {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.to_bits().hash(state);
    }
}

impl fmt::Debug for Score {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for Score {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl TryFrom<f64> for Score {
    type Error = NonFiniteScore;
    fn try_from(value: f64) -> Result<Score, NonFiniteScore> {
        Score::new(value)
    }
}

impl From<Score> for f64 {
    fn from(score: Score) -> f64 {
        score.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn non_finite_is_rejected() {
        for v in [f64::NAN, -f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            assert_eq!(Score::new(v), Err(NonFiniteScore));
        }
        assert!(Score::new(f64::MAX).is_ok());
        assert!(Score::new(f64::MIN_POSITIVE / 2.0).is_ok());
    }

    #[test]
    fn negative_zero_is_zero() {
        let z = Score::new(-0.0).unwrap();
        assert_eq!(z, Score::ZERO);
        assert_eq!(z.get().to_bits(), 0);
        assert!(Score::new(-1e-300).unwrap() < z);
    }

    proptest! {
        #[test]
        fn ordered_bits_keep_order_and_round_trip(a in any::<f64>(), b in any::<f64>()) {
            if let (Ok(a), Ok(b)) = (Score::new(a), Score::new(b)) {
                prop_assert_eq!(a.cmp(&b), a.to_ordered_bits().cmp(&b.to_ordered_bits()));
                prop_assert_eq!(Score::from_ordered_bits(a.to_ordered_bits()), Some(a));
            }
        }

        #[test]
        fn order_matches_f64_order(a in -1e300f64..1e300, b in -1e300f64..1e300) {
            let (sa, sb) = (Score::new(a).unwrap(), Score::new(b).unwrap());
            if a < b { prop_assert!(sa < sb) }
            if a == b { prop_assert_eq!(sa, sb) }
        }

        #[test]
        fn garbage_ordered_bits_never_panic(bits in any::<u64>()) {
            if let Some(s) = Score::from_ordered_bits(bits) {
                prop_assert_eq!(s.to_ordered_bits(), bits);
            }
        }
    }
}
