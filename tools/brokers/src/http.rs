//! Resilient HTTP for venue clients, on the workspace's shared
//! [`nt_venue_http::VenueClient`]: a per-venue rate limit (minimum gap
//! between requests), retries with exponential backoff on 429, 5xx and
//! transport errors (honouring `Retry-After`), and a circuit breaker that
//! fails fast after repeated failures until a cool-down ends. This module
//! keeps the brokers' configuration type ([`HttpPolicy`]) and turns the
//! shared client's errors into [`BrokersError::Upstream`].

use std::time::Duration;

use nt_venue_http::{Policy, VenueClient};

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
    /// Largest backoff, and the longest `Retry-After` honoured.
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

impl HttpPolicy {
    fn to_policy(&self) -> Policy {
        Policy {
            min_interval: self.min_interval,
            attempts: self.max_retries.saturating_add(1),
            base_backoff: self.base_backoff,
            max_backoff: self.max_backoff,
            max_retry_after: self.max_backoff,
            breaker_threshold: self.breaker_threshold,
            breaker_cooldown: self.breaker_cooldown,
            timeout: self.timeout,
        }
    }
}

/// An HTTP client for one venue with rate limit, retries and breaker.
#[derive(Debug)]
pub struct Resilient {
    inner: VenueClient,
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
        Self::with_builder(venue, policy, nt_venue_http::client_builder())
    }

    /// A client for `venue` from a prepared builder (the per-request
    /// timeout is set here).
    pub fn with_builder(
        venue: &str,
        policy: HttpPolicy,
        builder: reqwest::ClientBuilder,
    ) -> Result<Self> {
        let inner = VenueClient::with_builder(venue, policy.to_policy(), builder)
            .map_err(|e| BrokersError::Config(e.to_string()))?;
        Ok(Self { inner })
    }

    /// The underlying client (for streaming requests), built on first use.
    pub fn client(&self) -> Result<&reqwest::Client> {
        self.inner
            .client()
            .map_err(|e| BrokersError::Config(e.to_string()))
    }

    /// Sends the request `build` makes, retrying 429/5xx/transport errors.
    /// Any final answer (2xx or not) is returned; only exhausted retries and
    /// an open breaker are errors.
    pub async fn send(
        &self,
        build: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> Result<Answer> {
        match self.inner.send(build).await {
            Ok(a) => Ok(Answer {
                status: a.status,
                body: a.body,
            }),
            Err(e) => {
                let venue = e.venue().to_string();
                let text = e.to_string();
                let message = text
                    .strip_prefix(&format!("{venue}: "))
                    .unwrap_or(&text)
                    .to_string();
                Err(BrokersError::upstream(venue, None, message))
            }
        }
    }
}
