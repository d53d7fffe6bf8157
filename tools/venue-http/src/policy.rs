//! [`Policy`]: how hard a client may press a venue and how it backs off.

use std::time::Duration;

/// Pacing, retry, breaker and timeout settings for one venue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Least time between two requests (the client-side rate limit);
    /// zero sends unpaced.
    pub min_interval: Duration,
    /// Attempts per request, the first included (at least 1).
    pub attempts: u32,
    /// Wait before the first retry; doubles each retry.
    pub base_backoff: Duration,
    /// Longest wait between two attempts computed from the backoff.
    pub max_backoff: Duration,
    /// Longest wait a venue's `Retry-After` may impose.
    pub max_retry_after: Duration,
    /// Consecutive failed calls that open the circuit breaker (0 = never).
    pub breaker_threshold: u32,
    /// How long an open breaker fails calls fast.
    pub breaker_cooldown: Duration,
    /// Per-request timeout (connect to last body byte).
    pub timeout: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            min_interval: Duration::from_millis(10),
            attempts: 4,
            base_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(5),
            max_retry_after: Duration::from_secs(30),
            breaker_threshold: 5,
            breaker_cooldown: Duration::from_secs(30),
            timeout: Duration::from_secs(15),
        }
    }
}

impl Policy {
    /// The gap that keeps a client at or under `n` requests a second
    /// (zero when `n` is 0: unpaced).
    pub fn gap_per_second(n: u32) -> Duration {
        if n == 0 {
            Duration::ZERO
        } else {
            Duration::from_secs(1) / n
        }
    }

    /// The gap that keeps a client at or under `n` requests a minute
    /// (zero when `n` is 0: unpaced).
    pub fn gap_per_minute(n: u32) -> Duration {
        if n == 0 {
            Duration::ZERO
        } else {
            Duration::from_secs(60) / n
        }
    }

    /// The wait before retry number `retry` (0 for the first retry): the
    /// venue's `Retry-After` when it gave one (capped), else the doubled
    /// backoff (capped).
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        match retry_after {
            Some(asked) => asked.min(self.max_retry_after),
            None => self
                .base_backoff
                .saturating_mul(1u32 << retry.min(16))
                .min(self.max_backoff),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_cap_and_retry_after_wins() {
        let p = Policy {
            base_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(700),
            max_retry_after: Duration::from_secs(2),
            ..Policy::default()
        };
        let waits: Vec<u128> = (0..5).map(|r| p.delay(r, None).as_millis()).collect();
        assert_eq!(waits, vec![100, 200, 400, 700, 700]);
        assert_eq!(
            p.delay(0, Some(Duration::from_secs(1))),
            Duration::from_secs(1)
        );
        assert_eq!(
            p.delay(3, Some(Duration::from_secs(90))),
            Duration::from_secs(2)
        );
        assert_eq!(p.delay(40, None), Duration::from_millis(700));
    }

    #[test]
    fn gaps() {
        assert_eq!(Policy::gap_per_second(10), Duration::from_millis(100));
        assert_eq!(Policy::gap_per_minute(30), Duration::from_secs(2));
        assert_eq!(Policy::gap_per_second(0), Duration::ZERO);
    }
}
