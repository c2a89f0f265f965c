use tower_layer::Layer;

use crate::{Breaker, ByCode, CircuitBreaker, Config};

/// Applies [`CircuitBreaker`] to services.
///
/// [`CircuitBreakerLayer::new`] gives every service it wraps a breaker of
/// its own, as a breaker per instance needs (a layer applied by a
/// discovery factory to each instance's endpoint).
/// [`CircuitBreakerLayer::shared`] makes them all share one.
///
/// ```
/// use kit_circuitbreaker::{AnyError, CircuitBreakerLayer, Config};
/// use kit_endpoint::{Error, endpoint_fn};
/// use tower::{Layer, ServiceBuilder, ServiceExt};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// // Go kit's breaker, down to counting every error.
/// let layer = CircuitBreakerLayer::new(Config::gobreaker()).classify(AnyError);
/// let svc = ServiceBuilder::new()
///     .layer(layer)
///     .service(endpoint_fn(|x: u32| async move { Ok::<_, Error>(x + 1) }));
/// assert_eq!(svc.oneshot(1).await.unwrap(), 2);
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct CircuitBreakerLayer<C = ByCode> {
    source: Source,
    classify: C,
}

#[derive(Clone, Debug)]
enum Source {
    Config(Config),
    Shared(Breaker),
}

impl CircuitBreakerLayer {
    /// A new breaker with `config` for each service wrapped.
    pub fn new(config: Config) -> CircuitBreakerLayer {
        CircuitBreakerLayer {
            source: Source::Config(config),
            classify: ByCode,
        }
    }

    /// The same `breaker` for every service wrapped.
    pub fn shared(breaker: Breaker) -> CircuitBreakerLayer {
        CircuitBreakerLayer {
            source: Source::Shared(breaker),
            classify: ByCode,
        }
    }
}

impl<C> CircuitBreakerLayer<C> {
    /// Classifies results with `classify` instead.
    pub fn classify<D>(self, classify: D) -> CircuitBreakerLayer<D> {
        CircuitBreakerLayer {
            source: self.source,
            classify,
        }
    }
}

impl<S, C: Clone> Layer<S> for CircuitBreakerLayer<C> {
    type Service = CircuitBreaker<S, C>;

    fn layer(&self, inner: S) -> CircuitBreaker<S, C> {
        let breaker = match &self.source {
            Source::Config(config) => Breaker::new(config.clone()),
            Source::Shared(breaker) => breaker.clone(),
        };
        CircuitBreaker::with_classifier(inner, breaker, self.classify.clone())
    }
}
