//! `Instancer`: the watchable current set of a service's instances.
//!
//! A backend (static list, DNS, etcd, Consul) owns a [`Publisher`] and
//! pushes full sets of instances into it, or an error when the registry
//! cannot be read; users and the [`Endpointer`](crate::Endpointer) hold
//! [`Instancer`]s, which are receivers of a [`tokio::sync::watch`] channel.
//! A watch fits exactly: readers want the latest set, never a backlog, and
//! a slow reader must not hold up the backend.
//!
//! On an error the state keeps the last good set of instances beside the
//! error and the instant the failures began ([`State::failing_since`]), so
//! the reader decides how long a stale set stays trustworthy. A backend task
//! ends when every `Instancer` is gone ([`Publisher::closed`]).

use std::sync::Arc;

use kit_endpoint::Error;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::Instance;

/// What a registry said last: the current set of instances and, while the
/// registry cannot be read, the error.
#[derive(Clone, Debug, Default)]
pub struct State {
    instances: Arc<[Instance]>,
    error: Option<Arc<Error>>,
    failing_since: Option<Instant>,
}

impl State {
    /// The instances, sorted and without duplicates. While [`error`](State::error)
    /// is set, these are the last good set.
    pub fn instances(&self) -> &[Instance] {
        &self.instances
    }

    /// The registry's error, while it cannot be read.
    pub fn error(&self) -> Option<&Error> {
        self.error.as_deref()
    }

    pub(crate) fn shared_error(&self) -> Option<Arc<Error>> {
        self.error.clone()
    }

    /// When the current streak of errors began.
    pub fn failing_since(&self) -> Option<Instant> {
        self.failing_since
    }

    /// Whether the registry answered on its last try.
    pub fn is_healthy(&self) -> bool {
        self.error.is_none()
    }
}

/// The reading side: a watchable [`State`]. Cloning is cheap; every clone
/// sees the same state.
///
/// ```
/// use kit_sd::{Instance, instancer};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let (publisher, mut instancer) = instancer::channel();
/// publisher.update(["b:1", "a:1", "a:1"].map(Instance::from));
/// instancer.changed().await.unwrap();
/// assert_eq!(instancer.state().instances(), &["a:1".into(), "b:1".into()] as &[Instance]);
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct Instancer {
    rx: watch::Receiver<State>,
}

impl Instancer {
    /// The current state.
    pub fn state(&self) -> State {
        self.rx.borrow().clone()
    }

    /// Waits until the state changes after the last [`changed`](Instancer::changed)
    /// or [`state_and_update`](Instancer::state_and_update); fails with
    /// `Unavailable` once the backend is gone.
    pub async fn changed(&mut self) -> Result<(), Error> {
        self.rx
            .changed()
            .await
            .map_err(|_| Error::unavailable("the instancer's backend has stopped"))
    }

    /// The current state, marking it seen for [`changed`](Instancer::changed).
    pub fn state_and_update(&mut self) -> State {
        self.rx.borrow_and_update().clone()
    }

    /// A new receiver of the underlying watch channel.
    pub fn subscribe(&self) -> watch::Receiver<State> {
        self.rx.clone()
    }
}

/// The writing side, owned by a backend.
#[derive(Debug)]
pub struct Publisher {
    tx: watch::Sender<State>,
}

/// A publisher and an instancer that reads from it. The state starts empty
/// and healthy.
pub fn channel() -> (Publisher, Instancer) {
    let (tx, rx) = watch::channel(State::default());
    (Publisher { tx }, Instancer { rx })
}

impl Publisher {
    /// Publishes a good set of instances (sorted and deduplicated here) and
    /// clears any error. Readers are woken only if something changed.
    pub fn update(&self, instances: impl IntoIterator<Item = Instance>) {
        let mut set: Vec<Instance> = instances.into_iter().collect();
        set.sort_unstable();
        set.dedup();
        self.tx.send_if_modified(|state| {
            if state.error.is_none() && *state.instances == *set {
                return false;
            }
            state.instances = set.into();
            state.error = None;
            state.failing_since = None;
            true
        });
    }

    /// Records that the registry could not be read. The last good set is
    /// kept; [`State::failing_since`] keeps the start of the streak.
    pub fn fail(&self, error: Error) {
        self.tx.send_modify(|state| {
            state.failing_since.get_or_insert_with(Instant::now);
            state.error = Some(Arc::new(error));
        });
    }

    /// The state last published.
    pub fn state(&self) -> State {
        self.tx.borrow().clone()
    }

    /// A new [`Instancer`] reading this publisher.
    pub fn instancer(&self) -> Instancer {
        Instancer {
            rx: self.tx.subscribe(),
        }
    }

    /// Completes when every [`Instancer`] (and every receiver made with
    /// [`Instancer::subscribe`]) is gone: the backend can stop.
    pub async fn closed(&self) {
        self.tx.closed().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kit_endpoint::Code;
    use std::time::Duration;

    fn set(names: &[&str]) -> Vec<Instance> {
        names.iter().map(|n| Instance::from(*n)).collect()
    }

    #[tokio::test(start_paused = true)]
    async fn errors_keep_the_last_good_set_and_the_start_of_the_streak() {
        let (publisher, mut instancer) = channel();
        publisher.update(set(&["a", "b"]));
        instancer.changed().await.unwrap();
        let started = Instant::now();
        publisher.fail(Error::unavailable("registry down"));
        tokio::time::advance(Duration::from_secs(3)).await;
        publisher.fail(Error::unavailable("still down"));
        let state = instancer.state_and_update();
        assert_eq!(state.instances(), set(&["a", "b"]).as_slice());
        assert_eq!(state.error().map(Error::code), Some(Code::Unavailable));
        assert_eq!(state.error().map(Error::message), Some("still down"));
        assert_eq!(state.failing_since(), Some(started));
        publisher.update(set(&["b"]));
        let state = instancer.state_and_update();
        assert!(state.is_healthy());
        assert_eq!(state.failing_since(), None);
        assert_eq!(state.instances(), set(&["b"]).as_slice());
    }

    #[tokio::test]
    async fn an_unchanged_set_wakes_nobody() {
        let (publisher, mut instancer) = channel();
        publisher.update(set(&["a", "b"]));
        instancer.changed().await.unwrap();
        publisher.update(set(&["b", "a", "a"]));
        assert!(!instancer.subscribe().has_changed().unwrap());
        // after an error, the same set is news: the registry is back
        publisher.fail(Error::unavailable("x"));
        instancer.changed().await.unwrap();
        publisher.update(set(&["a", "b"]));
        instancer.changed().await.unwrap();
        assert!(instancer.state().is_healthy());
    }

    #[tokio::test]
    async fn the_backend_learns_when_every_reader_is_gone() {
        let (publisher, instancer) = channel();
        let second = instancer.clone();
        drop(instancer);
        let closed = publisher.closed();
        tokio::pin!(closed);
        assert!(futures_poll(&mut closed).is_pending());
        drop(second);
        closed.await;
        // and a reader of a stopped backend is told so
        let (publisher, mut instancer) = channel();
        drop(publisher);
        assert_eq!(
            instancer.changed().await.unwrap_err().code(),
            Code::Unavailable
        );
    }

    fn futures_poll<F: std::future::Future + Unpin>(f: &mut F) -> std::task::Poll<F::Output> {
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        std::pin::Pin::new(f).poll(&mut cx)
    }
}
