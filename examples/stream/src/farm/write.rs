//! Quorum writes: fan out to every replica, answer at the quorum, let the
//! rest finish in the background.

use std::sync::Arc;

use kit_endpoint::Code;
use tokio::sync::mpsc;

use super::Farm;
use super::replica::{KeyOp, Replica};
use crate::store::StoreError;

impl<R: Replica> Farm<R> {
    /// Applies `ops` to every replica and returns once `quorum` replicas
    /// have applied them, with the most ops any of those reported as taken
    /// effect. Writes to the other replicas go on in the background (each
    /// replica has at most `max_in_flight` of them; past that, a write to it
    /// fails at once). Fails with `Unavailable` ("no quorum") as soon as
    /// the quorum can no longer be met; what was applied stays applied.
    pub async fn apply(&self, ops: Vec<KeyOp>) -> Result<usize, StoreError> {
        let inner = &self.inner;
        let n = inner.replicas.len();
        let ops: Arc<[KeyOp]> = ops.into();
        let (tx, mut rx) = mpsc::channel(n);
        for (i, replica) in inner.replicas.iter().enumerate() {
            let Ok(slot) = inner.in_flight[i].clone().try_acquire_owned() else {
                let e = StoreError::backend(
                    Code::ResourceExhausted,
                    format!(
                        "{}: {} writes in flight",
                        replica.name(),
                        inner.max_in_flight
                    ),
                );
                let _ = tx.try_send(Err(e));
                continue;
            };
            let (replica, ops, tx) = (replica.clone(), ops.clone(), tx.clone());
            let guard = inner.pending.start();
            tokio::spawn(async move {
                let result = replica.apply(&ops).await.map_err(|e| {
                    tracing::debug!(replica = replica.name(), error = %e, "write failed");
                    e
                });
                drop(slot);
                // The caller may have its answer already: nobody listens.
                let _ = tx
                    .send(result.map(|flags| flags.iter().filter(|&&a| a).count()))
                    .await;
                drop(guard);
            });
        }
        drop(tx);
        let (mut ok, mut applied, mut errors) = (0, 0, Vec::new());
        while let Some(result) = rx.recv().await {
            match result {
                Ok(count) => {
                    ok += 1;
                    applied = applied.max(count);
                    if ok >= inner.quorum {
                        return Ok(applied);
                    }
                }
                Err(e) => {
                    errors.push(e.to_string());
                    if errors.len() > n - inner.quorum {
                        break;
                    }
                }
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
