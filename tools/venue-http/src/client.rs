//! [`VenueClient`]: one outside HTTP service behind pacing, retries and a
//! circuit breaker.

use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use crate::answer::Answer;
use crate::error::HttpError;
use crate::guard::Guard;
use crate::policy::Policy;
use crate::tls::client_builder;

/// An HTTP client for one venue. The underlying reqwest client (its TLS
/// roots take milliseconds to load) is built at the first request, not when
/// the bundle starts: a server hosting twenty venues starts as fast as one
/// hosting none.
#[derive(Debug)]
pub struct VenueClient {
    venue: String,
    builder: Mutex<Option<reqwest::ClientBuilder>>,
    client: OnceLock<Result<reqwest::Client, String>>,
    policy: Policy,
    guard: Guard,
}

/// The delay a 429 or 503 asks for in `Retry-After` (whole seconds; the
/// HTTP-date form is not used by the venues we call).
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

/// Whether a status is worth another attempt.
fn retryable(status: u16) -> bool {
    status == 429 || (500..600).contains(&status)
}

impl VenueClient {
    /// A client for `venue` (the name used in error messages).
    pub fn new(venue: &str, policy: Policy) -> Result<Self, HttpError> {
        Self::with_builder(venue, policy, client_builder())
    }

    /// A client for `venue` from a prepared builder (custom roots, a
    /// gateway's self-signed certificate); the policy's timeout is set here.
    pub fn with_builder(
        venue: &str,
        policy: Policy,
        builder: reqwest::ClientBuilder,
    ) -> Result<Self, HttpError> {
        Ok(Self {
            venue: venue.to_string(),
            builder: Mutex::new(Some(builder.timeout(policy.timeout))),
            client: OnceLock::new(),
            policy,
            guard: Guard::default(),
        })
    }

    /// The reqwest client, built on first use.
    fn http(&self) -> Result<&reqwest::Client, HttpError> {
        self.client
            .get_or_init(|| {
                crate::tls::install_crypto_provider();
                let builder = self
                    .builder
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .take();
                match builder {
                    Some(b) => b.build().map_err(|e| e.to_string()),
                    None => Err("the HTTP client could not be built".to_string()),
                }
            })
            .as_ref()
            .map_err(|detail| HttpError::Client {
                venue: self.venue.clone(),
                detail: detail.clone(),
            })
    }

    /// The venue name.
    pub fn venue(&self) -> &str {
        &self.venue
    }

    /// The policy in force.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Replaces the policy (the timeout stays the one the client was built
    /// with).
    pub fn set_policy(&mut self, policy: Policy) {
        self.policy = policy;
    }

    /// The underlying client, for requests the retry loop does not fit
    /// (long-lived streams); built on first use.
    pub fn client(&self) -> Result<&reqwest::Client, HttpError> {
        self.http()
    }

    /// Sends the request `build` makes, retrying 429, 5xx and transport
    /// failures. Any final answer, 2xx or not, comes back as an
    /// [`Answer`]; only an open breaker and exhausted transport attempts
    /// are errors.
    pub async fn send(
        &self,
        mut build: impl FnMut(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> Result<Answer, HttpError> {
        self.try_send(|c| Ok::<_, HttpError>(build(c))).await
    }

    /// [`VenueClient::send`] for a `build` that can fail (a request signed
    /// per attempt); its error type must take an [`HttpError`].
    pub async fn try_send<E: From<HttpError>>(
        &self,
        mut build: impl FnMut(&reqwest::Client) -> Result<reqwest::RequestBuilder, E>,
    ) -> Result<Answer, E> {
        let p = self.policy;
        if let Err(open) = self.guard.check() {
            return Err(HttpError::CircuitOpen {
                venue: self.venue.clone(),
                failures: open.failures,
                retry_in: open.retry_in,
            }
            .into());
        }
        let attempts = p.attempts.max(1);
        let mut last_transport = String::new();
        for attempt in 0..attempts {
            self.guard.pace(p.min_interval).await;
            let asked = match build(self.http()?)?.send().await {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let headers = resp.headers().clone();
                    let asked = retry_after(&headers);
                    let body = match resp.bytes().await {
                        Ok(b) => Some(b.to_vec()),
                        Err(e) => {
                            last_transport = crate::transport_detail(e);
                            None
                        }
                    };
                    if let Some(body) = body {
                        let last = attempt + 1 == attempts;
                        if !retryable(status) || last {
                            self.guard.record(
                                !retryable(status),
                                p.breaker_threshold,
                                p.breaker_cooldown,
                            );
                            return Ok(Answer {
                                status,
                                headers,
                                body,
                            });
                        }
                    }
                    asked
                }
                Err(e) => {
                    last_transport = crate::transport_detail(e);
                    None
                }
            };
            if attempt + 1 < attempts {
                tokio::time::sleep(p.delay(attempt, asked)).await;
            }
        }
        self.guard
            .record(false, p.breaker_threshold, p.breaker_cooldown);
        Err(HttpError::Unreachable {
            venue: self.venue.clone(),
            attempts,
            detail: last_transport,
        }
        .into())
    }
}
