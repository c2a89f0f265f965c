use prometheus_client::registry::Registry;

use super::*;
use crate::encode;

fn value(registry: &Registry, series: &str) -> Option<f64> {
    let text = encode(registry).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

fn state(registry: &Registry, breaker: &str, state: &str) -> Option<f64> {
    value(
        registry,
        &format!(r#"circuit_breaker_state{{breaker="{breaker}",state="{state}"}}"#),
    )
}

#[test]
fn a_new_breaker_is_closed() {
    let mut registry = Registry::default();
    let breakers = BreakerMetrics::register(&mut registry);
    let _sum = breakers.breaker("sum");
    assert_eq!(state(&registry, "sum", "closed"), Some(1.0));
    for other in ["open", "half_open", "forced_open", "forced_closed"] {
        assert_eq!(state(&registry, "sum", other), Some(0.0), "{other}");
    }
    assert_eq!(
        value(
            &registry,
            r#"circuit_breaker_rejections_total{breaker="sum"}"#
        ),
        Some(0.0)
    );
}

#[test]
fn transitions_move_the_state_gauge_and_count() {
    let mut registry = Registry::default();
    let breakers = BreakerMetrics::register(&mut registry);
    let sum = breakers.breaker("sum");
    let _concat = breakers.breaker("concat");
    let change = sum.on_state_change();
    change(BreakerState::Closed, BreakerState::Open);
    change(BreakerState::Open, BreakerState::HalfOpen);
    change(BreakerState::HalfOpen, BreakerState::Open);
    assert_eq!(state(&registry, "sum", "open"), Some(1.0));
    assert_eq!(state(&registry, "sum", "closed"), Some(0.0));
    assert_eq!(state(&registry, "sum", "half_open"), Some(0.0));
    assert_eq!(
        state(&registry, "concat", "closed"),
        Some(1.0),
        "other breakers untouched"
    );
    let transitions = |from: &str, to: &str| {
        value(
            &registry,
            &format!(
                r#"circuit_breaker_transitions_total{{breaker="sum",from="{from}",to="{to}"}}"#
            ),
        )
    };
    assert_eq!(transitions("closed", "open"), Some(1.0));
    assert_eq!(transitions("open", "half_open"), Some(1.0));
    assert_eq!(transitions("half_open", "open"), Some(1.0));
    assert_eq!(transitions("half_open", "closed"), None);
}

#[test]
fn forced_states_are_states_too() {
    let mut registry = Registry::default();
    let breakers = BreakerMetrics::register(&mut registry);
    let sum = breakers.breaker("sum");
    sum.state_changed(BreakerState::Closed, BreakerState::ForcedOpen);
    assert_eq!(state(&registry, "sum", "forced_open"), Some(1.0));
    assert_eq!(state(&registry, "sum", "closed"), Some(0.0));
    sum.state_changed(BreakerState::ForcedOpen, BreakerState::Closed);
    assert_eq!(state(&registry, "sum", "forced_open"), Some(0.0));
    assert_eq!(state(&registry, "sum", "closed"), Some(1.0));
}

#[test]
fn rejections_count_from_every_clone_and_thread() {
    let mut registry = Registry::default();
    let breakers = BreakerMetrics::register(&mut registry);
    let limiters = LimiterMetrics::register(&mut registry);
    let sum = breakers.breaker("sum");
    let reject = sum.on_rejected();
    let clone = sum.clone();
    reject();
    clone.rejected();
    let limiter = limiters.limiter("sum");
    let limited = limiter.on_rejected();
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| (0..250).for_each(|_| limited("rate_exceeded")));
        }
    });
    limiter.rejected("queue_full");
    assert_eq!(
        value(
            &registry,
            r#"circuit_breaker_rejections_total{breaker="sum"}"#
        ),
        Some(2.0)
    );
    let rejections = |reason: &str| {
        value(
            &registry,
            &format!(r#"rate_limit_rejections_total{{limiter="sum",reason="{reason}"}}"#),
        )
    };
    assert_eq!(rejections("rate_exceeded"), Some(1000.0));
    assert_eq!(rejections("queue_full"), Some(1.0));
    assert_eq!(rejections("over_limit"), None);
}

#[test]
fn adaptive_limits_appear_once_reported() {
    let mut registry = Registry::default();
    let limiters = LimiterMetrics::register(&mut registry);
    let fixed = limiters.limiter("fixed");
    let adaptive = limiters.limiter("adaptive");
    fixed.rejected("rate_exceeded");
    let change = adaptive.on_limit_change();
    change(20);
    change(14);
    assert_eq!(
        value(&registry, r#"concurrency_limit{limiter="adaptive"}"#),
        Some(14.0)
    );
    assert_eq!(
        value(&registry, r#"concurrency_limit{limiter="fixed"}"#),
        None
    );
    adaptive.limit_changed(usize::MAX);
    assert_eq!(
        value(&registry, r#"concurrency_limit{limiter="adaptive"}"#),
        Some(i64::MAX as f64)
    );
}

#[test]
fn state_names_round_trip_and_garbage_is_none() {
    let names: std::collections::HashSet<_> =
        BreakerState::ALL.iter().map(|s| s.as_str()).collect();
    assert_eq!(names.len(), BreakerState::ALL.len());
    for state in BreakerState::ALL {
        assert_eq!(BreakerState::from_name(state.as_str()), Some(state));
    }
    for garbage in ["", "Open", "half-open", "closed ", "\u{0}", "forced"] {
        assert_eq!(BreakerState::from_name(garbage), None, "{garbage:?}");
    }
}
