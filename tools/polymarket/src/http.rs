//! [`Service`]: one Polymarket HTTP service (CLOB, Gamma, Data API) on the
//! shared [`nt_venue_http::VenueClient`] — a base URL, pacing under the
//! venue's rate limit, bounded retries with exponential backoff on 429 and
//! 5xx (honouring `Retry-After`), a circuit breaker — with Polymarket's
//! `{"error": ...}` bodies turned into clear [`PolymarketError::Upstream`]
//! messages naming the service.

use std::time::Duration;

use nt_venue_http::reqwest::{self, Method};
use nt_venue_http::{HttpError, Policy, VenueClient, venue_message};
use serde_json::Value;

use crate::error::{PolymarketError, Result};

/// Retry and breaker settings.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts per request (1 = no retry).
    pub attempts: u32,
    /// First backoff; doubles each retry.
    pub backoff: Duration,
    /// Consecutive failed calls (each after its retries) that open the
    /// breaker.
    pub breaker_threshold: u32,
    /// How long the breaker stays open.
    pub breaker_cooldown: Duration,
    /// Requests per second this client sends at most (0 = unpaced). The
    /// default, 10/s per service, is at or under every per-endpoint limit
    /// Polymarket documents (the tightest: API-key endpoints 100 req/10 s,
    /// Data API `/positions` 150 req/10 s):
    /// https://docs.polymarket.com/api-reference/rate-limits
    pub max_per_second: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 3,
            backoff: Duration::from_millis(200),
            breaker_threshold: 5,
            breaker_cooldown: Duration::from_secs(30),
            max_per_second: 10,
        }
    }
}

impl RetryPolicy {
    /// The shared client's policy for these settings: backoff capped at
    /// 8 s, `Retry-After` at 30 s, 15 s per request.
    fn to_policy(self) -> Policy {
        Policy {
            min_interval: Policy::gap_per_second(self.max_per_second),
            attempts: self.attempts.max(1),
            base_backoff: self.backoff,
            max_backoff: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(30),
            breaker_threshold: self.breaker_threshold,
            breaker_cooldown: self.breaker_cooldown,
            timeout: Duration::from_secs(15),
        }
    }
}

/// Request headers computed per attempt (L1/L2 signatures carry a timestamp).
pub type HeaderFn<'a> = &'a (dyn Fn() -> Result<Vec<(&'static str, String)>> + Send + Sync);

/// One outside HTTP service (CLOB, Gamma, Data API).
pub struct Service {
    client: VenueClient,
    base: String,
    name: &'static str,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service")
            .field("name", &self.name)
            .field("base", &self.base)
            .finish()
    }
}

fn error_text(name: &str, status: u16, body: &[u8]) -> String {
    format!(
        "Polymarket {name} answered {status}: {}",
        venue_message(body)
    )
}

/// Carries a request that could not be prepared, or a venue that could not
/// be reached, as this crate's error.
struct Failed(PolymarketError);

impl From<HttpError> for Failed {
    fn from(e: HttpError) -> Self {
        Failed(PolymarketError::Upstream(format!("Polymarket {e}")))
    }
}

impl Service {
    /// A service at `base` called `name` in error messages.
    pub fn new(name: &'static str, base: &str) -> Result<Self> {
        let base = base.trim().trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(PolymarketError::Config(format!(
                "{name} URL `{base}` must start with http:// or https://"
            )));
        }
        let client = VenueClient::new(name, RetryPolicy::default().to_policy())
            .map_err(|e| PolymarketError::Config(e.to_string()))?;
        Ok(Self { client, base, name })
    }

    /// Replaces the retry policy.
    pub fn set_policy(&mut self, policy: RetryPolicy) {
        self.client.set_policy(policy.to_policy());
    }

    /// The base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// A GET without extra headers.
    pub async fn get(&self, path: &str, query: &[(&str, String)]) -> Result<Value> {
        self.request(Method::GET, path, query, None, &|| Ok(Vec::new()))
            .await
    }

    /// One request with retries; `headers` runs before each attempt.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<String>,
        headers: HeaderFn<'_>,
    ) -> Result<Value> {
        let url = format!("{}{path}", self.base);
        let answer = self
            .client
            .try_send(|http| {
                let mut req = http.request(method.clone(), &url).query(query);
                for (name, value) in headers().map_err(Failed)? {
                    req = req.header(name, value);
                }
                if let Some(b) = &body {
                    req = req
                        .header(reqwest::header::CONTENT_TYPE, "application/json")
                        .body(b.clone());
                }
                Ok::<_, Failed>(req)
            })
            .await
            .map_err(|Failed(e)| e)?;
        if !answer.is_success() {
            return Err(PolymarketError::Upstream(error_text(
                self.name,
                answer.status,
                &answer.body,
            )));
        }
        let text = answer.text();
        Ok(serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }
}

/// Whether an error is the venue refusing the request (a 4xx other than
/// 429), as opposed to the request's outcome being unknown.
pub fn is_rejection(err: &PolymarketError) -> bool {
    match err {
        PolymarketError::Upstream(text) => text
            .split(" answered ")
            .nth(1)
            .and_then(|rest| rest.get(..3))
            .and_then(|code| code.parse::<u16>().ok())
            .is_some_and(|code| (400..500).contains(&code) && code != 429),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejections_are_4xx_but_not_429() {
        let e = |t: &str| PolymarketError::Upstream(t.into());
        assert!(is_rejection(&e("Polymarket CLOB answered 400: bad")));
        assert!(!is_rejection(&e("Polymarket CLOB answered 429: slow")));
        assert!(!is_rejection(&e("Polymarket CLOB answered 503: down")));
        assert!(!is_rejection(&e("Polymarket CLOB unreachable: x")));
        assert!(Service::new("Gamma", "ftp://x").is_err());
        assert_eq!(
            error_text("Data API", 404, br#"{"error":"no"}"#),
            "Polymarket Data API answered 404: no"
        );
    }

    #[test]
    fn the_default_paces_at_ten_a_second() {
        let p = RetryPolicy::default().to_policy();
        assert_eq!(p.min_interval, Duration::from_millis(100));
        assert_eq!(p.attempts, 3);
        let unpaced = RetryPolicy {
            max_per_second: 0,
            ..RetryPolicy::default()
        };
        assert_eq!(unpaced.to_policy().min_interval, Duration::ZERO);
    }
}
