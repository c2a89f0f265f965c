//! How hard and how long to load: connections, streams, threads, durations.

use std::time::Duration;

use crate::Error;

/// The most connections (or gRPC channels) one run opens.
pub const MAX_CONNECTIONS: usize = 10_000;
/// The most concurrent requests per connection.
pub const MAX_STREAMS: usize = 1_000;
/// The most load-generator threads.
pub const MAX_THREADS: usize = 64;
/// The longest duration, warm-up or timeout accepted (a day), so that
/// deadlines computed from them never overflow.
pub const MAX_DURATION: Duration = Duration::from_secs(24 * 60 * 60);

/// How a scenario is driven. The defaults are wrk's `-t1 -c64` shape (the
/// settings Go kit's reference figures were taken with), for 10 s after a
/// 1 s warm-up, with wrk's 2 s request timeout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// Connections (HTTP) or channels (gRPC), each its own TCP connection.
    pub connections: usize,
    /// Requests in flight per connection: 1 for HTTP/1.1 (no pipelining,
    /// like wrk); up to [`MAX_STREAMS`] for HTTP/2 and gRPC.
    pub streams: usize,
    /// Load-generator threads, each a single-threaded runtime driving its
    /// share of the connections (wrk's `-t`).
    pub threads: usize,
    /// The measured window.
    pub duration: Duration,
    /// Load before the measured window: connections open, caches warm, and
    /// nothing is counted.
    pub warmup: Duration,
    /// A request still unanswered after this long is counted as a timeout
    /// and its connection replaced.
    pub timeout: Duration,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            connections: 64,
            streams: 1,
            threads: 1,
            duration: Duration::from_secs(10),
            warmup: Duration::from_secs(1),
            timeout: Duration::from_secs(2),
        }
    }
}

impl Settings {
    /// Checks every bound; [`run`](crate::Scenario::run) calls it first.
    pub fn validate(&self) -> Result<(), Error> {
        let range = |what: &'static str, value: usize, max: usize| {
            if value == 0 || value > max {
                Err(Error::invalid(what, format!("{value} is not in 1..={max}")))
            } else {
                Ok(())
            }
        };
        range("connections", self.connections, MAX_CONNECTIONS)?;
        range("streams", self.streams, MAX_STREAMS)?;
        range("threads", self.threads, MAX_THREADS)?;
        if self.threads > self.connections {
            return Err(Error::invalid(
                "threads",
                format!(
                    "{} threads for {} connections: each thread needs a connection",
                    self.threads, self.connections
                ),
            ));
        }
        for (what, value, zero_ok) in [
            ("duration", self.duration, false),
            ("warmup", self.warmup, true),
            ("timeout", self.timeout, false),
        ] {
            if (value.is_zero() && !zero_ok) || value > MAX_DURATION {
                return Err(Error::invalid(
                    what,
                    format!("{value:?} is not in (0, 24h]"),
                ));
            }
        }
        Ok(())
    }
}

/// Parses a duration the way wrk and Go do: a number and a unit, `ns`,
/// `us` (or `µs`), `ms`, `s`, `m` or `h`, e.g. `10s`, `500ms`, `1.5m`;
/// a bare number is seconds. Several parts add up: `1m30s`.
///
/// Negative, non-finite and longer-than-a-day durations are rejected.
pub fn parse_duration(text: &str) -> Result<Duration, Error> {
    let bad = |why: &str| Error::invalid("duration", format!("{text:?}: {why}"));
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(bad("empty; expected e.g. `10s` or `500ms`"));
    }
    if let Ok(secs) = trimmed.parse::<f64>() {
        return to_duration(secs).ok_or_else(|| bad("not a duration between 0 and 24h"));
    }
    let mut rest = trimmed;
    let mut total = 0.0_f64;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| bad("a number without a unit"))?;
        if number_len == 0 {
            return Err(bad("expected a number before each unit"));
        }
        let number: f64 = rest[..number_len]
            .parse()
            .map_err(|_| bad("not a number"))?;
        rest = &rest[number_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(bad("unknown unit; use ns, us, ms, s, m or h")),
        };
        total += number * scale;
        rest = &rest[unit_len..];
    }
    to_duration(total).ok_or_else(|| bad("not a duration between 0 and 24h"))
}

/// Seconds as a `Duration`, if finite, not negative and at most a day.
fn to_duration(secs: f64) -> Option<Duration> {
    (secs.is_finite() && secs >= 0.0 && secs <= MAX_DURATION.as_secs_f64())
        .then(|| Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_in_every_unit() {
        let cases = [
            ("10s", Duration::from_secs(10)),
            ("10", Duration::from_secs(10)),
            ("0.5", Duration::from_millis(500)),
            ("500ms", Duration::from_millis(500)),
            ("250us", Duration::from_micros(250)),
            ("250µs", Duration::from_micros(250)),
            ("1500ns", Duration::from_nanos(1500)),
            ("2m", Duration::from_secs(120)),
            ("1m30s", Duration::from_secs(90)),
            ("1h", Duration::from_secs(3600)),
            (" 3s ", Duration::from_secs(3)),
            ("0s", Duration::ZERO),
        ];
        for (text, want) in cases {
            let got = parse_duration(text).unwrap();
            let diff = got.abs_diff(want);
            assert!(
                diff < Duration::from_nanos(2),
                "{text}: {got:?} != {want:?}"
            );
        }
    }

    #[test]
    fn garbage_durations_are_rejected_with_the_input_quoted() {
        for text in [
            "", " ", "s", "10x", "ten", "-1s", "-5", "1e400", "NaN", "inf", "25h", "1..5s", "10 s",
            "5s-", "ms10",
        ] {
            let err = parse_duration(text).unwrap_err().to_string();
            assert!(err.starts_with("invalid duration"), "{text:?}: {err}");
            assert!(err.contains(&format!("{text:?}")), "{text:?}: {err}");
        }
    }

    #[test]
    fn settings_bounds_are_enforced() {
        assert!(Settings::default().validate().is_ok());
        let bad = [
            Settings {
                connections: 0,
                ..Settings::default()
            },
            Settings {
                connections: MAX_CONNECTIONS + 1,
                ..Settings::default()
            },
            Settings {
                streams: 0,
                ..Settings::default()
            },
            Settings {
                threads: 0,
                ..Settings::default()
            },
            Settings {
                threads: 4,
                connections: 2,
                ..Settings::default()
            },
            Settings {
                duration: Duration::ZERO,
                ..Settings::default()
            },
            Settings {
                timeout: Duration::ZERO,
                ..Settings::default()
            },
            Settings {
                warmup: MAX_DURATION * 2,
                ..Settings::default()
            },
        ];
        for settings in bad {
            assert!(settings.validate().is_err(), "{settings:?}");
        }
        let zero_warmup = Settings {
            warmup: Duration::ZERO,
            ..Settings::default()
        };
        assert!(zero_warmup.validate().is_ok());
    }
}
