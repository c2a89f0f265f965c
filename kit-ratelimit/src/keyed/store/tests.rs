use std::num::NonZeroU32;
use std::time::Duration;

use governor::Quota;
use governor::clock::FakeRelativeClock;
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;

use super::*;

type Limiter = governor::RateLimiter<
    Probe<u64>,
    Store<u64, FakeRelativeClock>,
    FakeRelativeClock,
    NoOpMiddleware<Nanos>,
>;

fn limiter(quota: Quota, max_keys: usize, on_full: OnFull, clock: &FakeRelativeClock) -> Limiter {
    let store = Store::new(
        max_keys,
        on_full,
        quota.replenish_interval(),
        Duration::from_secs(3600),
        clock.clone(),
    );
    governor::RateLimiter::new(quota, store, clock.clone())
}

/// `Ok(true)` admitted, `Ok(false)` rate limited, `Err(wait)` refused as new.
fn check(l: &Limiter, key: u64) -> Result<bool, Duration> {
    let probe = Probe::new(key);
    let decision = l.check_key(&probe);
    match probe.refused.get() {
        Some(wait) => Err(wait),
        None => Ok(decision.is_ok()),
    }
}

fn per_second(n: u32) -> Quota {
    Quota::per_second(NonZeroU32::new(n).unwrap())
}

#[test]
fn shard_counts_respect_the_cap() {
    let clock = FakeRelativeClock::default();
    for (max, shards, total) in [
        (0, 1, 1),
        (1, 1, 1),
        (100, 1, 100),
        (200, 2, 200),
        (10_000, 64, 9_984),
        (1_000_000, 64, 1_000_000),
        (1_000_001, 64, 1_000_000),
    ] {
        let s: Store<u64, _> = Store::new(
            max,
            OnFull::Reject,
            Duration::from_millis(1),
            Duration::ZERO,
            clock.clone(),
        );
        assert_eq!(s.shards.len(), shards, "max {max}");
        assert_eq!(s.max_keys(), total, "max {max}");
        assert!(s.max_keys() <= max.max(1));
    }
}

#[test]
fn a_million_distinct_keys_fit_in_the_cap() {
    let clock = FakeRelativeClock::default();
    let l = limiter(per_second(1), 10_000, OnFull::Reject, &clock);
    let (mut admitted, mut refused) = (0u64, 0u64);
    for key in 0..1_000_000u64 {
        match check(&l, key) {
            Ok(true) => admitted += 1,
            Ok(false) => panic!("a new key was rate limited"),
            Err(wait) => {
                // the first keys go idle one second after they came
                assert!(wait <= Duration::from_secs(2), "{wait:?}");
                refused += 1;
            }
        }
    }
    let store = l.into_state_store();
    assert!(ShrinkableKeyedStateStore::len(&store) <= 10_000);
    assert_eq!(admitted, ShrinkableKeyedStateStore::len(&store) as u64);
    assert_eq!(admitted + refused, 1_000_000);
    // hashbrown keeps at most a power of two of buckets, each an entry
    // plus one control byte, per shard
    let bound = 2 * 10_000 * (std::mem::size_of::<Entry<u64>>() + 1) + 64 * 64;
    assert!(
        store.allocation_size() <= bound,
        "{} > {bound}",
        store.allocation_size()
    );
}

#[test]
fn known_keys_keep_their_limits_when_full() {
    let clock = FakeRelativeClock::default();
    let l = limiter(per_second(1), 64, OnFull::Reject, &clock);
    for key in 0..64 {
        assert_eq!(check(&l, key), Ok(true));
    }
    assert!(check(&l, 1000).is_err());
    // key 7 is known: it is rate limited, not refused
    assert_eq!(check(&l, 7), Ok(false));
}

#[test]
fn idle_keys_make_room() {
    let clock = FakeRelativeClock::default();
    let l = limiter(per_second(10), 64, OnFull::Reject, &clock);
    for key in 0..64 {
        assert_eq!(check(&l, key), Ok(true));
    }
    let wait = check(&l, 64).unwrap_err();
    // each key's one token comes back 100ms later, and it is idle a
    // replenish interval after that
    assert_eq!(wait, Duration::from_millis(200));
    clock.advance(wait - Duration::from_nanos(1));
    assert!(check(&l, 64).is_err());
    clock.advance(Duration::from_nanos(1));
    assert_eq!(check(&l, 64), Ok(true));
    assert_eq!(ShrinkableKeyedStateStore::len(&l.into_state_store()), 1);
}

#[test]
fn eviction_forgets_the_keys_closest_to_idle() {
    let clock = FakeRelativeClock::default();
    // burst 8: a key that spent its burst stays active far longer
    let quota = per_second(1).allow_burst(NonZeroU32::new(8).unwrap());
    let l = limiter(quota, 64, OnFull::EvictIdlest, &clock);
    for _ in 0..8 {
        assert_eq!(check(&l, 0), Ok(true));
    }
    for key in 1..64 {
        clock.advance(Duration::from_millis(1));
        assert_eq!(check(&l, key), Ok(true));
    }
    // full: the next new key evicts 8 keys, the ones that came first
    assert_eq!(check(&l, 64), Ok(true));
    assert_eq!(
        check(&l, 0),
        Ok(false),
        "the busy key was kept, and is still limited"
    );
    for key in 1..=8 {
        // evicted keys are new again: a fresh burst
        assert_eq!(check(&l, key), Ok(true), "key {key}");
    }
    let store = l.into_state_store();
    assert!(ShrinkableKeyedStateStore::len(&store) <= 64);
}

#[test]
fn evicting_ties_removes_exactly_an_eighth() {
    let clock = FakeRelativeClock::default();
    let l = limiter(per_second(1), 64, OnFull::EvictIdlest, &clock);
    // time stands still: every key has the same arrival time
    for key in 0..64 {
        assert_eq!(check(&l, key), Ok(true));
    }
    assert_eq!(check(&l, 64), Ok(true));
    let store = l.into_state_store();
    assert_eq!(ShrinkableKeyedStateStore::len(&store), 64 - 8 + 1);
}

#[test]
fn retain_recent_forgets_only_idle_keys() {
    let clock = FakeRelativeClock::default();
    let l = limiter(per_second(1), 1000, OnFull::Reject, &clock);
    for key in 0..100 {
        check(&l, key).unwrap();
    }
    clock.advance(Duration::from_secs(5));
    check(&l, 1).unwrap();
    l.retain_recent();
    assert_eq!(l.len(), 1);
    l.shrink_to_fit();
    assert_eq!(check(&l, 1), Ok(false));
}

#[test]
fn periodic_sweeps_drop_idle_keys_before_the_cap() {
    let clock = FakeRelativeClock::default();
    let store = Store::new(
        1000,
        OnFull::Reject,
        Duration::from_millis(10),
        Duration::from_secs(1),
        clock.clone(),
    );
    let l: Limiter = governor::RateLimiter::new(per_second(100), store, clock.clone());
    for key in 0..500 {
        check(&l, key).unwrap();
    }
    clock.advance(Duration::from_secs(2));
    // the next new key in each of the 8 shards triggers its sweep (400 random
    // keys miss a shard with probability 8 * (7/8)^400, about 1e-22)
    for key in 500..900 {
        check(&l, key).unwrap();
    }
    assert_eq!(l.len(), 400);
}
