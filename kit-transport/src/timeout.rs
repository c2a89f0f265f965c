//! Deadlines on the wire: gRPC's `grpc-timeout` and kit's HTTP header.
//!
//! gRPC sends the time left as `grpc-timeout: <digits><unit>` (at most 8
//! digits; units `H M S m u n`). HTTP has no standard header for it, so kit
//! defines one: **`kit-timeout-ms`**, the time left in whole milliseconds as
//! a decimal integer (at most 10 digits, like Connect's `Connect-Timeout-Ms`).
//! A server sets the request context's deadline from it; a client sends the
//! time its context has left. Relative times are used on purpose: clocks of
//! two hosts disagree, durations don't.

use std::time::Duration;

use http::{HeaderMap, HeaderValue};
use kit_endpoint::Error;

/// kit's HTTP deadline header: milliseconds left, as a decimal integer.
pub const KIT_TIMEOUT_MS: &str = "kit-timeout-ms";

/// gRPC's deadline header.
pub const GRPC_TIMEOUT: &str = "grpc-timeout";

/// Parses a `kit-timeout-ms` value.
pub fn parse_timeout_ms(value: &[u8]) -> Result<Duration, Error> {
    if value.is_empty() || value.len() > 10 || !value.iter().all(u8::is_ascii_digit) {
        return Err(Error::invalid_argument(format!(
            "invalid {KIT_TIMEOUT_MS} header: expected 1 to 10 digits of milliseconds"
        )));
    }
    let ms = value.iter().fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
    Ok(Duration::from_millis(ms))
}

/// Formats a `kit-timeout-ms` value, rounding up to a whole millisecond.
pub fn format_timeout_ms(left: Duration) -> HeaderValue {
    let ms = left.as_nanos().div_ceil(1_000_000).min(9_999_999_999);
    HeaderValue::from(ms as u64)
}

/// Parses a `grpc-timeout` value.
pub fn parse_grpc_timeout(value: &[u8]) -> Result<Duration, Error> {
    let bad = || Error::invalid_argument(format!("invalid {GRPC_TIMEOUT} header"));
    let (&unit, digits) = value.split_last().ok_or_else(bad)?;
    if digits.is_empty() || digits.len() > 8 || !digits.iter().all(u8::is_ascii_digit) {
        return Err(bad());
    }
    let n = digits
        .iter()
        .fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
    Ok(match unit {
        b'H' => Duration::from_secs(n * 3600),
        b'M' => Duration::from_secs(n * 60),
        b'S' => Duration::from_secs(n),
        b'm' => Duration::from_millis(n),
        b'u' => Duration::from_micros(n),
        b'n' => Duration::from_nanos(n),
        _ => return Err(bad()),
    })
}

/// Formats a `grpc-timeout` value with the finest unit that fits in 8 digits.
pub fn format_grpc_timeout(left: Duration) -> HeaderValue {
    const MAX: u128 = 99_999_999;
    let nanos = left.as_nanos();
    let candidates = [
        (1, 'n'),
        (1_000, 'u'),
        (1_000_000, 'm'),
        (1_000_000_000, 'S'),
        (60_000_000_000, 'M'),
        (3_600_000_000_000, 'H'),
    ];
    for (per, unit) in candidates {
        let n = nanos.div_ceil(per);
        if n <= MAX {
            return HeaderValue::from_str(&format!("{n}{unit}"))
                .unwrap_or(HeaderValue::from_static("99999999H"));
        }
    }
    HeaderValue::from_static("99999999H")
}

/// The deadline a request's headers ask for: `grpc-timeout` if present,
/// else `kit-timeout-ms`. A malformed value is an `InvalidArgument` error.
pub fn from_headers(headers: &HeaderMap) -> Result<Option<Duration>, Error> {
    if let Some(v) = headers.get(GRPC_TIMEOUT) {
        return parse_grpc_timeout(v.as_bytes()).map(Some);
    }
    if let Some(v) = headers.get(KIT_TIMEOUT_MS) {
        return parse_timeout_ms(v.as_bytes()).map(Some);
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn grpc_units() {
        for (s, d) in [
            ("1H", Duration::from_secs(3600)),
            ("2M", Duration::from_secs(120)),
            ("3S", Duration::from_secs(3)),
            ("100m", Duration::from_millis(100)),
            ("5u", Duration::from_micros(5)),
            ("99999999n", Duration::from_nanos(99_999_999)),
        ] {
            assert_eq!(parse_grpc_timeout(s.as_bytes()).unwrap(), d, "{s}");
        }
    }

    #[test]
    fn garbage_is_rejected() {
        for s in [
            "",
            "m",
            "1",
            "1x",
            "123456789m",
            "-1m",
            "1.5S",
            " 1S",
            "1S ",
            "１S",
            "💥",
        ] {
            assert!(parse_grpc_timeout(s.as_bytes()).is_err(), "grpc {s:?}");
        }
        for s in ["", "-1", "1.5", "12345678901", "1e3", " 1", "abc"] {
            assert!(parse_timeout_ms(s.as_bytes()).is_err(), "ms {s:?}");
        }
        assert!(parse_grpc_timeout(&[0xff, b'S']).is_err());
    }

    #[test]
    fn headers_prefer_grpc_timeout() {
        let mut h = HeaderMap::new();
        assert_eq!(from_headers(&h).unwrap(), None);
        h.insert(KIT_TIMEOUT_MS, HeaderValue::from_static("250"));
        assert_eq!(from_headers(&h).unwrap(), Some(Duration::from_millis(250)));
        h.insert(GRPC_TIMEOUT, HeaderValue::from_static("1S"));
        assert_eq!(from_headers(&h).unwrap(), Some(Duration::from_secs(1)));
        h.insert(GRPC_TIMEOUT, HeaderValue::from_static("soon"));
        assert!(from_headers(&h).is_err());
    }

    proptest! {
        #[test]
        fn grpc_format_round_trips_without_shortening(nanos in 0u64..u64::MAX / 2) {
            let d = Duration::from_nanos(nanos);
            let back = parse_grpc_timeout(format_grpc_timeout(d).as_bytes()).unwrap();
            // Rounding is always up, so a deadline never shrinks in transit,
            // and never by more than one unit.
            prop_assert!(back >= d);
        }

        #[test]
        fn ms_format_round_trips(ms in 0u64..9_999_999_999) {
            let d = Duration::from_millis(ms);
            prop_assert_eq!(parse_timeout_ms(format_timeout_ms(d).as_bytes()).unwrap(), d);
        }

        #[test]
        fn parsers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..16)) {
            let _ = parse_grpc_timeout(&bytes);
            let _ = parse_timeout_ms(&bytes);
        }
    }
}
