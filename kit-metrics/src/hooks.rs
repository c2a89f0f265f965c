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
//! // What a breaker hook calls (kit-circuitbreaker's state names map one
//! // to one: `BreakerState::from_name(state.as_str())`).
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
//! | `circuit_breaker_state` | gauge, 1 for the current state and 0 for the others | `breaker`, `state` (`closed`, `open`, `half_open`, `forced_open`, `forced_closed`) |
//! | `circuit_breaker_transitions_total` | counter | `breaker`, `from`, `to` |
//! | `circuit_breaker_rejections_total` | counter: calls refused while open | `breaker` |
//! | `rate_limit_rejections_total` | counter: calls refused by a limiter | `limiter`, `reason` (the limiter's own reason name, such as `rate_exceeded`) |
//! | `concurrency_limit` | gauge: an adaptive limiter's current limit, once it has reported one | `limiter` |
//!
//! Label values are `&'static str` or names fixed when a handle is made,
//! so no input can grow the number of series.
//!
//! # Connecting the breaker and limiter crates
//! Their hook traits (`kit_circuitbreaker::Hooks`, `kit_ratelimit::hooks::Hooks`)
//! and these handles live in different crates, so the orphan rule puts the
//! glue here, behind one feature per crate (kit-metrics depends on them,
//! never the reverse): with feature `circuitbreaker`, a [`BreakerHook`] is
//! a breaker's `Hooks`; with feature `ratelimit`, a [`LimiterHook`] is a
//! limiter's.

use std::borrow::Cow;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// A breaker's state, as the metrics name it. kit-circuitbreaker's own
/// state type maps onto it one to one, by name ([`BreakerState::from_name`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BreakerState {
    /// Calls pass; failures are counted.
    Closed,
    /// Calls are refused.
    Open,
    /// A few probe calls pass to test recovery.
    HalfOpen,
    /// Opened by hand: calls are refused until a reset.
    ForcedOpen,
    /// Closed by hand: calls pass and nothing trips until a reset.
    ForcedClosed,
}

impl BreakerState {
    /// Every state, in gauge order.
    pub const ALL: [BreakerState; 5] = [
        BreakerState::Closed,
        BreakerState::Open,
        BreakerState::HalfOpen,
        BreakerState::ForcedOpen,
        BreakerState::ForcedClosed,
    ];

    /// The `state` label value: `closed`, `open`, `half_open`,
    /// `forced_open` or `forced_closed`.
    pub const fn as_str(self) -> &'static str {
        match self {
            BreakerState::Closed => "closed",
            BreakerState::Open => "open",
            BreakerState::HalfOpen => "half_open",
            BreakerState::ForcedOpen => "forced_open",
            BreakerState::ForcedClosed => "forced_closed",
        }
    }

    /// The state named `name` (as [`as_str`](BreakerState::as_str) writes
    /// it); `None` for any other text.
    pub fn from_name(name: &str) -> Option<BreakerState> {
        BreakerState::ALL.into_iter().find(|s| s.as_str() == name)
    }

    const fn index(self) -> usize {
        self as usize
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
struct RejectionLabels {
    limiter: Cow<'static, str>,
    reason: &'static str,
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
    states: [Gauge; 5],
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
    /// with its probes taken, or forced open).
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

/// The limiter families, registered once per registry. See the
/// [module docs](self).
#[derive(Clone, Debug)]
pub struct LimiterMetrics {
    rejections: Family<RejectionLabels, Counter>,
    limits: Family<LimiterLabels, Gauge>,
}

impl LimiterMetrics {
    /// Registers the limiter families in `registry`.
    pub fn register(registry: &mut Registry) -> LimiterMetrics {
        let metrics = LimiterMetrics {
            rejections: Family::default(),
            limits: Family::default(),
        };
        registry.register(
            "rate_limit_rejections",
            "Calls refused by a rate or concurrency limiter, by reason",
            metrics.rejections.clone(),
        );
        registry.register(
            "concurrency_limit",
            "Current limit of an adaptive concurrency limiter",
            metrics.limits.clone(),
        );
        metrics
    }

    /// The handle for one limiter.
    pub fn limiter(&self, name: impl Into<Cow<'static, str>>) -> LimiterHook {
        LimiterHook {
            name: name.into(),
            rejections: self.rejections.clone(),
            limits: self.limits.clone(),
        }
    }
}

/// Records one limiter's rejections and limit changes; cheap to clone.
///
/// Rejections look their series up by reason (a hash of two short
/// strings): they happen off the admission path, when a request is being
/// turned away anyway.
#[derive(Clone, Debug)]
pub struct LimiterHook {
    name: Cow<'static, str>,
    rejections: Family<RejectionLabels, Counter>,
    limits: Family<LimiterLabels, Gauge>,
}

impl LimiterHook {
    /// Records a refused call; `reason` is the limiter's name for why
    /// (kit-ratelimit's `Reason::as_str`, such as `rate_exceeded`).
    pub fn rejected(&self, reason: &'static str) {
        self.rejections
            .get_or_create(&RejectionLabels {
                limiter: self.name.clone(),
                reason,
            })
            .inc();
    }

    /// Records an adaptive limiter's new limit.
    pub fn limit_changed(&self, limit: usize) {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.limits
            .get_or_create(&LimiterLabels {
                limiter: self.name.clone(),
            })
            .set(limit);
    }

    /// [`rejected`](LimiterHook::rejected) as a closure, for a builder's hook.
    pub fn on_rejected(&self) -> impl Fn(&'static str) + Clone + Send + Sync + 'static {
        let hook = self.clone();
        move |reason| hook.rejected(reason)
    }

    /// [`limit_changed`](LimiterHook::limit_changed) as a closure, for a
    /// builder's hook.
    pub fn on_limit_change(&self) -> impl Fn(usize) + Clone + Send + Sync + 'static {
        let hook = self.clone();
        move |limit| hook.limit_changed(limit)
    }
}

#[cfg(test)]
mod tests;

#[cfg(feature = "circuitbreaker")]
impl kit_circuitbreaker::Hooks for BreakerHook {
    fn on_state_change(&self, t: &kit_circuitbreaker::Transition) {
        if let (Some(from), Some(to)) = (
            BreakerState::from_name(t.from.as_str()),
            BreakerState::from_name(t.to.as_str()),
        ) {
            self.state_changed(from, to);
        }
    }

    fn on_rejected(&self, _state: kit_circuitbreaker::State) {
        self.rejected();
    }
}

#[cfg(feature = "ratelimit")]
impl kit_ratelimit::hooks::Hooks for LimiterHook {
    fn on_reject(&self, r: &kit_ratelimit::hooks::Rejection) {
        self.rejected(r.reason.as_str());
    }

    fn on_limit_change(&self, c: &kit_ratelimit::hooks::LimitChange) {
        self.limit_changed(c.to);
    }
}
