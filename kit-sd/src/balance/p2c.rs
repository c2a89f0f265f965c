//! Power of two choices.

use std::fmt;
use std::task::{Context as TaskContext, Poll};

use kit_endpoint::Error;
use tower::load::Load;
use tower_service::Service;

use super::random::SeededRng;
use super::{Policy, cycle_from, first_ready};
use crate::Endpoints;

/// Power of two choices: draws two distinct endpoints at random and picks
/// the one with the lower [`Load`]; if that one is not ready, the other;
/// if neither is, the first ready endpoint from a random start.
///
/// With [`PeakEwma`](super::PeakEwma) endpoints the load is the peak-EWMA
/// latency times the requests in flight, so a slow or failing instance gets
/// little traffic until its estimate decays (Finagle's and linkerd's
/// balancer). Two choices rather than the least loaded of all keeps the
/// cost constant and avoids herding onto one instance.
///
/// Each clone picks with a generator of its own, seeded from a counter
/// the clones share, so clones never pick in lockstep.
#[derive(Clone)]
pub struct P2c {
    rng: SeededRng,
}

impl P2c {
    /// A p2c policy seeded by the operating system.
    pub fn new() -> P2c {
        P2c {
            rng: SeededRng::from_os(),
        }
    }

    /// A reproducible p2c policy.
    pub fn with_seed(seed: u64) -> P2c {
        P2c {
            rng: SeededRng::new(seed),
        }
    }
}

impl Default for P2c {
    fn default() -> Self {
        P2c::new()
    }
}

impl fmt::Debug for P2c {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("P2c").finish_non_exhaustive()
    }
}

impl<S, Req> Policy<S, Req> for P2c
where
    S: Service<Req, Error = Error> + Load + Clone,
{
    fn pick(
        &mut self,
        endpoints: &Endpoints<S>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Result<S, Error>> {
        let n = endpoints.len();
        if n < 2 {
            return first_ready(endpoints, 0..n, cx);
        }
        let a = self.rng.below(n);
        let mut b = self.rng.below(n - 1);
        if b >= a {
            b += 1;
        }
        let (la, lb) = match (endpoints.get(a), endpoints.get(b)) {
            (Some(sa), Some(sb)) => (sa.load(), sb.load()),
            _ => return first_ready(endpoints, cycle_from(a, n), cx),
        };
        let pair = if lb < la { [b, a] } else { [a, b] };
        match first_ready(endpoints, pair, cx) {
            Poll::Ready(Ok(svc)) => Poll::Ready(Ok(svc)),
            _ if n == 2 => first_ready(endpoints, pair, cx),
            _ => {
                let start = self.rng.below(n);
                first_ready(endpoints, cycle_from(start, n), cx)
            }
        }
    }
}
