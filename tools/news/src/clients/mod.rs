//! Real clients, each over [`nt_venue_http::VenueClient`] (pacing, retries
//! with backoff on 429/5xx, circuit breaker) with a configurable base URL:
//! news sources behind [`crate::source::NewsSource`] and the rates
//! providers behind [`crate::rates`].

pub mod alphavantage;
pub mod boc;
pub mod edgar;
pub mod finnhub;
pub mod fred;
pub mod gdelt;
pub mod newsapi;
pub mod rss;
pub mod treasury;

use std::time::Duration;

use nt_venue_http::{HttpError, Policy, VenueClient, client_builder, reqwest, venue_message};

use crate::article::Article;
use crate::error::{NewsError, Result};
use crate::symbols::SymbolTable;

/// One provider's HTTP client: name, base URL, policy.
#[derive(Debug)]
pub struct Http {
    name: String,
    base: String,
    client: VenueClient,
}

impl Http {
    /// A client for `name` at `base`, at most `per_second` requests a
    /// second; `user_agent` replaces the default one (SEC EDGAR).
    pub fn new(name: &str, base: &str, per_second: u32, user_agent: Option<&str>) -> Result<Self> {
        let base = base.trim().trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(NewsError::Config(format!(
                "{name} base URL `{base}` must start with http:// or https://"
            )));
        }
        let policy = Policy {
            min_interval: Policy::gap_per_second(per_second.max(1)),
            attempts: 3,
            base_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(4),
            max_retry_after: Duration::from_secs(20),
            breaker_threshold: 5,
            breaker_cooldown: Duration::from_secs(30),
            timeout: Duration::from_secs(20),
        };
        let mut builder = client_builder();
        if let Some(ua) = user_agent {
            builder = builder.user_agent(ua.to_string());
        }
        let client = VenueClient::with_builder(name, policy, builder)
            .map_err(|e| NewsError::Config(e.to_string()))?;
        Ok(Self {
            name: name.to_string(),
            base,
            client,
        })
    }

    /// Replaces the retry and breaker policy (tests shorten it).
    pub fn set_policy(&mut self, policy: Policy) {
        self.client.set_policy(policy);
    }

    /// The breaker's threshold and cooldown.
    pub fn breaker(&self) -> (u32, Duration) {
        let p = self.client.policy();
        (p.breaker_threshold, p.breaker_cooldown)
    }

    /// The base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// GETs `path` with `query` and `headers`; the body of a 2xx answer,
    /// else an upstream error with the provider's own message. Query values
    /// are never echoed in errors (they may hold a key).
    pub async fn get(
        &self,
        path: &str,
        query: &[(&str, String)],
        headers: &[(&str, String)],
    ) -> Result<Vec<u8>> {
        let raw = format!("{}{path}", self.base);
        let url = if query.is_empty() {
            reqwest::Url::parse(&raw)
        } else {
            reqwest::Url::parse_with_params(&raw, query)
        }
        .map_err(|e| NewsError::Config(format!("{} URL: {e}", self.name)))?;
        let answer = self
            .client
            .send(|c| {
                let mut r = c.get(url.clone());
                for (k, v) in headers {
                    r = r.header(*k, v);
                }
                r
            })
            .await
            .map_err(|e: HttpError| NewsError::http(&self.name, e))?;
        if !answer.is_success() {
            return Err(NewsError::upstream(
                &self.name,
                format!(
                    "{path} answered {}: {}",
                    answer.status,
                    venue_message(&answer.body)
                ),
            ));
        }
        Ok(answer.body)
    }

    /// [`Http::get`] parsed as JSON into `T`.
    pub async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
        headers: &[(&str, String)],
    ) -> Result<T> {
        let body = self.get(path, query, headers).await?;
        serde_json::from_slice(&body).map_err(|e| {
            NewsError::parse(
                &self.name,
                format!(
                    "{e}; body starts `{}`",
                    String::from_utf8_lossy(&body[..body.len().min(160)])
                ),
            )
        })
    }
}

/// Adds the tickers `a`'s title and summary mention to its tags.
pub fn tag(mut a: Article, symbols: &SymbolTable) -> Article {
    let text = format!("{}. {}", a.title, a.summary);
    for (t, _) in symbols.mentions(&text) {
        if !a.tickers.iter().any(|x| x == t) {
            a.tickers.push(t.to_string());
        }
    }
    a
}

/// A query word list for providers' keyword search: the text, or the
/// tickers' company names (`"Apple" OR "Microsoft"`).
pub fn keywords(q: &crate::source::NewsQuery, symbols: &SymbolTable) -> Option<String> {
    if let Some(t) = q.text.as_deref().filter(|t| !t.trim().is_empty()) {
        return Some(t.trim().to_string());
    }
    let names: Vec<String> = q
        .tickers
        .iter()
        .map(|t| {
            symbols
                .get(t)
                .map_or(t.clone(), |s| format!("\"{}\"", s.name))
        })
        .collect();
    (!names.is_empty()).then(|| names.join(" OR "))
}

/// `YYYY-MM-DD` of `ms`.
pub fn ymd(ms: i64) -> String {
    nt_mcp_core::dates::format_date(nt_mcp_core::dates::day_of_ms(ms))
}

/// Parses compact `YYYYMMDDTHHMMSS` (optionally with a trailing `Z`, seconds
/// optional) as UTC.
pub fn parse_compact(s: &str) -> Option<i64> {
    let s = s.trim().trim_end_matches('Z');
    let (d, t) = s.split_once('T')?;
    if d.len() != 8 || t.len() < 4 {
        return None;
    }
    let sec = if t.len() >= 6 { &t[4..6] } else { "00" };
    nt_mcp_core::dates::parse_iso_ms(&format!(
        "{}-{}-{}T{}:{}:{sec}Z",
        &d[..4],
        &d[4..6],
        &d[6..8],
        &t[..2],
        &t[2..4]
    ))
}

/// The wall clock, ms (for providers that need a date range when the query
/// gives none).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
