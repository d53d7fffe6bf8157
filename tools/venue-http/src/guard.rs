//! The shared state of one venue client: the pacer that spaces requests and
//! the circuit breaker that stops calling a venue that keeps failing.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// Pacer and breaker state.
#[derive(Debug)]
pub struct Guard {
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    next_slot: Option<Instant>,
    failures: u32,
    open_until: Option<Instant>,
}

/// Why the breaker refused a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Open {
    /// Consecutive failed calls that opened it.
    pub failures: u32,
    /// Time until it lets a call through.
    pub retry_in: Duration,
}

impl Default for Guard {
    fn default() -> Self {
        Self {
            state: Mutex::new(State {
                next_slot: None,
                failures: 0,
                open_until: None,
            }),
        }
    }
}

impl Guard {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // The state stays consistent even if a holder panicked: every
        // update is a plain field store.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Refuses while the breaker is open; a call after the cool-down goes
    /// through (half-open: its outcome decides).
    pub fn check(&self) -> Result<(), Open> {
        let mut s = self.state();
        if let Some(until) = s.open_until {
            let now = Instant::now();
            if now < until {
                return Err(Open {
                    failures: s.failures,
                    retry_in: until - now,
                });
            }
            s.open_until = None;
        }
        Ok(())
    }

    /// Takes the next send slot `gap` after the previous one and waits for
    /// it, so concurrent callers are spaced evenly.
    pub async fn pace(&self, gap: Duration) {
        if gap.is_zero() {
            return;
        }
        let slot = {
            let mut s = self.state();
            let now = Instant::now();
            let slot = s.next_slot.map_or(now, |n| n.max(now));
            s.next_slot = Some(slot + gap);
            slot
        };
        tokio::time::sleep_until(slot).await;
    }

    /// Records a call's outcome; `threshold` consecutive failures open the
    /// breaker for `cooldown` (a threshold of 0 never opens it).
    pub fn record(&self, ok: bool, threshold: u32, cooldown: Duration) {
        let mut s = self.state();
        if ok {
            s.failures = 0;
        } else {
            s.failures = s.failures.saturating_add(1);
            if threshold > 0 && s.failures >= threshold {
                s.open_until = Some(Instant::now() + cooldown);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn breaker_opens_at_the_threshold_and_half_opens_after_the_cooldown() {
        let g = Guard::default();
        let cool = Duration::from_secs(30);
        g.record(false, 3, cool);
        g.record(false, 3, cool);
        assert!(g.check().is_ok());
        g.record(false, 3, cool);
        let open = g.check().unwrap_err();
        assert_eq!(open.failures, 3);
        assert_eq!(open.retry_in, cool);
        tokio::time::advance(Duration::from_secs(31)).await;
        assert!(g.check().is_ok(), "half-open after the cool-down");
        g.record(true, 3, cool);
        g.record(false, 3, cool);
        assert!(g.check().is_ok(), "a success reset the count");
    }

    #[tokio::test(start_paused = true)]
    async fn pacer_spaces_concurrent_callers() {
        let g = std::sync::Arc::new(Guard::default());
        let start = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..5 {
            let g = g.clone();
            tasks.push(tokio::spawn(async move {
                g.pace(Duration::from_millis(100)).await;
                Instant::now()
            }));
        }
        let mut at: Vec<u128> = Vec::new();
        for t in tasks {
            at.push((t.await.unwrap() - start).as_millis());
        }
        at.sort();
        assert_eq!(at, vec![0, 100, 200, 300, 400]);
    }
}
