//! Stooq daily bars: `GET {base}/q/d/l/?s=<symbol>&i=d[&d1=YYYYMMDD][&d2=YYYYMMDD][&apikey=KEY]`
//! answers CSV `Date,Open,High,Low,Close,Volume` (oldest first). The body
//! `No data` means an unknown symbol; `Exceeded the daily hits limit` is the
//! daily quota. Since early 2026 Stooq asks for an `apikey` (issued through a
//! CAPTCHA form on stooq.com); it is sent when `STOOQ_API_KEY` is set.
//! Spoken here: the CSV download endpoint as documented in the Stooq
//! Historical Data API description (OpenAPI 1.0.0, api-evangelist/stooq).

use async_trait::async_trait;
use nt_venue_http::{Policy, VenueClient};

use crate::bars::{BarSeries, civil_from_days};
use crate::data::csv::parse_csv;
use crate::data::{BarProvider, BarRequest};
use crate::error::{QuantError, Result};

/// Stooq's public base URL.
pub const STOOQ_BASE_URL: &str = "https://stooq.com";

/// Where and how to reach Stooq.
#[derive(Debug, Clone)]
pub struct StooqConfig {
    /// Base URL (a local fake in tests).
    pub base_url: String,
    /// API key, when the caller has one.
    pub api_key: Option<String>,
    /// Requests a minute the client allows itself.
    pub requests_per_minute: u32,
}

impl Default for StooqConfig {
    fn default() -> Self {
        Self {
            base_url: STOOQ_BASE_URL.into(),
            api_key: None,
            requests_per_minute: 30,
        }
    }
}

impl StooqConfig {
    /// The configuration from `lookup` (the environment in production):
    /// `STOOQ_BASE_URL`, `STOOQ_API_KEY`, `STOOQ_REQUESTS_PER_MINUTE`.
    pub fn resolve(lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let mut cfg = Self::default();
        if let Some(url) = lookup("STOOQ_BASE_URL").filter(|s| !s.trim().is_empty()) {
            cfg.base_url = url.trim().trim_end_matches('/').to_string();
        }
        cfg.api_key = lookup("STOOQ_API_KEY").filter(|s| !s.trim().is_empty());
        if let Some(n) = lookup("STOOQ_REQUESTS_PER_MINUTE") {
            cfg.requests_per_minute = n
                .trim()
                .parse()
                .ok()
                .filter(|n| (1..=6000).contains(n))
                .ok_or_else(|| {
                    QuantError::invalid("STOOQ_REQUESTS_PER_MINUTE", "must be 1-6000")
                })?;
        }
        Ok(cfg)
    }
}

/// The Stooq client.
#[derive(Debug)]
pub struct StooqClient {
    cfg: StooqConfig,
    http: VenueClient,
}

fn ymd(day: i64) -> String {
    let (y, m, d) = civil_from_days(day);
    format!("{y:04}{m:02}{d:02}")
}

impl StooqClient {
    /// A client for `cfg`.
    pub fn new(cfg: StooqConfig) -> Result<Self> {
        let policy = Policy {
            min_interval: Policy::gap_per_minute(cfg.requests_per_minute),
            ..Policy::default()
        };
        let http =
            VenueClient::new("stooq", policy).map_err(|e| QuantError::Upstream(e.to_string()))?;
        Ok(Self { cfg, http })
    }

    /// Daily bars of `req.symbol` (Stooq spelling: `aapl.us`, `^spx`).
    pub async fn daily(&self, req: &BarRequest) -> Result<BarSeries> {
        let symbol = req.symbol.trim().to_ascii_lowercase();
        if symbol.is_empty() || symbol.len() > 32 {
            return Err(QuantError::invalid(
                "symbol",
                "a Stooq symbol such as `aapl.us` (1-32 characters)",
            ));
        }
        let mut query = vec![("s", symbol.clone()), ("i", "d".to_string())];
        if let Some(f) = req.from {
            query.push(("d1", ymd(f)));
        }
        if let Some(t) = req.to {
            query.push(("d2", ymd(t)));
        }
        if let Some(k) = &self.cfg.api_key {
            query.push(("apikey", k.clone()));
        }
        let url = format!("{}/q/d/l/", self.cfg.base_url);
        let answer = self
            .http
            .send(|c| c.get(&url).query(&query))
            .await
            .map_err(|e| QuantError::Upstream(e.to_string()))?;
        let body = answer.text();
        if !answer.is_success() {
            return Err(QuantError::Upstream(format!(
                "stooq answered HTTP {}: {}",
                answer.status,
                answer.message()
            )));
        }
        let trimmed = body.trim();
        if trimmed.eq_ignore_ascii_case("no data") || trimmed.is_empty() {
            return Err(QuantError::Data(format!(
                "stooq has no data for `{symbol}` in that range"
            )));
        }
        if trimmed
            .to_ascii_lowercase()
            .contains("exceeded the daily hits limit")
        {
            return Err(QuantError::Upstream(
                "stooq: exceeded the daily hits limit (set STOOQ_API_KEY or try tomorrow)".into(),
            ));
        }
        parse_csv(&req.symbol, "stooq", &body)
    }
}

#[async_trait]
impl BarProvider for StooqClient {
    fn name(&self) -> &str {
        "stooq"
    }

    async fn bars(&self, req: &BarRequest) -> Result<BarSeries> {
        self.daily(req).await
    }
}
