//! `RetryBudget`: retries capped at a fraction of recent calls.

use std::fmt;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

/// The cost of one retry, in the budget's fixed-point units.
const WITHDRAW: i64 = 1000;
/// The window is kept in this many slots.
const SLOTS: u32 = 10;

/// Caps retries at a fraction of the calls made in a sliding window, plus a
/// small reserve per second, so that retries cannot multiply the load on a
/// service that is already failing (Finagle's `RetryBudget`).
///
/// Every call [deposits](RetryBudget::deposit) `ratio` of a retry; every
/// retry [withdraws](RetryBudget::withdraw) one, and is refused when the
/// deposits of the last `ttl` plus the reserve do not cover it. Deposits and
/// withdrawals expire after `ttl`. Within one window, with `k` calls,
/// retries never exceed `ratio × k + min_per_sec × ttl`.
///
/// Written here rather than taken from `tower::retry::budget::TpsBudget`,
/// which rounds the cost of a retry down (a 30% budget lets 33% through),
/// checks and withdraws in two steps (concurrent retries can overdraw it)
/// and panics on settings out of range. Here amounts are integers in
/// thousandths rounded against the caller, a withdrawal is one
/// compare-and-swap, and settings are clamped. A lock is taken only when the
/// window moves on to the next slot.
pub struct RetryBudget {
    /// Deposits minus withdrawals of the current window, in thousandths.
    balance: AtomicI64,
    /// The same, per slot, so that a slot's amount leaves the balance when
    /// it expires.
    slots: Box<[AtomicI64]>,
    /// The slot number (time since `epoch` / `slot_len`) now being written.
    current: AtomicU64,
    rollover: Mutex<()>,
    epoch: Instant,
    slot_len: Duration,
    deposit: i64,
    reserve: i64,
    ttl: Duration,
    ratio: f64,
}

impl RetryBudget {
    /// Retries allowed: `ratio` per call (clamped to 0–10, rounded down to
    /// thousandths) over the last `ttl` (at least 10 ms), plus `min_per_sec`
    /// per second of `ttl`.
    pub fn new(ttl: Duration, min_per_sec: u32, ratio: f64) -> RetryBudget {
        let ttl = ttl.max(Duration::from_millis(10));
        let ratio = if ratio.is_finite() {
            ratio.clamp(0.0, 10.0)
        } else {
            0.0
        };
        let reserve = (f64::from(min_per_sec) * ttl.as_secs_f64()).floor() as i64;
        RetryBudget {
            balance: AtomicI64::new(0),
            slots: (0..SLOTS).map(|_| AtomicI64::new(0)).collect(),
            current: AtomicU64::new(0),
            rollover: Mutex::new(()),
            epoch: Instant::now(),
            slot_len: ttl / SLOTS,
            deposit: (ratio * WITHDRAW as f64).floor() as i64,
            reserve: reserve.saturating_mul(WITHDRAW),
            ttl,
            ratio,
        }
    }

    /// Records a call: it earns `ratio` of a retry.
    pub fn deposit(&self) {
        let slot = self.advance();
        self.slot(slot).fetch_add(self.deposit, Ordering::AcqRel);
        self.balance.fetch_add(self.deposit, Ordering::AcqRel);
    }

    /// Takes one retry from the budget; `false` when there is none left.
    pub fn withdraw(&self) -> bool {
        let slot = self.advance();
        let taken = self
            .balance
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |b| {
                (b.saturating_add(self.reserve) >= WITHDRAW).then(|| b - WITHDRAW)
            })
            .is_ok();
        if taken {
            self.slot(slot).fetch_sub(WITHDRAW, Ordering::AcqRel);
        }
        taken
    }

    /// How many retries the budget would allow now.
    pub fn available(&self) -> u64 {
        self.advance();
        let b = self
            .balance
            .load(Ordering::Acquire)
            .saturating_add(self.reserve);
        u64::try_from(b / WITHDRAW).unwrap_or(0)
    }

    /// The window.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Retries allowed per call.
    pub fn ratio(&self) -> f64 {
        self.ratio
    }

    fn slot(&self, n: u64) -> &AtomicI64 {
        &self.slots[(n % u64::from(SLOTS)) as usize]
    }

    /// Expires the slots that left the window; returns the current slot.
    fn advance(&self) -> u64 {
        let elapsed = Instant::now().saturating_duration_since(self.epoch);
        let now = (elapsed.as_nanos() / self.slot_len.as_nanos().max(1)) as u64;
        if now <= self.current.load(Ordering::Acquire) {
            return now;
        }
        let _guard = self.rollover.lock().unwrap_or_else(|e| e.into_inner());
        let current = self.current.load(Ordering::Acquire);
        if now > current {
            // Slots current+1 ..= now are reused: what they held is older
            // than the window. At most every slot once.
            let first = current
                .saturating_add(1)
                .max(now.saturating_sub(u64::from(SLOTS) - 1));
            for n in first..=now {
                let expired = self.slot(n).swap(0, Ordering::AcqRel);
                self.balance.fetch_sub(expired, Ordering::AcqRel);
            }
            self.current.store(now, Ordering::Release);
        }
        now
    }
}

impl Default for RetryBudget {
    /// Finagle's defaults: 20% of the calls of the last 10 s, plus 10
    /// retries a second.
    fn default() -> Self {
        RetryBudget::new(Duration::from_secs(10), 10, 0.2)
    }
}

impl fmt::Debug for RetryBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryBudget")
            .field("ttl", &self.ttl)
            .field("ratio", &self.ratio)
            .field("available", &self.available())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[tokio::test(start_paused = true)]
    async fn retries_are_a_fraction_of_calls_plus_the_reserve() {
        let budget = RetryBudget::new(Duration::from_secs(10), 0, 0.3);
        assert!(!budget.withdraw(), "no calls, no reserve: no retries");
        for _ in 0..10 {
            budget.deposit();
        }
        assert_eq!(budget.available(), 3);
        assert!(budget.withdraw() && budget.withdraw() && budget.withdraw());
        assert!(
            !budget.withdraw(),
            "a 30% budget gives 3 retries for 10 calls, not 4"
        );

        let reserve = RetryBudget::new(Duration::from_secs(2), 5, 0.0);
        assert_eq!(reserve.available(), 10);
    }

    #[tokio::test(start_paused = true)]
    async fn deposits_and_withdrawals_expire_after_the_window() {
        let budget = RetryBudget::new(Duration::from_secs(10), 0, 0.5);
        for _ in 0..4 {
            budget.deposit();
        }
        assert!(budget.withdraw() && budget.withdraw());
        assert!(!budget.withdraw());
        tokio::time::advance(Duration::from_secs(5)).await;
        for _ in 0..2 {
            budget.deposit();
        }
        assert!(budget.withdraw());
        assert!(!budget.withdraw());
        // The first deposits and withdrawals leave the window together.
        tokio::time::advance(Duration::from_millis(5_500)).await;
        assert_eq!(budget.available(), 0);
        // Long idle: everything expired, nothing goes negative forever.
        tokio::time::advance(Duration::from_secs(3600)).await;
        assert_eq!(budget.available(), 0);
        budget.deposit();
        budget.deposit();
        assert!(budget.withdraw());
    }

    #[test]
    fn bad_settings_are_clamped_not_panics() {
        for ratio in [f64::NAN, f64::INFINITY, -1.0, 1e12] {
            let b = RetryBudget::new(Duration::ZERO, u32::MAX, ratio);
            b.deposit();
            let _ = b.withdraw();
            assert!(b.ratio() >= 0.0 && b.ratio() <= 10.0);
        }
    }

    proptest! {
        /// Whatever the order of calls and retries, and the ratio, retries
        /// granted within one window never exceed ratio × calls.
        #[test]
        fn retries_never_exceed_the_fraction(
            ratio in 0.0f64..2.0,
            ops in proptest::collection::vec(any::<bool>(), 0..400),
        ) {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .start_paused(true)
                .build()
                .unwrap();
            rt.block_on(async {
                let budget = RetryBudget::new(Duration::from_secs(10), 0, ratio);
                let (mut calls, mut retries) = (0u64, 0u64);
                for deposit in ops {
                    if deposit {
                        budget.deposit();
                        calls += 1;
                    } else if budget.withdraw() {
                        retries += 1;
                    }
                    prop_assert!(
                        retries as f64 <= ratio * calls as f64 + 1e-9,
                        "{retries} retries for {calls} calls at ratio {ratio}"
                    );
                }
                Ok(())
            })?;
        }

        /// With time passing, retries in any window of `ttl` stay within
        /// ratio × (calls in the window and the one before) + reserve: the
        /// budget only ever forgets, never invents.
        #[test]
        fn a_sliding_window_never_overdraws(
            ratio in 0.0f64..1.0,
            steps in proptest::collection::vec((any::<bool>(), 0u64..3_000), 0..300),
        ) {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .start_paused(true)
                .build()
                .unwrap();
            rt.block_on(async {
                let ttl = Duration::from_secs(10);
                let budget = RetryBudget::new(ttl, 0, ratio);
                let start = Instant::now();
                let mut log: Vec<(Duration, bool)> = Vec::new();
                for (deposit, wait_ms) in steps {
                    tokio::time::advance(Duration::from_millis(wait_ms)).await;
                    let at = start.elapsed();
                    if deposit {
                        budget.deposit();
                        log.push((at, true));
                    } else if budget.withdraw() {
                        log.push((at, false));
                        // retries in the last ttl vs calls in the last 2 ttl
                        let since = |d: Duration| log.iter().filter(move |(t, _)| at.saturating_sub(*t) < d);
                        let retries = since(ttl).filter(|(_, dep)| !dep).count() as f64;
                        let calls = since(ttl * 2).filter(|(_, dep)| *dep).count() as f64;
                        prop_assert!(retries <= ratio * calls + 1e-9, "{retries} retries, {calls} calls");
                    }
                }
                Ok(())
            })?;
        }
    }
}
