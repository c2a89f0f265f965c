use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use backon::ExponentialBuilder;
use kit_endpoint::{Code, Error};
use tower_layer::Layer;

use super::{Retry, RetryBudget};

type Predicate = dyn Fn(&Error) -> bool + Send + Sync;

/// The settings every clone of a [`Retry`] shares.
pub(super) struct Settings {
    pub(super) max_attempts: u32,
    pub(super) attempt_timeout: Option<Duration>,
    pub(super) backoff: ExponentialBuilder,
    pub(super) retry_on: Arc<Predicate>,
    pub(super) budget: Option<Arc<RetryBudget>>,
}

/// Applies [`Retry`] to services; also its builder. Every service made by
/// one layer shares its [`RetryBudget`].
///
/// Defaults: 3 attempts in all; no per-attempt timeout (the request's
/// deadline still bounds every attempt); backoff from 10 ms doubling to 1 s
/// with jitter; retries on `Unavailable`, `DeadlineExceeded` and
/// `ResourceExhausted`; the default [`RetryBudget`] (20% of calls plus 10 a
/// second over 10 s).
#[derive(Clone)]
pub struct RetryLayer {
    settings: Arc<Settings>,
}

impl Default for RetryLayer {
    fn default() -> Self {
        RetryLayer::new()
    }
}

impl RetryLayer {
    /// The defaults above.
    pub fn new() -> RetryLayer {
        RetryLayer {
            settings: Arc::new(Settings {
                max_attempts: 3,
                attempt_timeout: None,
                backoff: ExponentialBuilder::new()
                    .with_min_delay(Duration::from_millis(10))
                    .with_max_delay(Duration::from_secs(1))
                    .with_factor(2.0)
                    .with_jitter()
                    .without_max_times(),
                retry_on: Arc::new(|e: &Error| {
                    matches!(
                        e.code(),
                        Code::Unavailable | Code::DeadlineExceeded | Code::ResourceExhausted
                    )
                }),
                budget: Some(Arc::new(RetryBudget::default())),
            }),
        }
    }

    fn edit(mut self, f: impl FnOnce(&mut Settings)) -> Self {
        let s = &self.settings;
        let mut next = Settings {
            max_attempts: s.max_attempts,
            attempt_timeout: s.attempt_timeout,
            backoff: s.backoff,
            retry_on: s.retry_on.clone(),
            budget: s.budget.clone(),
        };
        f(&mut next);
        self.settings = Arc::new(next);
        self
    }

    /// Attempts in all, the first included (Go kit's `max`); at least 1.
    pub fn max_attempts(self, n: u32) -> Self {
        self.edit(|s| s.max_attempts = n.max(1))
    }

    /// A timeout for each attempt, within the request's deadline.
    pub fn attempt_timeout(self, timeout: Duration) -> Self {
        self.edit(|s| s.attempt_timeout = Some(timeout))
    }

    /// Exponential backoff from `min` doubling to `max`, each delay
    /// stretched by a random factor between 1 and 2 (jitter).
    pub fn backoff(self, min: Duration, max: Duration) -> Self {
        self.edit(|s| {
            s.backoff = s.backoff.with_min_delay(min).with_max_delay(max.max(min));
        })
    }

    /// Seeds the jitter, for reproducible tests.
    pub fn jitter_seed(self, seed: u64) -> Self {
        self.edit(|s| s.backoff = s.backoff.with_jitter_seed(seed))
    }

    /// Retries the errors `retriable` accepts (others are returned at once).
    pub fn retry_on(self, retriable: impl Fn(&Error) -> bool + Send + Sync + 'static) -> Self {
        self.edit(|s| s.retry_on = Arc::new(retriable))
    }

    /// Retries errors with one of these codes.
    pub fn retry_on_codes(self, codes: &[Code]) -> Self {
        let codes = codes.to_vec();
        self.retry_on(move |e| codes.contains(&e.code()))
    }

    /// Caps retries with this budget (shared by every service of this layer).
    pub fn budget(self, budget: RetryBudget) -> Self {
        self.edit(|s| s.budget = Some(Arc::new(budget)))
    }

    /// Shares a budget with other layers.
    pub fn shared_budget(self, budget: Arc<RetryBudget>) -> Self {
        self.edit(|s| s.budget = Some(budget))
    }

    /// No budget: only `max_attempts` limits retries. Retries can then
    /// multiply the load on a failing service by `max_attempts`.
    pub fn no_budget(self) -> Self {
        self.edit(|s| s.budget = None)
    }

    /// The budget, if any.
    pub fn get_budget(&self) -> Option<&Arc<RetryBudget>> {
        self.settings.budget.as_ref()
    }
}

impl fmt::Debug for RetryLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.settings;
        f.debug_struct("RetryLayer")
            .field("max_attempts", &s.max_attempts)
            .field("attempt_timeout", &s.attempt_timeout)
            .field("backoff", &s.backoff)
            .field("budget", &s.budget)
            .finish_non_exhaustive()
    }
}

impl<S> Layer<S> for RetryLayer {
    type Service = Retry<S>;

    fn layer(&self, inner: S) -> Retry<S> {
        Retry {
            inner,
            settings: self.settings.clone(),
        }
    }
}
