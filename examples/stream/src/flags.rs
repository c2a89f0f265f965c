//! Go-style command lines, so roshi-server's and roshi-walker's flags work
//! unchanged: `-flag value`, `-flag=value`, `--flag`, and Go's durations.

use std::time::Duration;

/// Rewrites Go-style single-dash long flags (`-redis.instances x`,
/// `-once`) into clap's double-dash form, leaving short flags (`-h`),
/// `--` and values alone, so roshi-server's command lines work as they
/// are.
///
/// ```
/// let args = stream::flags::go_flags(["walker", "-once", "-batch.size=10", "--x", "-h", "-5"]);
/// assert_eq!(args, ["walker", "--once", "--batch.size=10", "--x", "-h", "-5"]);
/// ```
pub fn go_flags<I, S>(args: I) -> Vec<String>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    args.into_iter()
        .map(Into::into)
        .map(|a| {
            let long = a.len() > 2
                && a.starts_with('-')
                && !a.starts_with("--")
                && a.as_bytes()[1].is_ascii_alphabetic();
            if long { format!("-{a}") } else { a }
        })
        .collect()
}

/// A Go duration (`300ms`, `1.5s`, `2m30s`, `1h`, `10us`, `0`), as Roshi's
/// flags take them.
pub fn parse_go_duration(s: &str) -> Result<Duration, String> {
    let bad = || format!("invalid duration {s:?} (want e.g. 300ms, 1.5s, 2m30s)");
    let t = s.trim();
    if t == "0" {
        return Ok(Duration::ZERO);
    }
    let mut rest = t;
    let mut total = 0f64;
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        let (num, tail) = rest.split_at(num_len);
        let value: f64 = num.parse().map_err(|_| bad())?;
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_len);
        let secs = match unit {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(bad()),
        };
        total += value * secs;
        rest = tail;
    }
    Duration::try_from_secs_f64(total).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn odd_arguments_pass_through() {
        let args = ["x", "", "-", "--", "-é", "-1.5", "é"];
        assert_eq!(go_flags(args), args);
    }

    #[test]
    fn go_durations() {
        for (s, d) in [
            ("0", Duration::ZERO),
            ("300ms", Duration::from_millis(300)),
            ("1.5s", Duration::from_millis(1500)),
            ("2m30s", Duration::from_secs(150)),
            ("1h", Duration::from_secs(3600)),
            ("10us", Duration::from_micros(10)),
        ] {
            assert_eq!(parse_go_duration(s), Ok(d), "{s}");
        }
        for s in ["", "s", "10", "1x", "-1s", "1e400s", "NaNs"] {
            assert!(parse_go_duration(s).is_err(), "{s:?}");
        }
    }

    proptest! {
        #[test]
        fn never_panics(args in proptest::collection::vec(".*", 0..8), d in ".*") {
            let _ = go_flags(args);
            let _ = parse_go_duration(&d);
        }
    }
}
