//! The Beefy API client (api.beefy.finance; public, unversioned REST, no
//! key; endpoints `/vaults`, `/apy`, `/apy/breakdown`, `/tvl`, `/lps`,
//! `/prices`, `/fees`, `/boosts` as documented in beefyfinance/beefy-api)
//! over the shared [`nt_venue_http::VenueClient`] (pacing, retries with
//! backoff on 429/5xx, circuit breaker), with each endpoint's body cached in
//! the database (`defi_api_cache`) for a TTL so replicas and restarts share
//! one fetch, and the joined [`BeefyData`] kept in memory for the same TTL.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nt_mcp_core::Store;
use nt_venue_http::{HttpError, Policy, VenueClient, venue_message};
use serde_json::Value;
use sqlx::Row;

use super::{BeefyData, Endpoint, Source};
use crate::error::{DefiError, Result};

/// Default Beefy API base URL.
pub const DEFAULT_BASE: &str = "https://api.beefy.finance";

/// A Beefy API client with a database cache.
pub struct BeefyClient {
    http: VenueClient,
    base: String,
    ttl_ms: i64,
    memo: Mutex<Option<(i64, Arc<BeefyData>)>>,
}

impl std::fmt::Debug for BeefyClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BeefyClient")
            .field("base", &self.base)
            .field("ttl_ms", &self.ttl_ms)
            .finish()
    }
}

struct Failed(DefiError);

impl From<HttpError> for Failed {
    fn from(e: HttpError) -> Self {
        Failed(DefiError::Upstream(format!("Beefy API {e}")))
    }
}

impl BeefyClient {
    /// A client for the API at `base`, caching answers for `ttl`.
    pub fn new(base: &str, ttl: Duration) -> Result<Self> {
        let base = base.trim().trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(DefiError::Config(format!(
                "Beefy API URL `{base}` must start with http:// or https://"
            )));
        }
        let policy = Policy {
            // Beefy documents no rate limit; 10 requests/s stays polite.
            min_interval: Policy::gap_per_second(10),
            attempts: 3,
            base_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(4),
            max_retry_after: Duration::from_secs(20),
            breaker_threshold: 5,
            breaker_cooldown: Duration::from_secs(30),
            timeout: Duration::from_secs(20),
        };
        let http =
            VenueClient::new("Beefy API", policy).map_err(|e| DefiError::Config(e.to_string()))?;
        Ok(Self {
            http,
            base,
            ttl_ms: i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX),
            memo: Mutex::new(None),
        })
    }

    /// The base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// One endpoint's body straight from the API (no cache).
    pub async fn fetch(&self, endpoint: Endpoint) -> Result<Value> {
        let url = format!("{}{}", self.base, endpoint.path());
        let answer = self
            .http
            .try_send(|http| Ok::<_, Failed>(http.get(&url)))
            .await
            .map_err(|Failed(e)| e)?;
        if !answer.is_success() {
            return Err(DefiError::Upstream(format!(
                "Beefy API {} answered {}: {}",
                endpoint.path(),
                answer.status,
                venue_message(&answer.body)
            )));
        }
        serde_json::from_slice(&answer.body).map_err(|e| {
            DefiError::Upstream(format!(
                "Beefy API {} answered non-JSON: {e}",
                endpoint.path()
            ))
        })
    }

    /// One endpoint's body: the database copy while younger than the TTL,
    /// else a fresh fetch stored back. Returns the body and when it was fetched.
    pub async fn cached(
        &self,
        store: &Store,
        endpoint: Endpoint,
        now_ms: i64,
    ) -> Result<(Value, i64)> {
        let row = sqlx::query(
            "SELECT body, fetched_ms FROM defi_api_cache WHERE base = $1 AND endpoint = $2",
        )
        .bind(&self.base)
        .bind(endpoint.path())
        .fetch_optional(store.pool())
        .await?;
        if let Some(row) = row {
            let fetched: i64 = row.try_get("fetched_ms")?;
            if now_ms - fetched < self.ttl_ms && fetched <= now_ms {
                let body: String = row.try_get("body")?;
                if let Ok(v) = serde_json::from_str(&body) {
                    return Ok((v, fetched));
                }
            }
        }
        let body = self.fetch(endpoint).await?;
        sqlx::query(
            "INSERT INTO defi_api_cache (base, endpoint, body, fetched_ms) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (base, endpoint) DO UPDATE SET body = excluded.body, fetched_ms = excluded.fetched_ms",
        )
        .bind(&self.base)
        .bind(endpoint.path())
        .bind(body.to_string())
        .bind(now_ms)
        .execute(store.pool())
        .await?;
        Ok((body, now_ms))
    }

    /// All eight endpoints joined, from memory while younger than the TTL,
    /// else through the database cache.
    pub async fn data(&self, store: &Store, now_ms: i64) -> Result<Arc<BeefyData>> {
        if let Some((at, data)) = self.memo.lock().map_err(|_| poisoned())?.as_ref()
            && now_ms - at < self.ttl_ms
            && *at <= now_ms
        {
            return Ok(data.clone());
        }
        let mut bodies = BTreeMap::new();
        let mut oldest = now_ms;
        for endpoint in Endpoint::ALL {
            let (body, fetched) = self.cached(store, endpoint, now_ms).await?;
            oldest = oldest.min(fetched);
            bodies.insert(endpoint.path(), body);
        }
        let data = Arc::new(BeefyData::from_bodies(
            Source::Api {
                base: self.base.clone(),
                fetched_ms: oldest,
            },
            &bodies,
        )?);
        *self.memo.lock().map_err(|_| poisoned())? = Some((oldest, data.clone()));
        Ok(data)
    }
}

fn poisoned() -> DefiError {
    DefiError::Config("Beefy cache lock poisoned".into())
}
