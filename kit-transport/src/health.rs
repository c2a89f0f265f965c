//! Liveness and readiness: `/healthz`, `/readyz` and `grpc.health.v1`.
//!
//! A [`Readiness`] handle is shared by the server runner, the health
//! endpoints and the application. The service is ready when it has been
//! marked ready (the default), is not draining, and every registered check
//! passes. The runner marks it draining as soon as shutdown begins, so load
//! balancers stop sending new work while in-flight requests finish.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::sync::watch;

type CheckFn = dyn Fn() -> Pin<Box<dyn Future<Output = Result<(), String>> + Send>> + Send + Sync;

/// Shared readiness state; cheap to clone.
#[derive(Clone)]
pub struct Readiness {
    inner: Arc<Inner>,
}

struct Inner {
    ready: AtomicBool,
    draining: AtomicBool,
    checks: RwLock<Vec<(String, Arc<CheckFn>)>>,
    check_timeout: Duration,
    // Notifies watchers (the gRPC health bridge) of flag changes.
    changed: watch::Sender<bool>,
}

impl Default for Readiness {
    fn default() -> Self {
        Readiness::new()
    }
}

impl Readiness {
    /// Ready, not draining, no checks; each check gets 1 s.
    pub fn new() -> Readiness {
        Readiness {
            inner: Arc::new(Inner {
                ready: AtomicBool::new(true),
                draining: AtomicBool::new(false),
                checks: RwLock::new(Vec::new()),
                check_timeout: Duration::from_secs(1),
                changed: watch::channel(true).0,
            }),
        }
    }

    /// Marks the service ready or not (for example, not ready until caches
    /// are warm).
    pub fn set_ready(&self, ready: bool) {
        self.inner.ready.store(ready, Ordering::SeqCst);
        self.notify();
    }

    /// Marks the service as draining: not ready, for good. The server runner
    /// calls this when shutdown begins.
    pub fn set_draining(&self) {
        self.inner.draining.store(true, Ordering::SeqCst);
        self.notify();
    }

    /// Whether shutdown has begun.
    pub fn is_draining(&self) -> bool {
        self.inner.draining.load(Ordering::SeqCst)
    }

    /// The flags alone, without running checks.
    pub fn is_ready_flag(&self) -> bool {
        self.inner.ready.load(Ordering::SeqCst) && !self.is_draining()
    }

    /// Adds a named readiness check, run on every `/readyz` request.
    pub fn add_check<F, Fut>(&self, name: impl Into<String>, check: F)
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        let f: Arc<CheckFn> = Arc::new(move || Box::pin(check()));
        let mut checks = self.inner.checks.write().unwrap_or_else(|e| e.into_inner());
        checks.push((name.into(), f));
    }

    /// Runs the flags and every check (concurrently, each bounded by the
    /// check timeout) and returns the reasons the service is not ready.
    pub async fn check(&self) -> Result<(), Vec<String>> {
        let mut failures = Vec::new();
        if self.is_draining() {
            failures.push("draining".to_string());
        } else if !self.inner.ready.load(Ordering::SeqCst) {
            failures.push("not ready".to_string());
        }
        let checks = self
            .inner
            .checks
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let timeout = self.inner.check_timeout;
        let results =
            futures_util::future::join_all(checks.into_iter().map(|(name, f)| async move {
                match tokio::time::timeout(timeout, f()).await {
                    Ok(Ok(())) => None,
                    Ok(Err(why)) => Some(format!("{name}: {why}")),
                    Err(_) => Some(format!("{name}: timed out after {timeout:?}")),
                }
            }))
            .await;
        failures.extend(results.into_iter().flatten());
        if failures.is_empty() {
            Ok(())
        } else {
            Err(failures)
        }
    }

    /// A receiver that sees the flags' value (`true` = ready) each time
    /// they change.
    pub fn subscribe(&self) -> watch::Receiver<bool> {
        self.inner.changed.subscribe()
    }

    fn notify(&self) {
        let ready = self.is_ready_flag();
        self.inner.changed.send_replace(ready);
    }
}

impl fmt::Debug for Readiness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Readiness")
            .field("ready", &self.inner.ready.load(Ordering::Relaxed))
            .field("draining", &self.is_draining())
            .finish_non_exhaustive()
    }
}

/// The HTTP health routes: `GET /healthz` (200 while the process serves)
/// and `GET /readyz` (200 when ready, 503 with the reasons otherwise).
#[cfg(feature = "http")]
pub fn http_routes(readiness: Readiness) -> axum::Router {
    use axum::http::{StatusCode, header};
    use axum::response::IntoResponse;
    use axum::routing::get;

    let json = || [(header::CONTENT_TYPE, "application/json")];
    axum::Router::new()
        .route(
            "/healthz",
            get(move || async move { (json(), "{\"status\":\"ok\"}") }),
        )
        .route(
            "/readyz",
            get(move || {
                let readiness = readiness.clone();
                async move {
                    match readiness.check().await {
                        Ok(()) => (StatusCode::OK, json(), "{\"status\":\"ready\"}".to_string())
                            .into_response(),
                        Err(reasons) => {
                            let body =
                                serde_json::json!({"status": "not ready", "reasons": reasons});
                            (StatusCode::SERVICE_UNAVAILABLE, json(), body.to_string())
                                .into_response()
                        }
                    }
                }
            }),
        )
}

/// The `grpc.health.v1.Health` service, kept in step with `readiness`: the
/// overall status (service name `""`) and each of `services` are SERVING
/// while the flags say ready and NOT_SERVING otherwise (during drain, say).
///
/// A task spawned on the current runtime follows the changes; it ends when
/// every `Readiness` handle is gone.
#[cfg(feature = "grpc")]
pub fn grpc_service(
    readiness: Readiness,
    services: &[&str],
) -> tonic_health::pb::health_server::HealthServer<impl tonic_health::pb::health_server::Health> {
    use tonic_health::ServingStatus;

    let (reporter, service) = tonic_health::server::health_reporter();
    let names: Vec<String> = std::iter::once(String::new())
        .chain(services.iter().map(|s| (*s).to_string()))
        .collect();
    let mut rx = readiness.subscribe();
    drop(readiness);
    tokio::spawn(async move {
        loop {
            let status = if *rx.borrow_and_update() {
                ServingStatus::Serving
            } else {
                ServingStatus::NotServing
            };
            for name in &names {
                reporter.set_service_status(name, status).await;
            }
            if rx.changed().await.is_err() {
                break;
            }
        }
    });
    service
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn flags_and_checks() {
        let r = Readiness::new();
        assert_eq!(r.check().await, Ok(()));
        r.set_ready(false);
        assert_eq!(r.check().await, Err(vec!["not ready".to_string()]));
        r.set_ready(true);
        r.add_check("redis", || async { Err("connection refused".to_string()) });
        r.add_check("disk", || async { Ok(()) });
        assert_eq!(
            r.check().await,
            Err(vec!["redis: connection refused".to_string()])
        );
    }

    #[tokio::test(start_paused = true)]
    async fn slow_checks_time_out() {
        let r = Readiness::new();
        r.add_check("slow", || async {
            tokio::time::sleep(Duration::from_secs(60)).await;
            Ok(())
        });
        let err = r.check().await.unwrap_err();
        assert_eq!(err, vec!["slow: timed out after 1s".to_string()]);
    }

    #[tokio::test]
    async fn draining_is_final_and_observed() {
        let r = Readiness::new();
        let mut rx = r.subscribe();
        assert!(*rx.borrow_and_update());
        r.set_draining();
        rx.changed().await.unwrap();
        assert!(!*rx.borrow());
        r.set_ready(true);
        assert!(!r.is_ready_flag());
        assert_eq!(r.check().await, Err(vec!["draining".to_string()]));
    }
}
