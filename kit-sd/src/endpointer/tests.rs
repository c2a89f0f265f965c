use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use kit_endpoint::{Code, Error};

use crate::instancer::{self, Publisher};
use crate::{Endpointer, Instance};

/// A stand-in endpoint: knows its instance, and counts how many copies of
/// it are alive through a shared token.
#[derive(Clone, Debug)]
struct Probe {
    name: Instance,
    _alive: Arc<()>,
}

/// A weak handle on the token of each endpoint built, by instance.
type Tokens = Arc<std::sync::Mutex<Vec<(Instance, std::sync::Weak<()>)>>>;

/// A factory that counts its calls, keeps a token per instance to count
/// live copies, and fails for instances named `bad*`.
struct Counting {
    made: Arc<AtomicUsize>,
    tokens: Tokens,
}

impl Counting {
    fn new() -> Counting {
        Counting {
            made: Arc::default(),
            tokens: Arc::default(),
        }
    }

    fn factory(&self) -> impl FnMut(&Instance) -> Result<Probe, Error> + Send + 'static {
        let made = self.made.clone();
        let tokens = self.tokens.clone();
        move |i: &Instance| {
            made.fetch_add(1, Ordering::SeqCst);
            if i.as_str().starts_with("bad") {
                return Err(Error::invalid_argument("not an address"));
            }
            let token = Arc::new(());
            tokens
                .lock()
                .unwrap()
                .push((i.clone(), Arc::downgrade(&token)));
            Ok(Probe {
                name: i.clone(),
                _alive: token,
            })
        }
    }

    fn made(&self) -> usize {
        self.made.load(Ordering::SeqCst)
    }

    /// Whether any copy of the endpoint built for `name` is still alive.
    fn alive(&self, name: &str) -> bool {
        self.tokens
            .lock()
            .unwrap()
            .iter()
            .any(|(i, w)| i.as_str() == name && w.strong_count() > 0)
    }
}

fn set(names: &[&str]) -> Vec<Instance> {
    names.iter().map(|n| Instance::from(*n)).collect()
}

fn names(endpointer: &Endpointer<Probe>) -> Vec<String> {
    endpointer
        .endpoints()
        .iter()
        .map(|(i, p)| {
            assert_eq!(i, &p.name);
            i.to_string()
        })
        .collect()
}

async fn publish(publisher: &Publisher, endpointer: &mut Endpointer<Probe>, names: &[&str]) {
    endpointer.endpoints_and_update();
    publisher.update(set(names));
    endpointer.changed().await.unwrap();
}

#[tokio::test]
async fn survivors_keep_their_endpoint_and_removed_ones_are_closed() {
    let (publisher, instancer) = instancer::channel();
    publisher.update(set(&["a", "b"]));
    let counting = Counting::new();
    let mut endpointer = Endpointer::new(instancer, counting.factory());
    assert_eq!(names(&endpointer), ["a", "b"]);
    assert_eq!(counting.made(), 2);

    publish(&publisher, &mut endpointer, &["b", "c"]).await;
    assert_eq!(names(&endpointer), ["b", "c"]);
    assert_eq!(counting.made(), 3, "only c is new");
    assert!(!counting.alive("a"), "a's endpoint was dropped");
    assert!(counting.alive("b") && counting.alive("c"));

    publish(&publisher, &mut endpointer, &[]).await;
    assert!(endpointer.endpoints().is_empty());
    assert!(!counting.alive("b") && !counting.alive("c"));
    assert_eq!(
        endpointer.endpoints().no_endpoint_error().code(),
        Code::Unavailable
    );
}

#[tokio::test]
async fn a_factory_error_skips_the_instance_until_it_is_named_again() {
    let (publisher, instancer) = instancer::channel();
    publisher.update(set(&["a", "bad"]));
    let counting = Counting::new();
    let mut endpointer = Endpointer::new(instancer, counting.factory());
    assert_eq!(names(&endpointer), ["a"]);
    publish(&publisher, &mut endpointer, &["a", "bad", "c"]).await;
    assert_eq!(names(&endpointer), ["a", "c"]);
    // a kept, bad tried again, c built
    assert_eq!(counting.made(), 4);
}

#[tokio::test(start_paused = true)]
async fn errors_keep_the_last_good_set_until_the_bound_then_unavailable() {
    let (publisher, instancer) = instancer::channel();
    publisher.update(set(&["a", "b"]));
    let counting = Counting::new();
    let mut endpointer: Endpointer<Probe> = Endpointer::builder()
        .invalidate_on_error(Duration::from_secs(10))
        .build(instancer, counting.factory());
    endpointer.endpoints_and_update();

    let failed_at = tokio::time::Instant::now();
    publisher.fail(Error::unavailable("etcd down"));
    endpointer.changed().await.unwrap();
    let stale = endpointer.endpoints_and_update();
    assert!(stale.is_stale());
    assert_eq!(stale.len(), 2);
    assert_eq!(
        stale.registry_error().map(Error::message),
        Some("etcd down")
    );
    drop(stale);

    // Errors that go on do not move the bound.
    tokio::time::advance(Duration::from_secs(6)).await;
    publisher.fail(Error::unavailable("etcd still down"));
    endpointer.changed().await.unwrap();
    assert_eq!(endpointer.endpoints_and_update().len(), 2);

    // The bound passes: everything is dropped, and the wake-up is the
    // endpointer's own timer, not a new event.
    endpointer.changed().await.unwrap();
    assert_eq!(failed_at.elapsed(), Duration::from_secs(10));
    let gone = endpointer.endpoints_and_update();
    assert!(gone.is_empty());
    assert!(!counting.alive("a") && !counting.alive("b"));
    let err = gone.no_endpoint_error();
    assert_eq!(err.code(), Code::Unavailable);
    assert!(err.message().contains("etcd still down"), "{err}");

    // More errors change nothing; a good update brings the set back.
    publisher.fail(Error::unavailable("etcd down again"));
    endpointer.changed().await.unwrap();
    assert!(endpointer.endpoints_and_update().is_empty());
    publish(&publisher, &mut endpointer, &["a", "b"]).await;
    let back = endpointer.endpoints();
    assert_eq!(back.len(), 2);
    assert!(!back.is_stale() && back.registry_error().is_none());
    assert_eq!(counting.made(), 4, "the dropped endpoints were built anew");
}

#[tokio::test(start_paused = true)]
async fn without_a_bound_the_last_good_set_stays() {
    let (publisher, instancer) = instancer::channel();
    publisher.update(set(&["a"]));
    let counting = Counting::new();
    let mut endpointer = Endpointer::new(instancer, counting.factory());
    endpointer.endpoints_and_update();
    publisher.fail(Error::unavailable("down"));
    endpointer.changed().await.unwrap();
    tokio::time::advance(Duration::from_secs(86_400)).await;
    let endpoints = endpointer.endpoints();
    assert!(endpoints.is_stale());
    assert_eq!(endpoints.len(), 1);
}

#[tokio::test]
async fn the_task_ends_with_the_last_endpointer() {
    let (publisher, instancer) = instancer::channel();
    let counting = Counting::new();
    let endpointer = Endpointer::new(instancer, counting.factory());
    let second = endpointer.clone();
    drop(endpointer);
    drop(second);
    // The task dropped its receiver: the backend learns nobody listens.
    publisher.closed().await;
}
