//! Peak-EWMA latency as a load metric.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use kit_endpoint::Error;
use pin_project_lite::pin_project;
use tokio::time::Instant;
use tower::load::Load;
use tower_layer::Layer;
use tower_service::Service;

/// The load of a [`PeakEwma`] endpoint: the latency estimate in nanoseconds
/// times one more than the requests in flight. Lower is better.
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd)]
pub struct Cost(pub f64);

/// Tracks an endpoint's latency as a peak-sensitive moving average and its
/// requests in flight, for the [`P2c`](super::P2c) balancer.
///
/// A sample above the estimate replaces it at once (the peak); samples
/// below pull it down exponentially, with `decay` as the time constant, and
/// so does time passing without samples, so a slow instance is tried again
/// once its estimate has decayed (Finagle's Peak EWMA). A failed call counts
/// as a sample of at least the failure penalty, so an instance that fails
/// fast (a refused connection) does not look fast. A cancelled call counts
/// its elapsed time.
///
/// Clones share the statistics, which is what lets the
/// [`Endpointer`](crate::Endpointer) hand the same endpoint to every
/// balancer. The estimate sits behind a mutex held for a few arithmetic
/// operations: it is two values updated together, which atomics do not give.
pub struct PeakEwma<S> {
    inner: S,
    stats: Arc<Stats>,
}

struct Stats {
    pending: AtomicUsize,
    rtt: Mutex<Rtt>,
    decay_ns: f64,
    failure_penalty_ns: f64,
}

struct Rtt {
    ns: f64,
    at: Instant,
}

impl Stats {
    fn decayed(&self, rtt: &mut Rtt, now: Instant) -> f64 {
        let elapsed = now.saturating_duration_since(rtt.at).as_nanos() as f64;
        rtt.ns *= (-elapsed / self.decay_ns).exp();
        rtt.at = now;
        rtt.ns
    }

    fn record(&self, sample_ns: f64) {
        let now = Instant::now();
        let mut rtt = self.rtt.lock().unwrap_or_else(|e| e.into_inner());
        let elapsed = now.saturating_duration_since(rtt.at).as_nanos() as f64;
        if sample_ns > rtt.ns {
            rtt.ns = sample_ns;
        } else {
            let w = (-elapsed / self.decay_ns).exp();
            rtt.ns = rtt.ns * w + sample_ns * (1.0 - w);
        }
        rtt.at = now;
    }
}

/// Wraps endpoints in [`PeakEwma`], all with the same settings. Use it in
/// the [`Factory`](crate::Factory) of an Endpointer that feeds a
/// [`P2c`](super::P2c) balancer.
#[derive(Clone, Copy, Debug)]
pub struct PeakEwmaLayer {
    default_rtt: Duration,
    decay: Duration,
    failure_penalty: Duration,
}

impl Default for PeakEwmaLayer {
    fn default() -> Self {
        PeakEwmaLayer::new()
    }
}

impl PeakEwmaLayer {
    /// An initial estimate of 100 ms, a decay of 10 s (Finagle's) and a
    /// failure penalty of 1 s.
    pub fn new() -> PeakEwmaLayer {
        PeakEwmaLayer {
            default_rtt: Duration::from_millis(100),
            decay: Duration::from_secs(10),
            failure_penalty: Duration::from_secs(1),
        }
    }

    /// The estimate before the first sample.
    pub fn default_rtt(mut self, rtt: Duration) -> Self {
        self.default_rtt = rtt;
        self
    }

    /// The time constant of the moving average (at least 1 ns).
    pub fn decay(mut self, decay: Duration) -> Self {
        self.decay = decay.max(Duration::from_nanos(1));
        self
    }

    /// The least latency a failed call is recorded as.
    pub fn failure_penalty(mut self, penalty: Duration) -> Self {
        self.failure_penalty = penalty;
        self
    }
}

impl<S> Layer<S> for PeakEwmaLayer {
    type Service = PeakEwma<S>;

    fn layer(&self, inner: S) -> PeakEwma<S> {
        PeakEwma {
            inner,
            stats: Arc::new(Stats {
                pending: AtomicUsize::new(0),
                rtt: Mutex::new(Rtt {
                    ns: self.default_rtt.as_nanos() as f64,
                    at: Instant::now(),
                }),
                decay_ns: self.decay.as_nanos().max(1) as f64,
                failure_penalty_ns: self.failure_penalty.as_nanos() as f64,
            }),
        }
    }
}

impl<S> PeakEwma<S> {
    /// Wraps `inner` with [`PeakEwmaLayer::new`]'s settings.
    pub fn new(inner: S) -> PeakEwma<S> {
        PeakEwmaLayer::new().layer(inner)
    }

    /// The latency estimate now.
    pub fn rtt_estimate(&self) -> Duration {
        let mut rtt = self.stats.rtt.lock().unwrap_or_else(|e| e.into_inner());
        Duration::from_nanos(self.stats.decayed(&mut rtt, Instant::now()) as u64)
    }

    /// Requests in flight.
    pub fn pending(&self) -> usize {
        self.stats.pending.load(Ordering::Relaxed)
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, to change.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S: Clone> Clone for PeakEwma<S> {
    fn clone(&self) -> Self {
        PeakEwma {
            inner: self.inner.clone(),
            stats: self.stats.clone(),
        }
    }
}

impl<S> std::fmt::Debug for PeakEwma<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeakEwma")
            .field("rtt_estimate", &self.rtt_estimate())
            .field("pending", &self.pending())
            .finish()
    }
}

impl<S> Load for PeakEwma<S> {
    type Metric = Cost;

    fn load(&self) -> Cost {
        let pending = self.stats.pending.load(Ordering::Relaxed) as f64;
        let mut rtt = self.stats.rtt.lock().unwrap_or_else(|e| e.into_inner());
        Cost(self.stats.decayed(&mut rtt, Instant::now()) * (pending + 1.0))
    }
}

impl<S, Req, T> Service<Req> for PeakEwma<S>
where
    S: Service<Req, Response = T, Error = Error>,
{
    type Response = T;
    type Error = Error;
    type Future = Tracked<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Req) -> Self::Future {
        self.stats.pending.fetch_add(1, Ordering::Relaxed);
        Tracked {
            inner: self.inner.call(req),
            guard: Some(Guard {
                stats: self.stats.clone(),
                sent_at: Instant::now(),
                failed: false,
            }),
        }
    }
}

/// Records a call's latency when it completes or is dropped.
struct Guard {
    stats: Arc<Stats>,
    sent_at: Instant,
    failed: bool,
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.stats.pending.fetch_sub(1, Ordering::Relaxed);
        let mut sample = self.sent_at.elapsed().as_nanos() as f64;
        if self.failed {
            sample = sample.max(self.stats.failure_penalty_ns);
        }
        self.stats.record(sample);
    }
}

pin_project! {
    /// The response future of [`PeakEwma`].
    pub struct Tracked<F> {
        #[pin]
        inner: F,
        // Taken when the call completes, so the sample is the call's own
        // latency; dropped unfinished, it records the time until the drop.
        guard: Option<Guard>,
    }
}

impl<F> std::fmt::Debug for Tracked<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tracked").finish_non_exhaustive()
    }
}

impl<F, T> Future for Tracked<F>
where
    F: Future<Output = Result<T, Error>>,
{
    type Output = Result<T, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let out = std::task::ready!(this.inner.poll(cx));
        if let Some(mut guard) = this.guard.take() {
            guard.failed = out.as_ref().is_err_and(|e| e.code().is_server_fault());
        }
        Poll::Ready(out)
    }
}
