//! Round robin.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context as TaskContext, Poll};

use kit_endpoint::Error;
use tower_service::Service;

use super::{Policy, cycle_from, first_ready};
use crate::Endpoints;

/// Picks endpoints in turn, by one atomic counter shared by every clone;
/// an endpoint that is not ready is passed over for the next one.
///
/// With every endpoint ready, `k` picks over `n` endpoints give each
/// endpoint `k / n` picks, rounded up or down.
#[derive(Clone, Debug, Default)]
pub struct RoundRobin {
    next: Arc<AtomicUsize>,
}

impl RoundRobin {
    /// A round robin starting at the first endpoint.
    pub fn new() -> RoundRobin {
        RoundRobin::default()
    }
}

impl<S, Req> Policy<S, Req> for RoundRobin
where
    S: Service<Req, Error = Error> + Clone,
{
    fn pick(
        &mut self,
        endpoints: &Endpoints<S>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Result<S, Error>> {
        let n = endpoints.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed) % n.max(1);
        first_ready(endpoints, cycle_from(start, n), cx)
    }
}
