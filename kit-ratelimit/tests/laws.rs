//! Property tests for the limiters' laws, on governor's fake clock (and on
//! paused tokio time for the delaying limiter).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::FakeRelativeClock;
use kit_endpoint::{Context, Error, Request, endpoint_fn};
use kit_ratelimit::adaptive::{AdaptiveLimiter, Algorithm, Gradient2, Sample, Vegas};
use kit_ratelimit::hooks::Reason;
use kit_ratelimit::keyed::OnFull;
use kit_ratelimit::{DelayLimitLayer, KeyedRateLimiter, Quota, RateLimiter};
use proptest::prelude::*;
use tower::{ServiceBuilder, ServiceExt};

/// A quota of one token per `t_ms` milliseconds with `burst`.
fn quota(t_ms: u64, burst: u32) -> Quota {
    Quota::with_period(Duration::from_millis(t_ms))
        .unwrap()
        .allow_burst(NonZeroU32::new(burst).unwrap())
}

fn limiter(q: Quota) -> (RateLimiter<FakeRelativeClock>, FakeRelativeClock) {
    let clock = FakeRelativeClock::default();
    (RateLimiter::builder(q).clock(clock.clone()).build(), clock)
}

/// Runs arrivals separated by `gaps` (in µs); returns the arrival times (in
/// ns) that were admitted.
fn admitted(q: Quota, gaps: &[u64]) -> Vec<u64> {
    let (l, clock) = limiter(q);
    let mut now = 0u64;
    let mut out = Vec::new();
    for gap in gaps {
        clock.advance(Duration::from_micros(*gap));
        now += gap * 1000;
        if l.check().is_ok() {
            out.push(now);
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// GCRA's bound: between any two admitted arrivals `T` apart, at most
    /// `burst + T / t` were admitted, whatever the arrival pattern.
    #[test]
    fn admissions_never_exceed_burst_plus_rate(
        t_ms in 1u64..200,
        burst in 1u32..20,
        gaps in prop::collection::vec(0u64..100_000, 1..400),
    ) {
        let t = t_ms * 1_000_000;
        let times = admitted(quota(t_ms, burst), &gaps);
        for i in 0..times.len() {
            for j in i..times.len() {
                let n = (j - i + 1) as u64;
                prop_assert!(n <= u64::from(burst) + (times[j] - times[i]) / t,
                    "{n} admitted within {}ns", times[j] - times[i]);
            }
        }
    }

    /// Arrivals at least one interval apart are all admitted, and so is a
    /// whole burst after a long enough rest.
    #[test]
    fn conforming_traffic_is_never_rejected(
        t_ms in 1u64..200,
        burst in 1u32..20,
        extra in prop::collection::vec(0u64..50_000, 1..200),
    ) {
        let t_us = t_ms * 1000;
        let gaps: Vec<u64> = extra.iter().map(|e| t_us + e).collect();
        prop_assert_eq!(admitted(quota(t_ms, burst), &gaps).len(), gaps.len());
        let (l, clock) = limiter(quota(t_ms, burst));
        for _ in 0..burst { prop_assert!(l.check().is_ok()); }
        prop_assert!(l.check().is_err());
        clock.advance(Duration::from_millis(t_ms * u64::from(burst)));
        for _ in 0..burst { prop_assert!(l.check().is_ok()); }
    }

    /// The wait a rejection reports is exact: one nanosecond sooner is
    /// still too soon, and at the wait a token is there.
    #[test]
    fn retry_hints_are_exact(
        t_ms in 1u64..200,
        burst in 1u32..10,
        gaps in prop::collection::vec(0u64..20_000, 1..100),
    ) {
        let (l, clock) = limiter(quota(t_ms, burst));
        for gap in gaps {
            clock.advance(Duration::from_micros(gap));
            if let Err(wait) = l.check() {
                prop_assert!(wait > Duration::ZERO && wait <= Duration::from_millis(t_ms));
                clock.advance(wait - Duration::from_nanos(1));
                prop_assert!(l.check().is_err());
                clock.advance(Duration::from_nanos(1));
                prop_assert!(l.check().is_ok());
            }
        }
    }

    /// Clones are one limiter: spreading checks over clones decides exactly
    /// as one limiter does.
    #[test]
    fn clones_decide_as_one(
        ops in prop::collection::vec((0usize..4, 0u64..30_000), 1..200),
    ) {
        let (one, clock1) = limiter(quota(10, 3));
        let (shared, clock2) = limiter(quota(10, 3));
        let clones = [shared.clone(), shared.clone(), shared.clone(), shared];
        for (which, gap) in ops {
            clock1.advance(Duration::from_micros(gap));
            clock2.advance(Duration::from_micros(gap));
            prop_assert_eq!(one.check(), clones[which].check());
        }
    }

    /// Keys are independent: a keyed limiter decides for each key exactly
    /// as a limiter of its own fed only that key's requests would.
    #[test]
    fn keys_decide_independently(
        ops in prop::collection::vec((0u8..6, 0u64..30_000), 1..300),
    ) {
        let clock = FakeRelativeClock::default();
        let keyed = KeyedRateLimiter::builder(quota(10, 2)).clock(clock.clone()).build();
        let alone: Vec<_> = (0..6).map(|_| limiter(quota(10, 2))).collect();
        for (key, gap) in ops {
            clock.advance(Duration::from_micros(gap));
            for (_, c) in &alone {
                c.advance(Duration::from_micros(gap));
            }
            let expected = alone[usize::from(key)].0.check().map_err(|wait| (Reason::RateExceeded, wait));
            let got = keyed.check(key).map_err(|r| (r.reason, r.retry_after));
            prop_assert_eq!(got, expected);
        }
    }

    /// Whatever the keys and the timing, a keyed limiter tracks at most
    /// `max_keys` keys, never refuses a key it tracks, and (when evicting)
    /// never refuses a key at all for want of room.
    #[test]
    fn keyed_memory_is_bounded(
        max_keys in 1usize..300,
        evict in any::<bool>(),
        ops in prop::collection::vec((0u32..2_000, 0u64..5_000), 1..1_000),
    ) {
        let clock = FakeRelativeClock::default();
        let on_full = if evict { OnFull::EvictIdlest } else { OnFull::Reject };
        let keyed = KeyedRateLimiter::builder(quota(100, 1))
            .max_keys(max_keys)
            .on_full(on_full)
            .clock(clock.clone())
            .build();
        prop_assert!(keyed.max_keys() <= max_keys && keyed.max_keys() + 63 >= max_keys);
        for (key, gap) in ops {
            clock.advance(Duration::from_micros(gap));
            let before = keyed.len();
            match keyed.check(key) {
                Err(r) if r.reason == Reason::TooManyKeys => {
                    prop_assert!(!evict);
                    prop_assert_eq!(keyed.len(), before, "a refused key was stored");
                }
                _ => {}
            }
            prop_assert!(keyed.len() <= keyed.max_keys());
        }
    }

    /// Adaptive algorithms keep their limits within bounds, whatever the
    /// samples.
    #[test]
    fn adaptive_limits_stay_within_bounds(
        min in 1usize..50,
        span in 0usize..500,
        samples in prop::collection::vec((0u64..10_000_000, 0usize..1_000, any::<bool>()), 1..300),
    ) {
        let max = min + span;
        let mut g = Gradient2::new().min_limit(min).max_limit(max).initial_limit(min + span / 2);
        let mut v = Vegas::new().min_limit(min).max_limit(max).initial_limit(min + span / 2);
        for (rtt_us, in_flight, dropped) in samples {
            let s = Sample::new(Duration::from_micros(rtt_us), in_flight, 10).with_dropped(dropped);
            prop_assert!((min..=max).contains(&g.update(&s)));
            prop_assert!((min..=max).contains(&v.update(&s)));
        }
    }

    /// While latency holds and the limit is in use, Gradient2 never lowers
    /// the limit and Vegas never lowers it either.
    #[test]
    fn steady_latency_never_lowers_the_limit(
        rtt_ms in 1u64..1_000,
        windows in 1usize..200,
    ) {
        let mut g = Gradient2::new().min_limit(1).initial_limit(10);
        let mut v = Vegas::new().initial_limit(10);
        let (mut lg, mut lv) = (g.initial(), v.initial());
        for _ in 0..windows {
            let next_g = g.update(&Sample::new(Duration::from_millis(rtt_ms), lg, 10));
            let next_v = v.update(&Sample::new(Duration::from_millis(rtt_ms), lv, 10));
            prop_assert!(next_g >= lg && next_v >= lv);
            (lg, lv) = (next_g, next_v);
        }
    }

    /// The adaptive limiter never admits more than its limit, and frees
    /// every slot it gave, however permits are acquired and dropped.
    #[test]
    fn adaptive_admission_respects_the_limit(
        limit in 1usize..20,
        ops in prop::collection::vec(any::<bool>(), 1..500),
    ) {
        let limiter = AdaptiveLimiter::new(Vegas::new().initial_limit(limit).min_limit(limit).max_limit(limit));
        let mut held = Vec::new();
        for acquire in ops {
            if acquire {
                match limiter.try_acquire() {
                    Ok(p) => held.push(p),
                    Err(r) => {
                        prop_assert_eq!(held.len(), limit);
                        prop_assert_eq!(r.reason, Reason::OverLimit);
                    }
                }
            } else {
                held.pop();
            }
            prop_assert_eq!(limiter.in_flight(), held.len());
            prop_assert!(held.len() <= limit);
        }
        drop(held);
        prop_assert_eq!(limiter.in_flight(), 0);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// The delaying limiter never lets a request finish waiting after its
    /// deadline, and fails without waiting when the first wait already
    /// would pass it.
    #[test]
    fn delayed_requests_never_outlive_their_deadlines(
        t_ms in 1u64..100,
        burst in 1u32..4,
        requests in prop::collection::vec((0u64..200, 0u64..500), 1..60),
    ) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap();
        rt.block_on(async {
            let svc = ServiceBuilder::new()
                .layer(DelayLimitLayer::per_quota(quota(t_ms, burst)))
                .service(endpoint_fn(|_: Request<()>| async { Ok::<_, Error>(tokio::time::Instant::now()) }));
            let mut tasks = Vec::new();
            for (gap_ms, budget_ms) in requests {
                // sleep, not advance: waiters' timers fire at their instants
                tokio::time::sleep(Duration::from_millis(gap_ms)).await;
                let ctx = Context::new().with_timeout(Duration::from_millis(budget_ms));
                let deadline = ctx.deadline().unwrap();
                let sent = tokio::time::Instant::now();
                let svc = svc.clone();
                tasks.push(tokio::spawn(async move {
                    let result = svc.oneshot(Request::with_context(ctx, ())).await;
                    (result, sent, deadline, tokio::time::Instant::now())
                }));
                // let the request reach the limiter before time moves on
                tokio::task::yield_now().await;
            }
            for task in tasks {
                let (result, sent, deadline, done) = task.await.unwrap();
                assert!(done <= deadline, "finished {:?} past the deadline", done - deadline);
                match result {
                    Ok(called) => assert!(called <= deadline && called >= sent),
                    Err(e) => {
                        let hint = e.retry_after().unwrap();
                        assert!(hint > Duration::ZERO);
                        // it failed because the next wait would pass the deadline
                        assert!(done + hint > deadline);
                    }
                }
            }
        });
    }
}
