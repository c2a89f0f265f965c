//! Uniformly random choice.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context as TaskContext, Poll};

use kit_endpoint::Error;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use tower_service::Service;

use super::{Policy, cycle_from, first_ready};
use crate::Endpoints;

/// A random generator per clone of a policy: each clone draws its own seed
/// from a counter the clones share, so clones never pick in lockstep, and
/// a seeded policy is reproducible.
pub(crate) struct SeededRng {
    next: Arc<AtomicU64>,
    rng: SmallRng,
}

impl SeededRng {
    pub(crate) fn new(seed: u64) -> SeededRng {
        SeededRng::sharing(Arc::new(AtomicU64::new(seed)))
    }

    pub(crate) fn from_os() -> SeededRng {
        SeededRng::new(rand::random())
    }

    fn sharing(next: Arc<AtomicU64>) -> SeededRng {
        // The golden-ratio step spreads consecutive seeds.
        let seed = next.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed);
        SeededRng {
            next,
            rng: SmallRng::seed_from_u64(seed),
        }
    }

    /// An index in `0..n` (`n` > 0).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        self.rng.random_range(0..n)
    }
}

impl Clone for SeededRng {
    /// A generator of its own, seeded from the shared counter.
    fn clone(&self) -> Self {
        SeededRng::sharing(self.next.clone())
    }
}

/// Picks a uniformly random endpoint; one that is not ready is passed over
/// for the next in order. Go kit's `lb.NewRandom`, seeded or not.
///
/// Each clone picks with a generator of its own, seeded from a counter
/// the clones share, so clones never pick in lockstep.
#[derive(Clone)]
pub struct Random {
    rng: SeededRng,
}

impl Random {
    /// A random policy seeded by the operating system.
    pub fn new() -> Random {
        Random {
            rng: SeededRng::from_os(),
        }
    }

    /// A reproducible random policy.
    pub fn with_seed(seed: u64) -> Random {
        Random {
            rng: SeededRng::new(seed),
        }
    }
}

impl Default for Random {
    fn default() -> Self {
        Random::new()
    }
}

impl fmt::Debug for Random {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Random").finish_non_exhaustive()
    }
}

impl<S, Req> Policy<S, Req> for Random
where
    S: Service<Req, Error = Error> + Clone,
{
    fn pick(
        &mut self,
        endpoints: &Endpoints<S>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Result<S, Error>> {
        let n = endpoints.len();
        let start = self.rng.below(n.max(1));
        first_ready(endpoints, cycle_from(start, n), cx)
    }
}
