use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::Semaphore;

use crate::hooks::{Hooks, NoHooks};

/// A concurrency limit with a bounded wait queue, shared by every clone.
///
/// At most `max_concurrent` requests run at once; up to `max_queue` more
/// wait, first come first served, for at most `queue_timeout` each.
///
/// ```
/// use kit_ratelimit::ConcurrencyLimiter;
/// use std::time::Duration;
///
/// let limiter = ConcurrencyLimiter::builder(8)
///     .max_queue(32)
///     .queue_timeout(Duration::from_millis(200))
///     .build();
/// assert_eq!(limiter.max_concurrent(), 8);
/// assert_eq!(limiter.in_flight(), 0);
/// ```
#[derive(Clone)]
pub struct ConcurrencyLimiter {
    pub(super) inner: Arc<Shared>,
}

pub(super) struct Shared {
    pub(super) semaphore: Arc<Semaphore>,
    max_concurrent: usize,
    max_queue: usize,
    /// Requests waiting for a permit now.
    queued: AtomicUsize,
    pub(super) queue_timeout: Duration,
    pub(super) retry_after: Duration,
    pub(super) hooks: Arc<dyn Hooks>,
}

impl ConcurrencyLimiter {
    /// At most `max_concurrent` at once (at least 1), with the default
    /// queue: as long as the limit, waiting at most one second.
    pub fn new(max_concurrent: usize) -> ConcurrencyLimiter {
        ConcurrencyLimiter::builder(max_concurrent).build()
    }

    /// A builder, to set the queue, the retry-after hint and hooks.
    pub fn builder(max_concurrent: usize) -> ConcurrencyBuilder {
        let max_concurrent = max_concurrent.clamp(1, Semaphore::MAX_PERMITS);
        ConcurrencyBuilder {
            max_concurrent,
            max_queue: max_concurrent,
            queue_timeout: Duration::from_secs(1),
            retry_after: None,
            hooks: Arc::new(NoHooks),
        }
    }

    /// The most requests running at once.
    pub fn max_concurrent(&self) -> usize {
        self.inner.max_concurrent
    }

    /// The requests running now.
    pub fn in_flight(&self) -> usize {
        self.inner.max_concurrent - self.inner.semaphore.available_permits()
    }

    /// The requests waiting now.
    pub fn queued(&self) -> usize {
        self.inner.queued.load(Ordering::Relaxed)
    }
}

impl Shared {
    /// Takes a place in the queue, if there is one.
    pub(super) fn enter_queue(self: &Arc<Self>) -> Option<QueueSlot> {
        self.queued
            .fetch_update(Ordering::AcqRel, Ordering::Relaxed, |n| {
                (n < self.max_queue).then_some(n + 1)
            })
            .ok()
            .map(|_| QueueSlot(self.clone()))
    }
}

/// A place in the wait queue, given back when dropped.
pub(super) struct QueueSlot(Arc<Shared>);

impl Drop for QueueSlot {
    fn drop(&mut self) {
        self.0.queued.fetch_sub(1, Ordering::AcqRel);
    }
}

impl fmt::Debug for ConcurrencyLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConcurrencyLimiter")
            .field("max_concurrent", &self.inner.max_concurrent)
            .field("max_queue", &self.inner.max_queue)
            .field("queue_timeout", &self.inner.queue_timeout)
            .field("in_flight", &self.in_flight())
            .field("queued", &self.queued())
            .finish_non_exhaustive()
    }
}

/// Builds a [`ConcurrencyLimiter`]; see [`ConcurrencyLimiter::builder`].
pub struct ConcurrencyBuilder {
    max_concurrent: usize,
    max_queue: usize,
    queue_timeout: Duration,
    retry_after: Option<Duration>,
    hooks: Arc<dyn Hooks>,
}

impl ConcurrencyBuilder {
    /// How many requests may wait for a slot (default: `max_concurrent`).
    /// Zero sheds every request over the limit at once.
    pub fn max_queue(mut self, max_queue: usize) -> Self {
        self.max_queue = max_queue;
        self
    }

    /// How long a request may wait for a slot (default 1 s).
    pub fn queue_timeout(mut self, timeout: Duration) -> Self {
        self.queue_timeout = timeout;
        self
    }

    /// The retry-after hint of rejections (default: the queue timeout, or
    /// 100 ms without a queue).
    pub fn retry_after(mut self, after: Duration) -> Self {
        self.retry_after = Some(after);
        self
    }

    /// Reports rejections to `hooks`.
    pub fn hooks(mut self, hooks: impl Hooks) -> Self {
        self.hooks = Arc::new(hooks);
        self
    }

    /// The limiter.
    pub fn build(self) -> ConcurrencyLimiter {
        let retry_after = self.retry_after.unwrap_or(if self.max_queue == 0 {
            Duration::from_millis(100)
        } else {
            self.queue_timeout
        });
        ConcurrencyLimiter {
            inner: Arc::new(Shared {
                semaphore: Arc::new(Semaphore::new(self.max_concurrent)),
                max_concurrent: self.max_concurrent,
                max_queue: self.max_queue,
                queued: AtomicUsize::new(0),
                queue_timeout: self.queue_timeout,
                retry_after,
                hooks: self.hooks,
            }),
        }
    }
}

impl fmt::Debug for ConcurrencyBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConcurrencyBuilder")
            .field("max_concurrent", &self.max_concurrent)
            .field("max_queue", &self.max_queue)
            .field("queue_timeout", &self.queue_timeout)
            .finish_non_exhaustive()
    }
}
