//! What the discovery tests share: waiting on an [`Instancer`] for a state,
//! the names in a state, and a fast backoff.

#![allow(dead_code, clippy::unwrap_used)]

use std::time::Duration;

use kit_sd::backoff::Backoff;
use kit_sd::instancer::State;
use kit_sd::{Instance, Instancer};

/// Waits (at most 20 s: a real server is involved) until the state
/// satisfies `ok`, following every change.
pub(crate) async fn wait_for(
    instancer: &mut Instancer,
    what: &str,
    ok: impl Fn(&State) -> bool,
) -> State {
    let wait = async {
        loop {
            let state = instancer.state_and_update();
            if ok(&state) {
                return state;
            }
            instancer.changed().await.unwrap();
        }
    };
    tokio::time::timeout(Duration::from_secs(20), wait)
        .await
        .unwrap_or_else(|_| {
            panic!(
                "timed out waiting for {what}; state: {:?}",
                instancer.state()
            )
        })
}

/// The instances of `state`, as strings.
pub(crate) fn names(state: &State) -> Vec<&str> {
    state.instances().iter().map(Instance::as_str).collect()
}

/// A backoff short enough for tests: 20 ms, at most 200 ms.
pub(crate) fn fast() -> Backoff {
    Backoff::new(Duration::from_millis(20), Duration::from_millis(200))
}
