//! A fixed list of instances (feature `static`).

use crate::{Instance, Instancer, instancer};

/// An instancer that always publishes these instances and never fails.
///
/// ```
/// use kit_sd::fixed;
///
/// let instancer = fixed::instancer(["b:80", "a:80"]);
/// let state = instancer.state();
/// assert_eq!(state.instances().len(), 2);
/// assert!(state.is_healthy());
/// ```
pub fn instancer<I>(instances: impl IntoIterator<Item = I>) -> Instancer
where
    I: Into<Instance>,
{
    let (publisher, instancer) = instancer::channel();
    publisher.update(instances.into_iter().map(Into::into));
    // Dropping the publisher leaves the state as it is: a fixed set.
    instancer
}
