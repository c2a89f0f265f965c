//! `Registrar`: announce this instance in a registry for as long as it runs.
//!
//! A registration is a record with a TTL or a lease, kept alive by a task,
//! and removed when the service shuts down gracefully. If the process dies
//! instead, the keep-alive stops and the registry drops the record when the
//! TTL runs out: that is what the TTL is for.

use std::fmt;
use std::future::Future;

use kit_endpoint::Error;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Registers this instance with a registry (etcd with a lease, Consul with
/// a TTL check): Go kit's `sd.Registrar`, with the keep-alive built in.
pub trait Registrar {
    /// Registers, starts the keep-alive, and returns its handle.
    fn register(&self) -> impl Future<Output = Result<Registration, Error>> + Send;
}

/// A live registration. [`deregister`](Registration::deregister) on graceful
/// shutdown; dropping it stops the keep-alive without deregistering, which
/// is what a crash looks like to the registry (the record expires after its
/// TTL).
pub struct Registration {
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), Error>>,
    description: String,
}

impl Registration {
    /// Spawns `keep_alive`, which runs until the receiver fires (or is
    /// dropped), then deregisters and returns the result.
    pub fn spawn<F, Fut>(description: impl Into<String>, keep_alive: F) -> Registration
    where
        F: FnOnce(oneshot::Receiver<()>) -> Fut,
        Fut: Future<Output = Result<(), Error>> + Send + 'static,
    {
        let (stop, rx) = oneshot::channel();
        Registration {
            stop: Some(stop),
            task: tokio::spawn(keep_alive(rx)),
            description: description.into(),
        }
    }

    /// Stops the keep-alive and removes the record from the registry.
    pub async fn deregister(mut self) -> Result<(), Error> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match (&mut self.task).await {
            Ok(result) => result,
            Err(e) => Err(Error::internal(format!("the keep-alive task failed: {e}"))),
        }
    }

    /// Whether the keep-alive still runs.
    pub fn is_alive(&self) -> bool {
        !self.task.is_finished()
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl fmt::Debug for Registration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registration")
            .field("registration", &self.description)
            .field("alive", &self.is_alive())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    #[tokio::test]
    async fn deregister_runs_the_cleanup_and_drop_does_not() {
        let cleaned = Arc::new(AtomicBool::new(false));
        let flag = cleaned.clone();
        let reg = Registration::spawn("svc", move |stop| async move {
            let _ = stop.await;
            flag.store(true, Ordering::SeqCst);
            Ok(())
        });
        assert!(reg.is_alive());
        reg.deregister().await.unwrap();
        assert!(cleaned.load(Ordering::SeqCst));

        let cleaned = Arc::new(AtomicBool::new(false));
        let flag = cleaned.clone();
        let (tx, rx) = oneshot::channel::<()>();
        let reg = Registration::spawn("svc", move |stop| async move {
            let _guard = tx;
            let _ = stop.await;
            flag.store(true, Ordering::SeqCst);
            Ok(())
        });
        drop(reg);
        // the task was aborted: its guard dropped without the cleanup
        assert!(rx.await.is_err());
        assert!(!cleaned.load(Ordering::SeqCst));
    }

    #[tokio::test]
    async fn a_failed_deregistration_is_reported() {
        let reg = Registration::spawn("svc", |stop| async move {
            let _ = stop.await;
            Err(Error::unavailable("registry gone"))
        });
        assert_eq!(
            reg.deregister().await.unwrap_err().message(),
            "registry gone"
        );
    }
}
