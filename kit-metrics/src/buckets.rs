//! Histogram buckets for service latencies.

/// The default latency buckets, in seconds: 0.5 ms to 10 s in a 1–2.5–5
/// progression, fine enough to tell a cache hit (sub-millisecond) from a
/// database call (milliseconds) from a timeout (seconds), in 14 buckets
/// (plus `+Inf`).
pub const DEFAULT_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Why a list of bucket bounds was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BucketsError {
    /// No bounds at all.
    #[error("histogram buckets must not be empty")]
    Empty,
    /// A bound is NaN or infinite (`+Inf` is always added by the exposition).
    #[error("histogram bucket bound #{0} is not finite")]
    NotFinite(usize),
    /// Bounds must strictly increase.
    #[error("histogram bucket bound #{0} is not above the one before it")]
    NotIncreasing(usize),
    /// More bounds than a scrape should carry per series.
    #[error("{0} histogram buckets is more than the limit of {MAX_BUCKETS}")]
    TooMany(usize),
}

/// The most bounds a histogram may have: each is one series per endpoint.
pub const MAX_BUCKETS: usize = 64;

/// Checks that `bounds` are usable: non-empty, finite, strictly increasing,
/// at most [`MAX_BUCKETS`].
pub fn validate(bounds: &[f64]) -> Result<(), BucketsError> {
    if bounds.is_empty() {
        return Err(BucketsError::Empty);
    }
    if bounds.len() > MAX_BUCKETS {
        return Err(BucketsError::TooMany(bounds.len()));
    }
    if let Some(i) = bounds.iter().position(|b| !b.is_finite()) {
        return Err(BucketsError::NotFinite(i));
    }
    if let Some(i) = bounds.windows(2).position(|w| w[1] <= w[0]) {
        return Err(BucketsError::NotIncreasing(i + 1));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn defaults_span_half_a_millisecond_to_ten_seconds() {
        validate(&DEFAULT_BUCKETS).unwrap();
        assert_eq!(DEFAULT_BUCKETS[0], 0.0005);
        assert_eq!(DEFAULT_BUCKETS[DEFAULT_BUCKETS.len() - 1], 10.0);
    }

    #[test]
    fn bad_bounds_are_refused() {
        assert_eq!(validate(&[]), Err(BucketsError::Empty));
        assert_eq!(validate(&[0.1, f64::NAN]), Err(BucketsError::NotFinite(1)));
        assert_eq!(validate(&[f64::INFINITY]), Err(BucketsError::NotFinite(0)));
        assert_eq!(validate(&[0.1, 0.1]), Err(BucketsError::NotIncreasing(1)));
        assert_eq!(
            validate(&[1.0, 2.0, 0.5]),
            Err(BucketsError::NotIncreasing(2))
        );
        let many: Vec<f64> = (0..65).map(f64::from).collect();
        assert_eq!(validate(&many), Err(BucketsError::TooMany(65)));
    }

    proptest! {
        #[test]
        fn accepts_exactly_the_sorted_finite_lists(bounds in proptest::collection::vec(any::<f64>(), 0..80)) {
            let ok = !bounds.is_empty()
                && bounds.len() <= MAX_BUCKETS
                && bounds.iter().all(|b| b.is_finite())
                && bounds.windows(2).all(|w| w[0] < w[1]);
            prop_assert_eq!(validate(&bounds).is_ok(), ok);
        }
    }
}
