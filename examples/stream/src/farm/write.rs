//! Quorum writes: fan out to every replica, answer at the quorum, let the
//! rest finish in the background.
//!
//! The replicas' writes are polled inside the request; only the ones still
//! running when the quorum is met (or when the request goes away) move to
//! a background task. A write whose replicas all answer together, as with
//! one replica or a healthy farm under load, costs no task and no channel.

use std::future::Future;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use kit_endpoint::Code;

use super::Farm;
use super::replica::{KeyOp, Replica};
use crate::store::StoreError;

impl<R: Replica> Farm<R> {
    /// Applies `ops` to every replica and returns once `quorum` replicas
    /// have applied them, with the most ops any of those reported as taken
    /// effect. Writes to the other replicas go on in the background (each
    /// replica has at most `max_in_flight` of them; past that, a write to it
    /// fails at once), and so do all of them if the caller goes away first.
    /// Fails with `Unavailable` ("no quorum") as soon as the quorum can no
    /// longer be met; what was applied stays applied.
    pub async fn apply(&self, ops: Vec<KeyOp>) -> Result<usize, StoreError> {
        let inner = &self.inner;
        let n = inner.replicas.len();
        let ops: std::sync::Arc<[KeyOp]> = ops.into();
        let mut errors = Vec::new();
        let writes = FuturesUnordered::new();
        for (i, replica) in inner.replicas.iter().enumerate() {
            let Ok(slot) = inner.in_flight[i].clone().try_acquire_owned() else {
                errors.push(format!(
                    "{}: {} writes in flight",
                    replica.name(),
                    inner.max_in_flight
                ));
                continue;
            };
            let (replica, ops) = (replica.clone(), ops.clone());
            let guard = inner.pending.start();
            writes.push(async move {
                let result = replica.apply(&ops).await.map_err(|e| {
                    tracing::debug!(replica = replica.name(), error = %e, "write failed");
                    e
                });
                drop(slot);
                drop(guard);
                result.map(|flags| flags.iter().filter(|&&a| a).count())
            });
        }
        let mut writes = Background(Some(writes));
        let (mut ok, mut applied) = (0, 0);
        let exhausted = |errors: &Vec<String>| errors.len() > n - inner.quorum;
        while !exhausted(&errors) {
            let Some(result) = writes.next().await else {
                break;
            };
            match result {
                Ok(count) => {
                    ok += 1;
                    applied = applied.max(count);
                    if ok >= inner.quorum {
                        return Ok(applied);
                    }
                }
                Err(e) => errors.push(e.to_string()),
            }
        }
        Err(StoreError::backend(
            Code::Unavailable,
            format!(
                "no quorum: {ok} of {n} replicas applied the write, {} needed ({})",
                inner.quorum,
                errors.join("; ")
            ),
        ))
    }
}

/// Replica writes still running; whatever is left when this drops (the
/// quorum was met, or the caller went away) finishes in a task of its own.
struct Background<F>(Option<FuturesUnordered<F>>)
where
    F: Future + Send + 'static,
    F::Output: Send;

impl<F> Background<F>
where
    F: Future + Send + 'static,
    F::Output: Send,
{
    async fn next(&mut self) -> Option<F::Output> {
        self.0.as_mut()?.next().await
    }
}

impl<F> Drop for Background<F>
where
    F: Future + Send + 'static,
    F::Output: Send,
{
    fn drop(&mut self) {
        if let Some(mut rest) = self.0.take()
            && !rest.is_empty()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            runtime.spawn(async move { while rest.next().await.is_some() {} });
        }
    }
}
