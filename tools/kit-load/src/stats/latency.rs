//! Latency percentiles from an HDR histogram, and how they are printed.

use std::fmt;
use std::time::Duration;

use hdrhistogram::Histogram;

use crate::Error;

/// The longest latency a histogram holds exactly (60 s); longer ones are
/// recorded as 60 s.
pub const MAX_TRACKED: Duration = Duration::from_secs(60);

/// A new histogram of nanoseconds, up to [`MAX_TRACKED`], three
/// significant figures (wrk keeps the same precision).
pub fn histogram() -> Result<Histogram<u64>, Error> {
    Histogram::new_with_bounds(1, MAX_TRACKED.as_nanos() as u64, 3)
        .map_err(|e| Error::invalid("histogram bounds", format!("{e:?}")))
}

/// Records one latency, clamping to the histogram's range.
pub(crate) fn record(hist: &mut Histogram<u64>, latency: Duration) {
    let ns = u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX);
    hist.saturating_record(ns.min(hist.high()));
}

/// A latency distribution in a few figures.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Latency {
    /// How many latencies were recorded.
    pub count: u64,
    /// The mean.
    pub mean: Duration,
    /// The median.
    pub p50: Duration,
    /// The 90th percentile.
    pub p90: Duration,
    /// The 99th percentile.
    pub p99: Duration,
    /// The largest.
    pub max: Duration,
}

impl Latency {
    /// The figures of a histogram of nanoseconds; all zero if it is empty.
    pub fn from_histogram(hist: &Histogram<u64>) -> Latency {
        if hist.is_empty() {
            return Latency::default();
        }
        let at = |q: f64| Duration::from_nanos(hist.value_at_quantile(q));
        Latency {
            count: hist.len(),
            mean: Duration::from_nanos(hist.mean() as u64),
            p50: at(0.50),
            p90: at(0.90),
            p99: at(0.99),
            max: Duration::from_nanos(hist.max()),
        }
    }
}

/// A duration the way wrk prints one: `812.00us`, `1.27ms`, `2.00s`.
#[derive(Clone, Copy, Debug)]
pub struct Short(pub Duration);

impl fmt::Display for Short {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0.as_secs_f64();
        let text = if secs < 1e-3 {
            format!("{:.0}us", secs * 1e6)
        } else if secs < 1.0 {
            format!("{:.2}ms", secs * 1e3)
        } else {
            format!("{secs:.2}s")
        };
        f.pad(&text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Within hdrhistogram's three significant figures.
    fn close(got: Duration, want: Duration) -> bool {
        got.abs_diff(want).as_secs_f64() <= want.as_secs_f64() * 2e-3
    }

    #[test]
    fn percentiles_of_known_inputs() {
        let mut hist = histogram().unwrap();
        for us in 1..=1000 {
            record(&mut hist, Duration::from_micros(us));
        }
        let l = Latency::from_histogram(&hist);
        assert_eq!(l.count, 1000);
        for (got, want) in [(l.p50, 500), (l.p90, 900), (l.p99, 990), (l.max, 1000)] {
            assert!(
                close(got, Duration::from_micros(want)),
                "{got:?} vs {want}us"
            );
        }
        assert!(close(l.mean, Duration::from_micros(500)), "{:?}", l.mean);
    }

    #[test]
    fn a_skewed_distribution_shows_in_the_tail_only() {
        let mut hist = histogram().unwrap();
        for _ in 0..980 {
            record(&mut hist, Duration::from_micros(100));
        }
        for _ in 0..20 {
            record(&mut hist, Duration::from_millis(50));
        }
        let l = Latency::from_histogram(&hist);
        assert!(close(l.p50, Duration::from_micros(100)), "{:?}", l.p50);
        assert!(close(l.p90, Duration::from_micros(100)), "{:?}", l.p90);
        assert!(close(l.p99, Duration::from_millis(50)), "{:?}", l.p99);
    }

    #[test]
    fn out_of_range_latencies_are_clamped_not_lost() {
        let mut hist = histogram().unwrap();
        record(&mut hist, Duration::from_secs(3600));
        record(&mut hist, Duration::ZERO);
        assert_eq!(hist.len(), 2);
        let l = Latency::from_histogram(&hist);
        assert!(close(l.max, MAX_TRACKED), "{:?}", l.max);
        assert_eq!(
            Latency::from_histogram(&histogram().unwrap()),
            Latency::default()
        );
    }

    #[test]
    fn short_durations_print_like_wrk() {
        assert_eq!(Short(Duration::from_micros(812)).to_string(), "812us");
        assert_eq!(Short(Duration::from_micros(1270)).to_string(), "1.27ms");
        assert_eq!(Short(Duration::from_secs(2)).to_string(), "2.00s");
        assert_eq!(
            format!("{:>8}", Short(Duration::from_micros(5))),
            "     5us"
        );
    }
}
