//! [`Service`]: the HTTP plumbing every Polymarket client shares — a base
//! URL, a request timeout, client-side pacing under the venue's rate limit,
//! bounded retries with exponential backoff on 429 and 5xx (honouring
//! `Retry-After`), a circuit breaker that opens after repeated failures, and
//! Polymarket's `{"error": ...}` bodies turned into clear
//! [`PolymarketError::Upstream`] messages naming the service.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::Value;

use crate::error::{PolymarketError, Result};

/// Retry and breaker settings.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts per request (1 = no retry).
    pub attempts: u32,
    /// First backoff; doubles each retry.
    pub backoff: Duration,
    /// Consecutive failures that open the breaker.
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

#[derive(Debug, Default)]
struct Breaker {
    failures: u32,
    open_until: Option<Instant>,
}

/// Spaces requests evenly: each caller takes the next free send slot.
#[derive(Debug)]
struct Pacer {
    next: Mutex<Option<tokio::time::Instant>>,
}

impl Pacer {
    /// Waits for this request's slot under `per_second`.
    async fn wait(&self, per_second: u32) {
        if per_second == 0 {
            return;
        }
        let interval = Duration::from_secs(1) / per_second;
        let slot = {
            let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
            let now = tokio::time::Instant::now();
            let slot = next.map_or(now, |n| n.max(now));
            *next = Some(slot + interval);
            slot
        };
        tokio::time::sleep_until(slot).await;
    }
}

/// The delay a 429 or 503 asks for in `Retry-After` (seconds), capped at 30 s.
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(|secs| Duration::from_secs(secs.min(30)))
}

/// Request headers computed per attempt (L1/L2 signatures carry a timestamp).
pub type HeaderFn<'a> = &'a (dyn Fn() -> Result<Vec<(&'static str, String)>> + Send + Sync);

/// One outside HTTP service (CLOB, Gamma, Data API).
pub struct Service {
    http: reqwest::Client,
    base: String,
    name: &'static str,
    policy: RetryPolicy,
    breaker: Mutex<Breaker>,
    pacer: Pacer,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service")
            .field("name", &self.name)
            .field("base", &self.base)
            .finish()
    }
}

fn error_text(name: &str, status: reqwest::StatusCode, body: &str) -> String {
    let detail = serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| {
            v.get("error")
                .or_else(|| v.get("errorMsg"))
                .or_else(|| v.get("message"))
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .unwrap_or_else(|| body.chars().take(300).collect());
    format!("Polymarket {name} answered {}: {detail}", status.as_u16())
}

impl Service {
    /// A service at `base` called `name` in error messages.
    pub fn new(name: &'static str, base: &str) -> Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .build()
            .map_err(|e| PolymarketError::Config(format!("http client: {e}")))?;
        let base = base.trim().trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(PolymarketError::Config(format!(
                "{name} URL `{base}` must start with http:// or https://"
            )));
        }
        Ok(Self {
            http,
            base,
            name,
            policy: RetryPolicy::default(),
            breaker: Mutex::new(Breaker::default()),
            pacer: Pacer {
                next: Mutex::new(None),
            },
        })
    }

    /// Replaces the retry policy.
    pub fn set_policy(&mut self, policy: RetryPolicy) {
        self.policy = policy;
    }

    /// The base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    fn breaker_check(&self) -> Result<()> {
        let mut b = self.breaker.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(until) = b.open_until {
            if Instant::now() < until {
                return Err(PolymarketError::Upstream(format!(
                    "{} circuit breaker open after {} consecutive failures; retry in {}s",
                    self.name,
                    b.failures,
                    until.saturating_duration_since(Instant::now()).as_secs() + 1
                )));
            }
            b.open_until = None;
        }
        Ok(())
    }

    fn record(&self, ok: bool) {
        let mut b = self.breaker.lock().unwrap_or_else(|p| p.into_inner());
        if ok {
            b.failures = 0;
        } else {
            b.failures += 1;
            if b.failures >= self.policy.breaker_threshold {
                b.open_until = Some(Instant::now() + self.policy.breaker_cooldown);
            }
        }
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
        self.breaker_check()?;
        let mut delay = self.policy.backoff;
        let attempts = self.policy.attempts.max(1);
        let mut last = PolymarketError::Upstream("no attempt made".into());
        for attempt in 1..=attempts {
            self.pacer.wait(self.policy.max_per_second).await;
            let mut req = self
                .http
                .request(method.clone(), format!("{}{path}", self.base))
                .query(query);
            for (name, value) in headers()? {
                req = req.header(name, value);
            }
            if let Some(b) = &body {
                req = req
                    .header("Content-Type", "application/json")
                    .body(b.clone());
            }
            match req.send().await {
                Ok(resp) => {
                    let status = resp.status();
                    let asked = retry_after(resp.headers());
                    let text = resp.text().await.unwrap_or_default();
                    if status.is_success() {
                        self.record(true);
                        return serde_json::from_str(&text).or_else(|_| Ok(Value::String(text)));
                    }
                    last = PolymarketError::Upstream(error_text(self.name, status, &text));
                    let retryable = status.as_u16() == 429 || status.is_server_error();
                    self.record(!retryable);
                    if !retryable {
                        return Err(last);
                    }
                    if let Some(wait) = asked {
                        delay = delay.max(wait);
                    }
                }
                Err(err) => {
                    self.record(false);
                    last = PolymarketError::Upstream(format!(
                        "Polymarket {} unreachable: {err}",
                        self.name
                    ));
                }
            }
            if attempt < attempts {
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
        }
        Err(last)
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

    #[tokio::test(start_paused = true)]
    async fn the_pacer_spaces_requests_to_the_rate() {
        let pacer = Pacer {
            next: Mutex::new(None),
        };
        let start = tokio::time::Instant::now();
        for _ in 0..5 {
            pacer.wait(10).await;
        }
        // Slots at 0, 100, 200, 300, 400 ms.
        assert_eq!(start.elapsed(), Duration::from_millis(400));
        let again = tokio::time::Instant::now();
        pacer.wait(0).await;
        assert_eq!(again.elapsed(), Duration::ZERO, "0 means unpaced");
    }

    #[test]
    fn retry_after_is_read_and_capped() {
        let mut headers = reqwest::header::HeaderMap::new();
        assert_eq!(retry_after(&headers), None);
        headers.insert(reqwest::header::RETRY_AFTER, "2".parse().expect("value"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(2)));
        headers.insert(reqwest::header::RETRY_AFTER, "600".parse().expect("value"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(30)));
    }

    #[test]
    fn rejections_are_4xx_but_not_429() {
        let e = |t: &str| PolymarketError::Upstream(t.into());
        assert!(is_rejection(&e("Polymarket CLOB answered 400: bad")));
        assert!(!is_rejection(&e("Polymarket CLOB answered 429: slow")));
        assert!(!is_rejection(&e("Polymarket CLOB answered 503: down")));
        assert!(!is_rejection(&e("Polymarket CLOB unreachable: x")));
        assert!(Service::new("Gamma", "ftp://x").is_err());
        assert_eq!(
            error_text(
                "Data API",
                reqwest::StatusCode::NOT_FOUND,
                r#"{"error":"no"}"#
            ),
            "Polymarket Data API answered 404: no"
        );
    }
}
