//! What each request came to: a status, a gRPC code, or a failure.

use std::collections::BTreeMap;

/// The outcome of every request in a run's measured window.
///
/// For kit-load's own engine every request lands in exactly one bucket
/// (connect errors aside, which happen before a request is sent), so
/// [`Outcomes::total`] equals the report's request count. wrk reports
/// only "non-2xx or 3xx" rather than each status; those figures land in
/// `ok_other` and `failed_other`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcomes {
    /// HTTP responses by status.
    pub http: BTreeMap<u16, u64>,
    /// gRPC replies by `grpc-status` code (0 is OK).
    pub grpc: BTreeMap<i32, u64>,
    /// Successful responses whose exact status is not known (wrk).
    pub ok_other: u64,
    /// Failed responses whose exact status is not known (wrk's "non-2xx
    /// or 3xx").
    pub failed_other: u64,
    /// Connections that could not be opened. Not requests: each is one
    /// attempt to connect.
    pub connect_errors: u64,
    /// Requests that failed on the wire (reset, closed mid-response,
    /// malformed response, a gRPC transport error).
    pub io_errors: u64,
    /// Requests unanswered within the timeout.
    pub timeouts: u64,
}

impl Outcomes {
    /// Whether an HTTP status counts as success: 2xx and 3xx, as wrk counts.
    pub fn http_ok(status: u16) -> bool {
        (200..400).contains(&status)
    }

    /// Requests answered successfully: 2xx/3xx, gRPC OK, `ok_other`.
    pub fn successes(&self) -> u64 {
        let http: u64 = self
            .http
            .iter()
            .filter(|(s, _)| Outcomes::http_ok(**s))
            .map(|(_, n)| n)
            .sum();
        http + self.grpc.get(&0).copied().unwrap_or(0) + self.ok_other
    }

    /// Responses of any status or code.
    pub fn responses(&self) -> u64 {
        self.http.values().sum::<u64>()
            + self.grpc.values().sum::<u64>()
            + self.ok_other
            + self.failed_other
    }

    /// Every request outcome: responses, I/O errors and timeouts (not
    /// connect errors, which are not requests).
    pub fn total(&self) -> u64 {
        self.responses() + self.io_errors + self.timeouts
    }

    /// Every failure: error statuses and codes, connect and I/O errors,
    /// timeouts.
    pub fn errors(&self) -> u64 {
        self.total() - self.successes() + self.connect_errors
    }

    /// Adds another run's outcomes to these.
    pub fn merge(&mut self, other: &Outcomes) {
        for (status, n) in &other.http {
            *self.http.entry(*status).or_default() += n;
        }
        for (code, n) in &other.grpc {
            *self.grpc.entry(*code).or_default() += n;
        }
        self.ok_other += other.ok_other;
        self.failed_other += other.failed_other;
        self.connect_errors += other.connect_errors;
        self.io_errors += other.io_errors;
        self.timeouts += other.timeouts;
    }

    /// The failures, one `label=count` each, e.g. `500=12 connect=1`;
    /// empty when there were none.
    pub fn error_summary(&self) -> String {
        let mut parts = Vec::new();
        for (status, n) in &self.http {
            if !Outcomes::http_ok(*status) {
                parts.push(format!("{status}={n}"));
            }
        }
        for (code, n) in &self.grpc {
            if *code != 0 {
                let name = format!("{:?}", tonic::Code::from_i32(*code));
                parts.push(format!("grpc:{name}={n}"));
            }
        }
        for (label, n) in [
            ("non-2xx/3xx", self.failed_other),
            ("connect", self.connect_errors),
            ("io", self.io_errors),
            ("timeout", self.timeouts),
        ] {
            if n > 0 {
                parts.push(format!("{label}={n}"));
            }
        }
        parts.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Outcomes {
        Outcomes {
            http: BTreeMap::from([(200, 90), (301, 2), (404, 3), (500, 5)]),
            grpc: BTreeMap::from([(0, 10), (13, 1)]),
            connect_errors: 4,
            io_errors: 2,
            timeouts: 1,
            ..Outcomes::default()
        }
    }

    #[test]
    fn totals_add_up() {
        let o = sample();
        assert_eq!(o.responses(), 111);
        assert_eq!(o.total(), 114);
        assert_eq!(o.successes(), 102);
        assert_eq!(o.errors(), 3 + 5 + 1 + 4 + 2 + 1);
        assert_eq!(
            o.error_summary(),
            "404=3 500=5 grpc:Internal=1 connect=4 io=2 timeout=1"
        );
        assert_eq!(Outcomes::default().error_summary(), "");
    }

    #[test]
    fn merging_adds_every_bucket() {
        let mut o = sample();
        o.merge(&sample());
        assert_eq!(o.total(), 228);
        assert_eq!(o.http[&500], 10);
        assert_eq!(o.grpc[&13], 2);
        assert_eq!(o.connect_errors, 8);
        assert_eq!(o.errors(), 2 * sample().errors());
    }
}
