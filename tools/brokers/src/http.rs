//! Resilient HTTP for venue clients: a per-venue rate limit (minimum gap
//! between requests), retries with exponential backoff on 429, 5xx and
//! transport errors (honouring `Retry-After` seconds), and a circuit
//! breaker that fails fast after repeated failures until a cool-down ends.

use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::error::{BrokersError, Result};

/// Limits and retry settings.
#[derive(Debug, Clone)]
pub struct HttpPolicy {
    /// Minimum time between two requests (the rate limit).
    pub min_interval: Duration,
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// First backoff; doubles each retry.
    pub base_backoff: Duration,
    /// Largest backoff.
    pub max_backoff: Duration,
    /// Consecutive failed calls that open the breaker.
    pub breaker_threshold: u32,
    /// How long an open breaker fails fast.
    pub breaker_cooldown: Duration,
    /// Per-request timeout.
    pub timeout: Duration,
}

impl Default for HttpPolicy {
    fn default() -> Self {
        Self {
            min_interval: Duration::from_millis(10),
            max_retries: 3,
            base_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(5),
            breaker_threshold: 5,
            breaker_cooldown: Duration::from_secs(30),
            timeout: Duration::from_secs(15),
        }
    }
}

#[derive(Debug)]
struct State {
    next_slot: Instant,
    failures: u32,
    open_until: Option<Instant>,
}

/// An HTTP client for one venue with rate limit, retries and breaker.
#[derive(Debug)]
pub struct Resilient {
    venue: String,
    client: reqwest::Client,
    policy: HttpPolicy,
    state: Mutex<State>,
}

/// A venue's answer: status and body.
#[derive(Debug)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl Resilient {
    /// A client for `venue`.
    pub fn new(venue: &str, policy: HttpPolicy) -> Result<Self> {
        Self::with_builder(venue, policy, reqwest::Client::builder())
    }

    /// A client for `venue` from a prepared builder (the per-request
    /// timeout is set here).
    pub fn with_builder(
        venue: &str,
        policy: HttpPolicy,
        builder: reqwest::ClientBuilder,
    ) -> Result<Self> {
        let client = builder
            .timeout(policy.timeout)
            .build()
            .map_err(|e| BrokersError::Config(format!("{venue} HTTP client: {e}")))?;
        Ok(Self {
            venue: venue.to_string(),
            client,
            policy,
            state: Mutex::new(State {
                next_slot: Instant::now(),
                failures: 0,
                open_until: None,
            }),
        })
    }

    /// The underlying client (for streaming requests).
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    async fn wait_turn(&self) -> Result<()> {
        let slot = {
            let mut s = self.state.lock().await;
            if let Some(until) = s.open_until {
                if Instant::now() < until {
                    return Err(BrokersError::upstream(
                        &self.venue,
                        None,
                        format!(
                            "circuit breaker open after {} failed calls; retry in {} s",
                            s.failures,
                            (until - Instant::now()).as_secs() + 1
                        ),
                    ));
                }
                s.open_until = None;
            }
            let slot = s.next_slot.max(Instant::now());
            s.next_slot = slot + self.policy.min_interval;
            slot
        };
        tokio::time::sleep_until(slot).await;
        Ok(())
    }

    async fn record(&self, ok: bool) {
        let mut s = self.state.lock().await;
        if ok {
            s.failures = 0;
        } else {
            s.failures += 1;
            if s.failures >= self.policy.breaker_threshold {
                s.open_until = Some(Instant::now() + self.policy.breaker_cooldown);
            }
        }
    }

    /// Sends the request `build` makes, retrying 429/5xx/transport errors.
    /// Any final answer (2xx or not) is returned; only exhausted retries and
    /// an open breaker are errors.
    pub async fn send(
        &self,
        build: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> Result<Answer> {
        let mut backoff = self.policy.base_backoff;
        let mut last_err = String::new();
        for attempt in 0..=self.policy.max_retries {
            self.wait_turn().await?;
            match build(&self.client).send().await {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let retry_after = resp
                        .headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<u64>().ok())
                        .map(Duration::from_secs);
                    let body = resp.bytes().await.map(|b| b.to_vec()).unwrap_or_default();
                    let retryable = status == 429 || status >= 500;
                    if !retryable {
                        self.record(true).await;
                        return Ok(Answer { status, body });
                    }
                    last_err = format!(
                        "HTTP {status}: {}",
                        String::from_utf8_lossy(&body)
                            .chars()
                            .take(300)
                            .collect::<String>()
                    );
                    if attempt == self.policy.max_retries {
                        self.record(false).await;
                        return Ok(Answer { status, body });
                    }
                    let wait = retry_after.unwrap_or(backoff).min(self.policy.max_backoff);
                    tokio::time::sleep(wait).await;
                }
                Err(err) => {
                    // Without the URL: a query may carry a credential.
                    last_err = err.without_url().to_string();
                    if attempt < self.policy.max_retries {
                        tokio::time::sleep(backoff.min(self.policy.max_backoff)).await;
                    }
                }
            }
            backoff = backoff.saturating_mul(2);
        }
        self.record(false).await;
        Err(BrokersError::upstream(
            &self.venue,
            None,
            format!(
                "no answer after {} attempts: {last_err}",
                self.policy.max_retries + 1
            ),
        ))
    }
}
