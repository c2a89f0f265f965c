//! `Endpointer`: one cached endpoint per discovered instance.
//!
//! Go kit's Endpointer, with the same rules: a user [`Factory`] builds one
//! endpoint per instance; instances that stay keep their endpoint; removed
//! ones are dropped (which closes them); a factory error skips that
//! instance. On a registry error the last good set keeps serving, marked
//! [stale](Endpoints::is_stale); with [`Builder::invalidate_on_error`] the
//! set is dropped once the errors have lasted that long, and callers get
//! `Unavailable` until the registry answers again.
//!
//! The endpointer is a small task that follows the [`Instancer`] and
//! publishes an immutable [`Endpoints`] snapshot through a
//! [`tokio::sync::watch`]; balancers read the latest snapshot without
//! locking it for longer than an `Arc` clone. The task ends when every
//! clone of the `Endpointer` (and every balancer over it) is gone.

mod endpoints;
mod factory;
#[cfg(test)]
mod tests;

pub use self::endpoints::Endpoints;
pub use self::factory::Factory;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::{Instant, sleep_until};

use crate::instancer::State;
use crate::{Instance, Instancer};

/// Endpoints for the instances an [`Instancer`] publishes. See the
/// [module docs](self).
///
/// ```
/// use kit_endpoint::{Endpoint, Error, endpoint_fn};
/// use kit_sd::{Endpointer, Instance, instancer};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let (publisher, instancer) = instancer::channel();
/// publisher.update(["a:1", "b:1"].map(Instance::from));
/// let endpointer = Endpointer::new(instancer, |instance: &Instance| {
///     let name = instance.to_string();
///     Ok::<_, Error>(Endpoint::new(endpoint_fn(move |_: ()| {
///         let name = name.clone();
///         async move { Ok::<_, Error>(name) }
///     })))
/// });
/// assert_eq!(endpointer.endpoints().len(), 2);
/// # }
/// ```
pub struct Endpointer<S> {
    rx: watch::Receiver<Arc<Endpoints<S>>>,
}

impl<S> Clone for Endpointer<S> {
    fn clone(&self) -> Self {
        Endpointer {
            rx: self.rx.clone(),
        }
    }
}

impl<S> fmt::Debug for Endpointer<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let endpoints = self.rx.borrow();
        f.debug_struct("Endpointer")
            .field("instances", &endpoints.instances().collect::<Vec<_>>())
            .field("stale", &endpoints.is_stale())
            .finish()
    }
}

/// Settings for an [`Endpointer`].
#[derive(Clone, Copy, Debug, Default)]
pub struct Builder {
    invalidate_after: Option<Duration>,
}

impl Builder {
    /// Drops the last good set once the registry has failed for `after`
    /// (Go kit's `InvalidateOnError`); callers then get `Unavailable` until
    /// a good update. Without it the last good set is kept for as long as
    /// the registry fails, as in Go kit.
    pub fn invalidate_on_error(mut self, after: Duration) -> Builder {
        self.invalidate_after = Some(after);
        self
    }

    /// Builds the endpoints for the instancer's current set at once, then
    /// follows it on a task.
    ///
    /// # Panics
    /// Outside a Tokio runtime, as `tokio::spawn` does.
    pub fn build<S, F>(self, instancer: Instancer, mut factory: F) -> Endpointer<S>
    where
        S: Clone + Send + Sync + 'static,
        F: Factory<S>,
    {
        let mut states = instancer.subscribe();
        let state = states.borrow_and_update().clone();
        let mut updater = Updater {
            invalidate_after: self.invalidate_after,
            current: Arc::new(Endpoints::default()),
        };
        let first = updater.apply(&state, &mut factory);
        let (tx, rx) = watch::channel(first);
        tokio::spawn(updater.run(states, factory, tx));
        Endpointer { rx }
    }
}

impl<S> Endpointer<S>
where
    S: Clone + Send + Sync + 'static,
{
    /// An endpointer that keeps the last good set for as long as the
    /// registry fails.
    ///
    /// # Panics
    /// Outside a Tokio runtime, as `tokio::spawn` does.
    pub fn new<F: Factory<S>>(instancer: Instancer, factory: F) -> Endpointer<S> {
        Builder::default().build(instancer, factory)
    }
}

impl Endpointer<()> {
    /// Settings: [`Builder::invalidate_on_error`]. (On `Endpointer<()>`
    /// only so that `Endpointer::builder()` needs no type annotation; the
    /// builder makes endpointers of any type.)
    pub fn builder() -> Builder {
        Builder::default()
    }
}

impl<S> Endpointer<S> {
    /// The current endpoints.
    pub fn endpoints(&self) -> Arc<Endpoints<S>> {
        self.rx.borrow().clone()
    }

    /// Waits until the endpoints change after the last call of
    /// `changed`/[`endpoints_and_update`](Endpointer::endpoints_and_update);
    /// fails once the endpointer's task has stopped.
    pub async fn changed(&mut self) -> Result<(), kit_endpoint::Error> {
        self.rx
            .changed()
            .await
            .map_err(|_| kit_endpoint::Error::unavailable("the endpointer has stopped"))
    }

    /// The current endpoints, marking them seen for [`changed`](Endpointer::changed).
    pub fn endpoints_and_update(&mut self) -> Arc<Endpoints<S>> {
        self.rx.borrow_and_update().clone()
    }

    /// A new receiver of the snapshots.
    pub fn subscribe(&self) -> watch::Receiver<Arc<Endpoints<S>>> {
        self.rx.clone()
    }
}

/// The endpointer's task: the last snapshot and the settings.
struct Updater<S> {
    invalidate_after: Option<Duration>,
    current: Arc<Endpoints<S>>,
}

impl<S: Clone + Send + Sync + 'static> Updater<S> {
    async fn run<F: Factory<S>>(
        mut self,
        mut states: watch::Receiver<State>,
        mut factory: F,
        tx: watch::Sender<Arc<Endpoints<S>>>,
    ) {
        let mut state = states.borrow().clone();
        loop {
            let invalidate_at = self.invalidate_at(&state);
            tokio::select! {
                () = tx.closed() => return,
                changed = states.changed() => {
                    // The backend is gone: keep serving what we have.
                    if changed.is_err() {
                        return;
                    }
                    state = states.borrow_and_update().clone();
                    let next = self.apply(&state, &mut factory);
                    tx.send_replace(next);
                }
                () = sleep_until(invalidate_at.unwrap_or_else(Instant::now)), if invalidate_at.is_some() => {
                    let next = self.apply(&state, &mut factory);
                    tx.send_replace(next);
                }
            }
        }
    }

    /// When the stale set is to be dropped, if it is still served.
    fn invalidate_at(&self, state: &State) -> Option<Instant> {
        let since = state.failing_since()?;
        let after = self.invalidate_after?;
        if self.current.is_empty() && self.current.error.is_some() {
            return None;
        }
        Some(since + after)
    }

    /// The snapshot for `state`, reusing the endpoints of instances that stay.
    fn apply<F: Factory<S>>(&mut self, state: &State, factory: &mut F) -> Arc<Endpoints<S>> {
        let error = state.shared_error();
        let expired = matches!(
            (state.failing_since(), self.invalidate_after),
            (Some(since), Some(after)) if Instant::now() >= since + after
        );
        let next = if expired {
            if self.current.is_empty() && self.current.error.is_some() {
                return self.current.clone();
            }
            tracing::warn!(
                error = ?state.error(),
                "registry failing for too long: dropping every endpoint"
            );
            Endpoints {
                entries: Vec::new(),
                error,
                stale: false,
            }
        } else {
            Endpoints {
                entries: rebuild(&self.current.entries, state.instances(), factory),
                stale: error.is_some(),
                error,
            }
        };
        self.current = Arc::new(next);
        self.current.clone()
    }
}

/// The entries for `instances` (sorted): those in `old` (sorted) are
/// reused, new ones built by the factory; a factory error skips one.
fn rebuild<S: Clone, F: Factory<S>>(
    old: &[(Instance, S)],
    instances: &[Instance],
    factory: &mut F,
) -> Vec<(Instance, S)> {
    let mut entries = Vec::with_capacity(instances.len());
    let mut old = old.iter().peekable();
    for instance in instances {
        while old.next_if(|(i, _)| i < instance).is_some() {}
        if let Some((_, svc)) = old.next_if(|(i, _)| i == instance) {
            entries.push((instance.clone(), svc.clone()));
            continue;
        }
        match factory.make(instance) {
            Ok(svc) => entries.push((instance.clone(), svc)),
            Err(error) => tracing::warn!(%instance, %error, "factory failed; instance skipped"),
        }
    }
    entries
}
