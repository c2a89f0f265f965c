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

/// A source of independent random generators for the clones of a policy:
/// each clone draws its own seed from a shared counter, so clones never
/// pick in lockstep, and a seeded policy is reproducible.
pub(crate) struct Seeds {
    next: Arc<AtomicU64>,
}

impl Seeds {
    pub(crate) fn new(seed: u64) -> Seeds {
        Seeds {
            next: Arc::new(AtomicU64::new(seed)),
        }
    }

    pub(crate) fn from_os() -> Seeds {
        Seeds::new(rand::random())
    }

    pub(crate) fn rng(&self) -> SmallRng {
        // The golden-ratio step spreads consecutive seeds.
        SmallRng::seed_from_u64(
            self.next
                .fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed),
        )
    }

    pub(crate) fn share(&self) -> Seeds {
        Seeds {
            next: self.next.clone(),
        }
    }
}

/// Picks a uniformly random endpoint; one that is not ready is passed over
/// for the next in order. Go kit's `lb.NewRandom`, seeded or not.
pub struct Random {
    seeds: Seeds,
    rng: SmallRng,
}

impl Random {
    /// A random policy seeded by the operating system.
    pub fn new() -> Random {
        Random::from_seeds(Seeds::from_os())
    }

    /// A reproducible random policy.
    pub fn with_seed(seed: u64) -> Random {
        Random::from_seeds(Seeds::new(seed))
    }

    fn from_seeds(seeds: Seeds) -> Random {
        let rng = seeds.rng();
        Random { seeds, rng }
    }
}

impl Default for Random {
    fn default() -> Self {
        Random::new()
    }
}

impl Clone for Random {
    /// A policy with a generator of its own, seeded from the shared seeds.
    fn clone(&self) -> Self {
        Random::from_seeds(self.seeds.share())
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
        let start = self.rng.random_range(0..n.max(1));
        first_ready(endpoints, cycle_from(start, n), cx)
    }
}
