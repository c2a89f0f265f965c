//! Shared helpers: a scripted endpoint and hooks that count.
#![allow(dead_code, unreachable_pub)]

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kit_circuitbreaker::{
    Breaker, CircuitBreaker, CircuitBreakerLayer, Config, Hooks, Outcome, State, Transition,
};
use kit_endpoint::{Code, Error, endpoint_fn};
use tower::{Layer, Service, ServiceExt};

/// What the scripted endpoint does.
#[derive(Clone, Copy, Debug)]
pub enum Call {
    Ok,
    Fail(Code),
    /// Sleep, then succeed.
    Slow(Duration),
}

pub type Svc = CircuitBreaker<
    tower::util::BoxCloneSyncService<Call, &'static str, Error>,
    kit_circuitbreaker::ByCode,
>;

pub fn script() -> tower::util::BoxCloneSyncService<Call, &'static str, Error> {
    tower::util::BoxCloneSyncService::new(endpoint_fn(|c: Call| async move {
        match c {
            Call::Ok => Ok("ok"),
            Call::Fail(code) => Err(Error::new(code, "scripted")),
            Call::Slow(d) => {
                tokio::time::sleep(d).await;
                Ok("slow")
            }
        }
    }))
}

pub fn service(config: Config) -> Svc {
    CircuitBreakerLayer::new(config).layer(script())
}

pub async fn call<S>(svc: &mut S, c: Call) -> Result<&'static str, Error>
where
    S: Service<Call, Response = &'static str, Error = Error>,
{
    svc.ready().await?.call(c).await
}

pub async fn fail(svc: &mut Svc, n: usize) {
    for _ in 0..n {
        let err = call(svc, Call::Fail(Code::Unavailable)).await.unwrap_err();
        assert_eq!(err.message(), "scripted", "the call was refused: {err}");
    }
}

/// Hooks that count every event and log every transition.
#[derive(Clone, Default)]
pub struct Counting(pub Arc<Counts>);

#[derive(Default)]
pub struct Counts {
    pub success: AtomicU64,
    pub failure: AtomicU64,
    pub ignored: AtomicU64,
    pub slow: AtomicU64,
    pub cancelled: AtomicU64,
    pub rejected: AtomicU64,
    pub transitions: Mutex<Vec<(State, State)>>,
}

impl Counts {
    pub fn get(&self, c: &AtomicU64) -> u64 {
        c.load(Relaxed)
    }
    pub fn finished(&self) -> u64 {
        self.get(&self.success) + self.get(&self.failure) + self.get(&self.ignored)
    }
    pub fn transitions(&self) -> Vec<(State, State)> {
        self.transitions.lock().unwrap().clone()
    }
}

impl Hooks for Counting {
    fn on_state_change(&self, t: &Transition) {
        self.0.transitions.lock().unwrap().push((t.from, t.to));
    }
    fn on_call(&self, _state: State, outcome: Outcome, slow: bool) {
        let c = match outcome {
            Outcome::Success => &self.0.success,
            Outcome::Failure => &self.0.failure,
            Outcome::Ignore => &self.0.ignored,
        };
        c.fetch_add(1, Relaxed);
        if slow {
            self.0.slow.fetch_add(1, Relaxed);
        }
    }
    fn on_cancelled(&self, _state: State) {
        self.0.cancelled.fetch_add(1, Relaxed);
    }
    fn on_rejected(&self, _state: State) {
        self.0.rejected.fetch_add(1, Relaxed);
    }
}

pub fn is_refusal(err: &Error) -> bool {
    std::error::Error::source(err).is_some_and(|s| s.is::<kit_circuitbreaker::Rejected>())
}

pub fn breaker_of(svc: &Svc) -> Breaker {
    svc.breaker().clone()
}
