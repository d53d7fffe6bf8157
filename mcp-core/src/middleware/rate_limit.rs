//! Per-caller rate limits: a token bucket refilled continuously, so a caller
//! gets `per_minute` calls a minute with bursts up to that size.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Token buckets keyed by caller id.
#[derive(Debug)]
pub struct RateLimiter {
    per_minute: u32,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimiter {
    /// A limiter allowing `per_minute` calls a minute per caller; 0 disables it.
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `caller`, or says how long until one is free.
    pub fn check(&self, caller: &str) -> Result<(), Duration> {
        self.check_at(caller, Instant::now())
    }

    fn check_at(&self, caller: &str, now: Instant) -> Result<(), Duration> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let capacity = f64::from(self.per_minute);
        let per_sec = capacity / 60.0;
        let mut buckets = match self.buckets.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        let (tokens, last) = buckets.entry(caller.to_string()).or_insert((capacity, now));
        let elapsed = now.saturating_duration_since(*last).as_secs_f64();
        *tokens = (*tokens + elapsed * per_sec).min(capacity);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - *tokens) / per_sec))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_the_burst_then_refuses_then_refills() {
        let limiter = RateLimiter::new(3);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(limiter.check_at("a", t0).is_ok());
        }
        let wait = limiter.check_at("a", t0).expect_err("fourth call refused");
        assert!((wait.as_secs_f64() - 20.0).abs() < 0.01, "{wait:?}");
        // Another caller has its own bucket.
        assert!(limiter.check_at("b", t0).is_ok());
        // 20 s later one token is back.
        assert!(limiter.check_at("a", t0 + Duration::from_secs(20)).is_ok());
    }

    #[test]
    fn zero_means_unlimited() {
        let limiter = RateLimiter::new(0);
        for _ in 0..1000 {
            assert!(limiter.check("a").is_ok());
        }
    }
}
