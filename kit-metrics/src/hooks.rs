//! Metrics for circuit breakers and rate limiters, through their hooks.
//!
//! kit-circuitbreaker and kit-ratelimit report state changes and rejections
//! through hooks (callbacks given to their builders), and depend on no
//! metrics crate. This module is the other half: it registers the series
//! and hands out handles whose methods, or the closures they return, a hook
//! calls. Wiring one breaker:
//!
//! ```
//! use kit_metrics::hooks::{BreakerMetrics, BreakerState};
//! use prometheus_client::registry::Registry;
//!
//! let mut registry = Registry::default();
//! let breakers = BreakerMetrics::register(&mut registry);
//! let sum = breakers.breaker("sum");
//!
//! // Given to the breaker's builder, e.g. `.on_state_change(..)` and
//! // `.on_rejected(..)`, mapping its state type to `BreakerState`.
//! let on_change = sum.on_state_change();
//! let on_rejected = sum.on_rejected();
//!
//! on_change(BreakerState::Closed, BreakerState::Open);
//! on_rejected();
//! let text = kit_metrics::encode(&registry).unwrap();
//! assert!(text.contains(r#"circuit_breaker_state{breaker="sum",state="open"} 1"#));
//! assert!(text.contains(r#"circuit_breaker_state{breaker="sum",state="closed"} 0"#));
//! assert!(text.contains(r#"circuit_breaker_rejections_total{breaker="sum"} 1"#));
//! ```
//!
//! Series:
//!
//! | series | type | labels |
//! |---|---|---|
//! | `circuit_breaker_state` | gauge, 1 for the current state and 0 for the others | `breaker`, `state` (`closed`, `open`, `half_open`) |
//! | `circuit_breaker_transitions_total` | counter | `breaker`, `from`, `to` |
//! | `circuit_breaker_rejections_total` | counter: calls refused while open | `breaker` |
//! | `rate_limit_rejections_total` | counter: calls refused by a limiter | `limiter` |

use std::borrow::Cow;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// A breaker's state, as the metrics name it. kit-circuitbreaker's own
/// state type maps onto it one to one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BreakerState {
    /// Calls pass; failures are counted.
    Closed,
    /// Calls are refused.
    Open,
    /// A few probe calls pass to test recovery.
    HalfOpen,
}

impl BreakerState {
    /// Every state, in gauge order.
    pub const ALL: [BreakerState; 3] = [
        BreakerState::Closed,
        BreakerState::Open,
        BreakerState::HalfOpen,
    ];

    /// The `state` label value.
    pub const fn as_str(self) -> &'static str {
        match self {
            BreakerState::Closed => "closed",
            BreakerState::Open => "open",
            BreakerState::HalfOpen => "half_open",
        }
    }

    const fn index(self) -> usize {
        match self {
            BreakerState::Closed => 0,
            BreakerState::Open => 1,
            BreakerState::HalfOpen => 2,
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    breaker: Cow<'static, str>,
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TransitionLabels {
    breaker: Cow<'static, str>,
    from: &'static str,
    to: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BreakerLabels {
    breaker: Cow<'static, str>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LimiterLabels {
    limiter: Cow<'static, str>,
}

/// The circuit-breaker families, registered once per registry. See the
/// [module docs](self).
#[derive(Clone, Debug)]
pub struct BreakerMetrics {
    state: Family<StateLabels, Gauge>,
    transitions: Family<TransitionLabels, Counter>,
    rejections: Family<BreakerLabels, Counter>,
}

impl BreakerMetrics {
    /// Registers the breaker families in `registry`.
    pub fn register(registry: &mut Registry) -> BreakerMetrics {
        let metrics = BreakerMetrics {
            state: Family::default(),
            transitions: Family::default(),
            rejections: Family::default(),
        };
        registry.register(
            "circuit_breaker_state",
            "Current circuit breaker state: 1 for the state it is in, 0 for the others",
            metrics.state.clone(),
        );
        registry.register(
            "circuit_breaker_transitions",
            "Circuit breaker state changes",
            metrics.transitions.clone(),
        );
        registry.register(
            "circuit_breaker_rejections",
            "Calls refused by an open circuit breaker",
            metrics.rejections.clone(),
        );
        metrics
    }

    /// The handle for one breaker, starting closed.
    pub fn breaker(&self, name: impl Into<Cow<'static, str>>) -> BreakerHook {
        let name = name.into();
        let states = BreakerState::ALL.map(|s| {
            self.state.get_or_create_owned(&StateLabels {
                breaker: name.clone(),
                state: s.as_str(),
            })
        });
        let rejections = self.rejections.get_or_create_owned(&BreakerLabels {
            breaker: name.clone(),
        });
        let hook = BreakerHook {
            name,
            states,
            transitions: self.transitions.clone(),
            rejections,
        };
        hook.set_state(BreakerState::Closed);
        hook
    }
}

/// Records one breaker's state changes and rejections; cheap to clone, and
/// every clone records into the same series.
#[derive(Clone, Debug)]
pub struct BreakerHook {
    name: Cow<'static, str>,
    states: [Gauge; 3],
    transitions: Family<TransitionLabels, Counter>,
    rejections: Counter,
}

impl BreakerHook {
    /// Records a change of state.
    pub fn state_changed(&self, from: BreakerState, to: BreakerState) {
        self.set_state(to);
        self.transitions
            .get_or_create(&TransitionLabels {
                breaker: self.name.clone(),
                from: from.as_str(),
                to: to.as_str(),
            })
            .inc();
    }

    /// Records a call refused because the breaker is open (or half-open
    /// with its probes taken).
    pub fn rejected(&self) {
        self.rejections.inc();
    }

    /// [`state_changed`](BreakerHook::state_changed) as a closure, for a
    /// builder's hook.
    pub fn on_state_change(
        &self,
    ) -> impl Fn(BreakerState, BreakerState) + Clone + Send + Sync + 'static {
        let hook = self.clone();
        move |from, to| hook.state_changed(from, to)
    }

    /// [`rejected`](BreakerHook::rejected) as a closure, for a builder's hook.
    pub fn on_rejected(&self) -> impl Fn() + Clone + Send + Sync + 'static {
        let hook = self.clone();
        move || hook.rejected()
    }

    fn set_state(&self, to: BreakerState) {
        for state in BreakerState::ALL {
            self.states[state.index()].set(i64::from(state == to));
        }
    }
}

/// The rate-limiter family, registered once per registry. See the
/// [module docs](self).
#[derive(Clone, Debug)]
pub struct LimiterMetrics {
    rejections: Family<LimiterLabels, Counter>,
}

impl LimiterMetrics {
    /// Registers the limiter family in `registry`.
    pub fn register(registry: &mut Registry) -> LimiterMetrics {
        let metrics = LimiterMetrics {
            rejections: Family::default(),
        };
        registry.register(
            "rate_limit_rejections",
            "Calls refused by a rate or concurrency limiter",
            metrics.rejections.clone(),
        );
        metrics
    }

    /// The handle for one limiter; its series starts at 0.
    pub fn limiter(&self, name: impl Into<Cow<'static, str>>) -> LimiterHook {
        LimiterHook {
            rejections: self.rejections.get_or_create_owned(&LimiterLabels {
                limiter: name.into(),
            }),
        }
    }
}

/// Records one limiter's rejections; cheap to clone.
#[derive(Clone, Debug)]
pub struct LimiterHook {
    rejections: Counter,
}

impl LimiterHook {
    /// Records a refused call.
    pub fn rejected(&self) {
        self.rejections.inc();
    }

    /// [`rejected`](LimiterHook::rejected) as a closure, for a builder's hook.
    pub fn on_rejected(&self) -> impl Fn() + Clone + Send + Sync + 'static {
        let hook = self.clone();
        move || hook.rejected()
    }
}

#[cfg(test)]
mod tests;
