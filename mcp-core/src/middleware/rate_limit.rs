//! Per-caller rate limits: a token bucket refilled continuously, so a caller
//! gets `per_minute` calls a minute with bursts up to that size.
//!
//! On PostgreSQL the buckets live in the `rate_limit_buckets` table, so every
//! server process of a variant sharing the database draws from one bucket per
//! caller; each call takes its token in one atomic statement, refilled by the
//! time elapsed on the database's clock. A SQLite server (one process) keeps
//! its buckets in memory.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sqlx::Row;

use crate::store::{Backend, Store};

/// Takes one token from the shared bucket of `(variant, caller)`: refills it
/// by the time elapsed since its last change (capped at the capacity), then
/// takes a token if a whole one is there. `admitted` says whether it did.
/// $1 variant, $2 caller, $3 capacity, $4 tokens per millisecond.
const TAKE_SHARED: &str = "\
INSERT INTO rate_limit_buckets AS b (variant, caller, tokens, admitted, updated_ms) \
VALUES ($1, $2, CAST($3 AS DOUBLE PRECISION) - 1, TRUE, \
        CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)) \
ON CONFLICT (variant, caller) DO UPDATE SET \
    tokens = LEAST(CAST($3 AS DOUBLE PRECISION), \
                   b.tokens + GREATEST(0, EXCLUDED.updated_ms - b.updated_ms) * CAST($4 AS DOUBLE PRECISION)) \
           - CASE WHEN LEAST(CAST($3 AS DOUBLE PRECISION), \
                   b.tokens + GREATEST(0, EXCLUDED.updated_ms - b.updated_ms) * CAST($4 AS DOUBLE PRECISION)) >= 1 \
                  THEN 1 ELSE 0 END, \
    admitted = LEAST(CAST($3 AS DOUBLE PRECISION), \
                   b.tokens + GREATEST(0, EXCLUDED.updated_ms - b.updated_ms) * CAST($4 AS DOUBLE PRECISION)) >= 1, \
    updated_ms = GREATEST(b.updated_ms, EXCLUDED.updated_ms) \
RETURNING tokens, admitted";

/// Where the buckets are kept.
#[derive(Debug)]
enum Shared {
    /// In this process only.
    Memory,
    /// In the database, shared by the processes of `variant`.
    Database { store: Store, variant: String },
}

/// Token buckets keyed by caller id.
#[derive(Debug)]
pub struct RateLimiter {
    per_minute: u32,
    shared: Shared,
    /// The in-memory buckets; with a database, used only while it fails.
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimiter {
    /// A limiter allowing `per_minute` calls a minute per caller, kept in this
    /// process; 0 disables it.
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute,
            shared: Shared::Memory,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// A limiter for the server processes of `variant` sharing `store`: on
    /// PostgreSQL the buckets are in the database (one per caller across all
    /// processes), on SQLite in memory as with [`RateLimiter::new`].
    pub fn for_store(store: Store, variant: &str, per_minute: u32) -> Self {
        let shared = match store.backend() {
            Backend::Postgres => Shared::Database {
                store,
                variant: variant.to_string(),
            },
            Backend::Sqlite => Shared::Memory,
        };
        Self {
            per_minute,
            shared,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Whether the buckets are shared through the database.
    pub fn is_shared(&self) -> bool {
        matches!(self.shared, Shared::Database { .. })
    }

    /// Takes one token for `caller`, or says how long until one is free.
    /// Should the database fail, this process's own bucket decides.
    pub async fn check(&self, caller: &str) -> Result<(), Duration> {
        if self.per_minute == 0 {
            return Ok(());
        }
        if let Shared::Database { store, variant } = &self.shared {
            match self.check_shared(store, variant, caller).await {
                Ok(verdict) => return verdict,
                Err(err) => {
                    tracing::warn!(error = %err, "shared rate limit unavailable; using this process's bucket");
                }
            }
        }
        self.check_at(caller, Instant::now())
    }

    async fn check_shared(
        &self,
        store: &Store,
        variant: &str,
        caller: &str,
    ) -> Result<Result<(), Duration>, sqlx::Error> {
        let capacity = f64::from(self.per_minute);
        let per_ms = capacity / 60_000.0;
        let row = sqlx::query(TAKE_SHARED)
            .bind(variant)
            .bind(caller)
            .bind(capacity)
            .bind(per_ms)
            .fetch_one(store.pool())
            .await?;
        let tokens: f64 = row.try_get("tokens")?;
        let admitted: bool = row.try_get("admitted")?;
        Ok(if admitted {
            Ok(())
        } else {
            Err(Duration::from_secs_f64(
                ((1.0 - tokens) / per_ms / 1000.0).max(0.0),
            ))
        })
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

    #[tokio::test]
    async fn zero_means_unlimited() {
        let limiter = RateLimiter::new(0);
        for _ in 0..1000 {
            assert!(limiter.check("a").await.is_ok());
        }
    }

    #[tokio::test]
    async fn a_sqlite_store_keeps_the_buckets_in_memory() {
        let store = Store::open("sqlite::memory:").await.expect("open");
        let limiter = RateLimiter::for_store(store, "test", 2);
        assert!(!limiter.is_shared());
        assert!(limiter.check("a").await.is_ok());
        assert!(limiter.check("a").await.is_ok());
        let wait = limiter.check("a").await.expect_err("third call refused");
        assert!(wait.as_secs_f64() > 29.0, "{wait:?}");
    }
}
