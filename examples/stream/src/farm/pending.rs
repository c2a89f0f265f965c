//! `Pending`: a count of background work (writes past the quorum, lingering
//! reads, queued repairs), to wait for it in tests and on shutdown.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::Notify;

/// Shared count of unfinished background work.
#[derive(Clone, Debug, Default)]
pub(crate) struct Pending {
    inner: Arc<(AtomicUsize, Notify)>,
}

/// One unit of work; finishes on drop unless forgotten.
#[must_use]
#[derive(Debug)]
pub(crate) struct Guard {
    pending: Option<Pending>,
}

impl Pending {
    /// Counts one more unit of work until the guard drops.
    pub(crate) fn start(&self) -> Guard {
        self.inner.0.fetch_add(1, Ordering::AcqRel);
        Guard {
            pending: Some(self.clone()),
        }
    }

    /// Finishes a unit whose guard was [`forget`](Guard::forget)ten.
    pub(crate) fn finish(&self) {
        if self.inner.0.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.inner.1.notify_waiters();
        }
    }

    /// How many units are unfinished.
    pub(crate) fn count(&self) -> usize {
        self.inner.0.load(Ordering::Acquire)
    }

    /// Waits until no unit is unfinished.
    pub(crate) async fn idle(&self) {
        loop {
            let notified = self.inner.1.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.count() == 0 {
                return;
            }
            notified.await;
        }
    }
}

impl Guard {
    /// Keeps the unit counted after the guard is gone: someone else calls
    /// [`Pending::finish`].
    pub(crate) fn forget(mut self) {
        self.pending = None;
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(p) = self.pending.take() {
            p.finish();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn idle_waits_for_every_unit() {
        let pending = Pending::default();
        pending.idle().await;
        let a = pending.start();
        let b = pending.start();
        b.forget();
        let waiter = tokio::spawn({
            let p = pending.clone();
            async move { p.idle().await }
        });
        drop(a);
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        pending.finish();
        waiter.await.unwrap();
        assert_eq!(pending.count(), 0);
    }
}
