//! The farm's policies: write quorum, read strategy, repair strategy.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use crate::redis::ConfigError;

/// How many replicas must accept a write before it is acknowledged
/// (`-farm.write.quorum`): a count, or a percentage of the replicas
/// rounded up.
///
/// ```
/// use stream::farm::Quorum;
///
/// let q: Quorum = "51%".parse().unwrap();
/// assert_eq!([1, 2, 3, 5].map(|n| q.of(n).unwrap()), [1, 2, 2, 3]);
/// assert_eq!("2".parse::<Quorum>().unwrap().of(3), Ok(2));
/// assert!("4".parse::<Quorum>().unwrap().of(3).is_err());
/// assert!("0%".parse::<Quorum>().is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Quorum {
    /// Exactly this many replicas.
    Count(usize),
    /// This percentage of the replicas, rounded up.
    Percent(f64),
}

impl Default for Quorum {
    /// roshi-server's `51%`.
    fn default() -> Quorum {
        Quorum::Percent(51.0)
    }
}

impl Quorum {
    /// The number of replicas out of `n`; it must land in `1..=n`.
    pub fn of(self, n: usize) -> Result<usize, ConfigError> {
        let q = match self {
            Quorum::Count(q) => q,
            Quorum::Percent(p) => (p / 100.0 * n as f64).ceil() as usize,
        };
        if (1..=n).contains(&q) {
            Ok(q)
        } else {
            Err(ConfigError::Invalid(format!(
                "write quorum {self} is {q} of {n} replicas; it must be between 1 and {n}"
            )))
        }
    }
}

impl FromStr for Quorum {
    type Err = ConfigError;
    fn from_str(s: &str) -> Result<Quorum, ConfigError> {
        let bad = || ConfigError::Invalid(format!("invalid write quorum {s:?}: want N or P%"));
        let t = s.trim();
        if let Some(p) = t.strip_suffix('%') {
            let p: f64 = p.trim().parse().map_err(|_| bad())?;
            if !p.is_finite() || p <= 0.0 || p > 100.0 {
                return Err(bad());
            }
            Ok(Quorum::Percent(p))
        } else {
            t.parse().map(Quorum::Count).map_err(|_| bad())
        }
    }
}

impl fmt::Display for Quorum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Quorum::Count(n) => write!(f, "{n}"),
            Quorum::Percent(p) => write!(f, "{p}%"),
        }
    }
}

/// How a select reads the replicas (`-farm.read.strategy`, names matched
/// case-insensitively).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadStrategy {
    /// One replica (in turn); keys it fails are asked of the next.
    SendOneReadOne,
    /// Every replica, waiting for all; the answer is the union, resolved
    /// by the core's rules where replicas differ, which are repaired.
    SendAllReadAll,
    /// Every replica; the answer comes with the first complete response,
    /// the rest are collected for repair.
    SendAllReadFirstLinger,
    /// Every replica while the permit bucket (`rate` keys a second) has
    /// tokens; otherwise one replica, and the others too if it has not
    /// answered within `latency`. Answers at the first complete response.
    SendVarReadFirstLinger {
        /// Keys a second that may be read from every replica.
        rate: u32,
        /// How long a read from one replica may take before it is sent to
        /// the others.
        latency: Duration,
    },
}

impl Default for ReadStrategy {
    /// roshi-server's `SendAllReadAll`.
    fn default() -> ReadStrategy {
        ReadStrategy::SendAllReadAll
    }
}

impl ReadStrategy {
    /// The strategy named `name`, with `rate` and `latency` for
    /// `SendVarReadFirstLinger` (`-farm.read.threshold.rate`, `.latency`).
    pub fn parse(name: &str, rate: u32, latency: Duration) -> Result<ReadStrategy, ConfigError> {
        match name.trim().to_ascii_lowercase().as_str() {
            "sendonereadone" => Ok(ReadStrategy::SendOneReadOne),
            "sendallreadall" => Ok(ReadStrategy::SendAllReadAll),
            "sendallreadfirstlinger" => Ok(ReadStrategy::SendAllReadFirstLinger),
            "sendvarreadfirstlinger" => Ok(ReadStrategy::SendVarReadFirstLinger { rate, latency }),
            _ => Err(ConfigError::Invalid(format!(
                "unknown read strategy {name:?} (want SendOneReadOne, SendAllReadAll, \
                 SendAllReadFirstLinger or SendVarReadFirstLinger)"
            ))),
        }
    }
}

/// What happens to the differences reads find (`-farm.repair.strategy`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RepairStrategy {
    /// Nothing.
    NoRepairs,
    /// Every difference is queued and repaired.
    AllRepairs,
    /// Queued and repaired at most `keys_per_second` key-members a second
    /// (a refilling limit, unlike Roshi's).
    RateLimitedRepairs {
        /// Key-members repaired a second (`-farm.repair.max.keys.per.second`).
        keys_per_second: u32,
    },
}

impl Default for RepairStrategy {
    /// roshi-server's `RateLimitedRepairs` at 1,000 keys a second.
    fn default() -> RepairStrategy {
        RepairStrategy::RateLimitedRepairs {
            keys_per_second: 1000,
        }
    }
}

impl RepairStrategy {
    /// The strategy named `name`, with the rate for `RateLimitedRepairs`.
    pub fn parse(name: &str, keys_per_second: u32) -> Result<RepairStrategy, ConfigError> {
        match name.trim().to_ascii_lowercase().as_str() {
            "norepairs" => Ok(RepairStrategy::NoRepairs),
            "allrepairs" => Ok(RepairStrategy::AllRepairs),
            "ratelimitedrepairs" if keys_per_second > 0 => {
                Ok(RepairStrategy::RateLimitedRepairs { keys_per_second })
            }
            "ratelimitedrepairs" => Err(ConfigError::Invalid(
                "RateLimitedRepairs needs a rate above 0".into(),
            )),
            _ => Err(ConfigError::Invalid(format!(
                "unknown repair strategy {name:?} (want AllRepairs, NoRepairs or RateLimitedRepairs)"
            ))),
        }
    }
}

/// Everything a [`Farm`](super::Farm) needs besides its replicas.
#[derive(Clone, Debug)]
pub struct FarmOptions {
    /// Replicas that must accept a write.
    pub write_quorum: Quorum,
    /// How selects read.
    pub read_strategy: ReadStrategy,
    /// What happens to differences.
    pub repair_strategy: RepairStrategy,
    /// Repair requests that may wait; more are dropped (and counted).
    pub repair_queue: usize,
    /// Writes one replica may have in flight, acknowledged or not; past
    /// that, writes to it fail at once (and it is repaired later), so a
    /// slow replica holds bounded memory and never slows the others.
    pub max_in_flight: usize,
}

impl Default for FarmOptions {
    fn default() -> FarmOptions {
        FarmOptions {
            write_quorum: Quorum::default(),
            read_strategy: ReadStrategy::default(),
            repair_strategy: RepairStrategy::default(),
            repair_queue: 256,
            max_in_flight: 1024,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn quorums() {
        let q = |s: &str| s.parse::<Quorum>();
        assert_eq!(q("51%").unwrap().of(5), Ok(3));
        assert_eq!(q("100%").unwrap().of(3), Ok(3));
        assert_eq!(q(" 1 ").unwrap().of(1), Ok(1));
        assert_eq!(q("33.4%").unwrap().of(3), Ok(2));
        assert!(q("0").unwrap().of(3).is_err());
        for bad in [
            "", "%", "-1", "x", "101%", "0%", "nan%", "inf%", "1.5", "50%%",
        ] {
            assert!(q(bad).is_err(), "{bad:?}");
        }
        assert_eq!(Quorum::Percent(51.0).to_string(), "51%");
    }

    #[test]
    fn strategy_names() {
        let d = Duration::from_millis(50);
        assert_eq!(
            ReadStrategy::parse("sendonereadone", 1, d),
            Ok(ReadStrategy::SendOneReadOne)
        );
        assert_eq!(
            ReadStrategy::parse("SendVarReadFirstLinger", 7, d),
            Ok(ReadStrategy::SendVarReadFirstLinger {
                rate: 7,
                latency: d
            })
        );
        assert!(ReadStrategy::parse("SendSome", 1, d).is_err());
        assert_eq!(
            RepairStrategy::parse("NOREPAIRS", 0),
            Ok(RepairStrategy::NoRepairs)
        );
        assert!(RepairStrategy::parse("RateLimitedRepairs", 0).is_err());
        assert!(RepairStrategy::parse("", 5).is_err());
    }

    proptest! {
        #[test]
        fn quorum_garbage_never_panics(s in "\\PC{0,12}", n in 0usize..9) {
            if let Ok(k) = s.parse::<Quorum>().and_then(|q| q.of(n)) {
                prop_assert!((1..=n).contains(&k));
            }
        }
    }
}
