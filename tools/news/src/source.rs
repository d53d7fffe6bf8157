//! [`NewsSource`]: the one trait every source implements (the embedded
//! corpus and each real client), the [`NewsQuery`] they answer, and
//! [`Tracked`], which wraps a source with its health (calls, failures, last
//! error, breaker state) for `news_sources`.

use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use serde::Serialize;

use crate::article::Article;
use crate::error::{NewsError, Result};

/// What to ask sources for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize)]
pub struct NewsQuery {
    /// Free-text query (all words must appear), if any.
    pub text: Option<String>,
    /// Tickers (resolved, upper case); an article about any of them matches.
    pub tickers: Vec<String>,
    /// Earliest publish time, ms.
    pub from_ms: Option<i64>,
    /// Latest publish time, ms.
    pub to_ms: Option<i64>,
    /// Most articles wanted from each source.
    pub limit: usize,
}

impl NewsQuery {
    /// A stable key for the cache: the query's fields in a fixed form, with
    /// times floored to the minute so calls a few seconds apart share it.
    pub fn cache_key(&self) -> String {
        let minute = |v: Option<i64>| v.map_or("-".to_string(), |m| (m / 60_000).to_string());
        format!(
            "q={}|t={}|from={}|to={}|n={}",
            self.text.as_deref().unwrap_or("").trim().to_lowercase(),
            self.tickers.join(","),
            minute(self.from_ms),
            minute(self.to_ms),
            self.limit
        )
    }

    /// Whether `published_ms` falls in the query's window.
    pub fn in_window(&self, published_ms: i64) -> bool {
        self.from_ms.is_none_or(|f| published_ms >= f)
            && self.to_ms.is_none_or(|t| published_ms <= t)
    }
}

/// A source of articles.
#[async_trait]
pub trait NewsSource: Send + Sync + std::fmt::Debug {
    /// Its name (`corpus`, `newsapi`, `rss:fed`, ...).
    fn name(&self) -> &str;
    /// `true` for an outside service (its answers are cached in the
    /// database), `false` for the embedded corpus.
    fn live(&self) -> bool;
    /// The breaker threshold and cooldown of its HTTP policy, if any.
    fn breaker(&self) -> Option<(u32, Duration)> {
        None
    }
    /// Articles answering `q`.
    async fn fetch(&self, q: &NewsQuery) -> Result<Vec<Article>>;
}

/// A source's health as `news_sources` shows it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Health {
    /// Calls made (cache hits excluded).
    pub calls: u64,
    /// Calls that failed.
    pub failures: u64,
    /// Failures since the last success.
    pub consecutive_failures: u32,
    /// The last error, if any.
    pub last_error: Option<String>,
    /// When it happened, ms.
    pub last_error_ms: Option<i64>,
    /// The last success, ms.
    pub last_ok_ms: Option<i64>,
    /// Until when the breaker is known to be open, ms.
    pub open_until_ms: Option<i64>,
}

/// A source and its health.
#[derive(Debug)]
pub struct Tracked {
    /// The source.
    pub source: Box<dyn NewsSource>,
    health: Mutex<Health>,
}

impl Tracked {
    /// Wraps `source`.
    pub fn new(source: Box<dyn NewsSource>) -> Self {
        Self {
            source,
            health: Mutex::new(Health::default()),
        }
    }

    /// Fetches and records the outcome at `now_ms`.
    pub async fn fetch(&self, q: &NewsQuery, now_ms: i64) -> Result<Vec<Article>> {
        let out = self.source.fetch(q).await;
        let mut h = self.health.lock().unwrap_or_else(|p| p.into_inner());
        h.calls += 1;
        match &out {
            Ok(_) => {
                h.consecutive_failures = 0;
                h.last_ok_ms = Some(now_ms);
                h.open_until_ms = None;
            }
            Err(e) => {
                h.failures += 1;
                h.consecutive_failures += 1;
                h.last_error = Some(e.to_string());
                h.last_error_ms = Some(now_ms);
                let cooldown = self.source.breaker().map(|(threshold, cooldown)| {
                    (h.consecutive_failures >= threshold).then_some(cooldown)
                });
                let retry_in = match e {
                    NewsError::BreakerOpen { retry_in_ms, .. } => Some(*retry_in_ms),
                    _ => cooldown
                        .flatten()
                        .map(|c| i64::try_from(c.as_millis()).unwrap_or(i64::MAX)),
                };
                if let Some(ms) = retry_in {
                    h.open_until_ms = Some(now_ms.saturating_add(ms));
                }
            }
        }
        out
    }

    /// The health now.
    pub fn health(&self) -> Health {
        self.health
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// `closed`, `degraded` (failing, breaker not open) or `open` at `now_ms`.
    pub fn breaker_state(&self, now_ms: i64) -> &'static str {
        let h = self.health();
        match h.open_until_ms {
            Some(until) if now_ms < until => "open",
            _ if h.consecutive_failures > 0 => "degraded",
            _ => "closed",
        }
    }
}
