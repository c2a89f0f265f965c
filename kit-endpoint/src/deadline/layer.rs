use std::time::Duration;

use tower_layer::Layer;

use super::Deadline;

/// Applies [`Deadline`] to services.
///
/// ```
/// use kit_endpoint::{Code, DeadlineLayer, Error, Request, endpoint_fn};
/// use std::time::Duration;
/// use tower::{ServiceBuilder, ServiceExt};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
/// let slow = ServiceBuilder::new()
///     .layer(DeadlineLayer::with_timeout(Duration::from_millis(50)))
///     .service(endpoint_fn(|_: Request<()>| async {
///         tokio::time::sleep(Duration::from_secs(1)).await;
///         Ok::<_, Error>(())
///     }));
/// let err = slow.oneshot(Request::new(())).await.unwrap_err();
/// assert_eq!(err.code(), Code::DeadlineExceeded);
/// # }
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct DeadlineLayer {
    timeout: Option<Duration>,
}

impl DeadlineLayer {
    /// Enforces only the deadline each request carries.
    pub fn new() -> DeadlineLayer {
        DeadlineLayer { timeout: None }
    }

    /// Enforces the request's deadline and `timeout` per call, whichever
    /// comes first.
    pub fn with_timeout(timeout: Duration) -> DeadlineLayer {
        DeadlineLayer {
            timeout: Some(timeout),
        }
    }
}

impl<S> Layer<S> for DeadlineLayer {
    type Service = Deadline<S>;

    fn layer(&self, inner: S) -> Deadline<S> {
        Deadline {
            inner,
            timeout: self.timeout,
        }
    }
}
