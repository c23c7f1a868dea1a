//! Keyed rate limits whose memory an attacker cannot grow: `governor`'s GCRA over a state map
//! that holds at most a fixed number of keys. Beyond that, every key the map does not already
//! hold shares one bucket (so a flood of fresh keys throttles newcomers together instead of
//! growing the map), and a background pass drops the keys whose bucket is full again
//! (`prune`), which a limiter in its starting state cannot tell from a missing key.

use std::fmt;
use std::hash::Hash;
use std::num::NonZeroU32;
use std::time::Duration;

use dashmap::DashMap;
use governor::clock::{Clock, MonotonicClock};
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::keyed::ShrinkableKeyedStateStore;
use governor::state::{InMemoryState, StateStore};
use governor::{Quota, RateLimiter};

use crate::error::ApiError;

/// How many attempts a key may make: a bucket of `count` that refills completely over `per`
/// (one attempt back every `per / count`). Written `count/seconds`, e.g. `10/600`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct RateSpec {
    pub count: NonZeroU32,
    pub per: Duration,
}

impl RateSpec {
    pub const fn new(count: NonZeroU32, per_secs: u64) -> RateSpec {
        RateSpec {
            count,
            per: Duration::from_secs(per_secs),
        }
    }

    fn quota(&self) -> Quota {
        let period = (self.per / self.count.get()).max(Duration::from_nanos(1));
        Quota::with_period(period)
            .expect("a period of at least one nanosecond")
            .allow_burst(self.count)
    }
}

impl fmt::Debug for RateSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.count, self.per.as_secs())
    }
}

impl std::str::FromStr for RateSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<RateSpec, String> {
        let wrong =
            || format!("a rate is `count/seconds` with both at least 1, e.g. `10/600`, not {s:?}");
        let (count, secs) = s.trim().split_once('/').ok_or_else(wrong)?;
        let count: NonZeroU32 = count.trim().parse().map_err(|_| wrong())?;
        let secs: u64 = secs.trim().parse().map_err(|_| wrong())?;
        if secs == 0 {
            return Err(wrong());
        }
        Ok(RateSpec::new(count, secs))
    }
}

/// A key of the map, or the one bucket that keys arriving at a full map share.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Slot<K> {
    Key(K),
    Overflow,
}

/// `governor`'s DashMap state with a cap on how many keys it holds.
pub struct CappedStore<K: Hash + Eq + Clone> {
    map: DashMap<Slot<K>, InMemoryState>,
    cap: usize,
}

impl<K: Hash + Eq + Clone> StateStore for CappedStore<K> {
    type Key = K;

    fn measure_and_replace<T, F, E>(&self, key: &K, f: F) -> Result<T, E>
    where
        F: Fn(Option<Nanos>) -> Result<(T, Nanos), E>,
    {
        let slot = Slot::Key(key.clone());
        // Two callers may both see room for one more key; the cap is then passed by at most
        // the number of requests in flight, still a bound.
        if self.map.contains_key(&slot) || self.map.len() < self.cap {
            self.map.measure_and_replace(&slot, f)
        } else {
            self.map.measure_and_replace(&Slot::Overflow, f)
        }
    }
}

impl<K: Hash + Eq + Clone> ShrinkableKeyedStateStore<K> for CappedStore<K> {
    fn retain_recent(&self, drop_below: Nanos) {
        ShrinkableKeyedStateStore::retain_recent(&self.map, drop_below);
    }

    fn shrink_to_fit(&self) {
        self.map.shrink_to_fit();
    }

    fn len(&self) -> usize {
        self.map.len()
    }

    fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

type Instant = <MonotonicClock as Clock>::Instant;

/// One rate limit applied per key (an account name, a client address, a share link…).
pub struct KeyedLimiter<K: Hash + Eq + Clone> {
    limiter: RateLimiter<K, CappedStore<K>, MonotonicClock, NoOpMiddleware<Instant>>,
}

impl<K: Hash + Eq + Clone> KeyedLimiter<K> {
    /// A limiter granting `rate` per key, tracking at most `max_keys` keys.
    pub fn new(rate: RateSpec, max_keys: usize) -> KeyedLimiter<K> {
        let store = CappedStore {
            map: DashMap::new(),
            cap: max_keys.max(1),
        };
        KeyedLimiter {
            limiter: RateLimiter::new(rate.quota(), store, MonotonicClock),
        }
    }

    /// Spends one attempt of `key`; `RateLimited` with the whole seconds until the next one
    /// when none is left.
    pub fn check(&self, key: &K) -> Result<(), ApiError> {
        self.limiter.check_key(key).map_err(|not_until| {
            let wait = not_until.wait_time_from(self.limiter.clock().now());
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            ApiError::RateLimited(secs.max(1))
        })
    }

    /// Forgets every key whose bucket has refilled (it behaves as a new key would), and
    /// returns the map's memory.
    pub fn prune(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }

    /// Keys held now (the shared overflow bucket counts as one).
    pub fn len(&self) -> usize {
        self.limiter.len()
    }

    pub fn is_empty(&self) -> bool {
        self.limiter.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(count: u32, secs: u64) -> RateSpec {
        RateSpec::new(NonZeroU32::new(count).unwrap(), secs)
    }

    #[test]
    fn a_key_gets_its_burst_then_waits_for_the_refill() {
        let l = KeyedLimiter::new(rate(3, 600), 100);
        for _ in 0..3 {
            l.check(&"alice").unwrap();
        }
        match l.check(&"alice") {
            // One attempt comes back every 200 s.
            Err(ApiError::RateLimited(s)) => assert!((199..=200).contains(&s), "{s}"),
            other => panic!("{other:?}"),
        }
        l.check(&"bob").unwrap();
    }

    #[test]
    fn keys_past_the_cap_share_one_bucket_and_the_map_stops_growing() {
        let l = KeyedLimiter::new(rate(2, 600), 10);
        for i in 0..10 {
            l.check(&i).unwrap();
        }
        // The map is full: newcomers share the overflow bucket of two attempts.
        l.check(&1000).unwrap();
        l.check(&1001).unwrap();
        assert!(matches!(l.check(&1002), Err(ApiError::RateLimited(_))));
        assert!(matches!(l.check(&1003), Err(ApiError::RateLimited(_))));
        assert!(l.len() <= 11, "{}", l.len());
        // A key the map already holds keeps its own bucket.
        l.check(&3).unwrap();
    }

    #[test]
    fn pruning_forgets_keys_whose_bucket_has_refilled() {
        // A bucket of 1000 per second refills in a millisecond.
        let l = KeyedLimiter::new(rate(1000, 1), 100_000);
        for i in 0..5000 {
            l.check(&i).unwrap();
        }
        assert_eq!(l.len(), 5000);
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !l.is_empty() {
            assert!(
                std::time::Instant::now() < deadline,
                "{} keys left",
                l.len()
            );
            std::thread::yield_now();
            l.prune();
        }
        // A slow bucket is kept: forgetting it would hand back spent attempts.
        let slow = KeyedLimiter::new(rate(1, 3600), 10);
        slow.check(&"mallory").unwrap();
        slow.prune();
        assert_eq!(slow.len(), 1);
    }

    #[test]
    fn rates_parse_from_settings() {
        assert_eq!("10/600".parse::<RateSpec>().unwrap(), rate(10, 600));
        for bad in ["", "10", "0/60", "10/0", "x/60", "10/-1"] {
            assert!(bad.parse::<RateSpec>().is_err(), "{bad}");
        }
    }
}
