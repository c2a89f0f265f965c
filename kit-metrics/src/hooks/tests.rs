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
    assert_eq!(state(&registry, "sum", "open"), Some(0.0));
    assert_eq!(state(&registry, "sum", "half_open"), Some(0.0));
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
    let concat = breakers.breaker("concat");
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
    drop(concat);
}

#[test]
fn rejections_count_from_every_clone() {
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
            s.spawn(|| (0..250).for_each(|_| limited()));
        }
    });
    assert_eq!(
        value(
            &registry,
            r#"circuit_breaker_rejections_total{breaker="sum"}"#
        ),
        Some(2.0)
    );
    assert_eq!(
        value(&registry, r#"rate_limit_rejections_total{limiter="sum"}"#),
        Some(1000.0)
    );
}

#[test]
fn state_names_are_distinct() {
    let names: std::collections::HashSet<_> =
        BreakerState::ALL.iter().map(|s| s.as_str()).collect();
    assert_eq!(names.len(), 3);
}
