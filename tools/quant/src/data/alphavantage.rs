//! Alpha Vantage daily bars (API key required):
//! `GET {base}/query?function=TIME_SERIES_DAILY&symbol=IBM&outputsize=compact|full&apikey=KEY`
//! answers JSON `{"Meta Data": {..}, "Time Series (Daily)": {"2024-01-02":
//! {"1. open": "..", "2. high": "..", "3. low": "..", "4. close": "..",
//! "5. volume": ".."}, ..}}`. Failures come back with HTTP 200 and one of
//! `Error Message` (bad symbol or call), `Note` or `Information` (rate limit,
//! premium-only options such as `outputsize=full` on a free key).
//! Spoken here: the Core Stock APIs as documented at
//! <https://www.alphavantage.co/documentation/#daily> (`compact` = the latest
//! 100 bars, `full` = 20+ years).

use std::collections::BTreeMap;

use async_trait::async_trait;
use nt_venue_http::{Policy, VenueClient};
use serde::Deserialize;

use crate::bars::{Bar, BarSeries, parse_day};
use crate::data::{BarProvider, BarRequest};
use crate::error::{QuantError, Result};

/// Alpha Vantage's public base URL.
pub const ALPHA_VANTAGE_BASE_URL: &str = "https://www.alphavantage.co";

/// Where and how to reach Alpha Vantage.
#[derive(Debug, Clone)]
pub struct AlphaVantageConfig {
    /// Base URL (a local fake in tests).
    pub base_url: String,
    /// API key.
    pub api_key: String,
    /// Requests a minute the client allows itself (free keys: 5).
    pub requests_per_minute: u32,
}

impl AlphaVantageConfig {
    /// From `lookup` (the environment): `ALPHAVANTAGE_API_KEY` (None when
    /// unset), `ALPHAVANTAGE_BASE_URL`, `ALPHAVANTAGE_REQUESTS_PER_MINUTE`.
    pub fn resolve(lookup: impl Fn(&str) -> Option<String>) -> Result<Option<Self>> {
        let Some(api_key) = lookup("ALPHAVANTAGE_API_KEY").filter(|k| !k.trim().is_empty()) else {
            return Ok(None);
        };
        let base_url = lookup("ALPHAVANTAGE_BASE_URL")
            .filter(|s| !s.trim().is_empty())
            .map_or_else(
                || ALPHA_VANTAGE_BASE_URL.to_string(),
                |s| s.trim().trim_end_matches('/').to_string(),
            );
        let requests_per_minute = match lookup("ALPHAVANTAGE_REQUESTS_PER_MINUTE") {
            Some(n) => n
                .trim()
                .parse()
                .ok()
                .filter(|n| (1..=6000).contains(n))
                .ok_or_else(|| {
                    QuantError::invalid("ALPHAVANTAGE_REQUESTS_PER_MINUTE", "must be 1-6000")
                })?,
            None => 5,
        };
        Ok(Some(Self {
            base_url,
            api_key: api_key.trim().to_string(),
            requests_per_minute,
        }))
    }
}

/// The Alpha Vantage client.
#[derive(Debug)]
pub struct AlphaVantageClient {
    cfg: AlphaVantageConfig,
    http: VenueClient,
}

#[derive(Deserialize)]
struct DailyBar {
    #[serde(rename = "1. open")]
    open: String,
    #[serde(rename = "2. high")]
    high: String,
    #[serde(rename = "3. low")]
    low: String,
    #[serde(rename = "4. close")]
    close: String,
    #[serde(rename = "5. volume")]
    volume: String,
}

#[derive(Deserialize)]
struct Daily {
    #[serde(rename = "Time Series (Daily)")]
    series: Option<BTreeMap<String, DailyBar>>,
    #[serde(rename = "Error Message")]
    error: Option<String>,
    #[serde(rename = "Note")]
    note: Option<String>,
    #[serde(rename = "Information")]
    information: Option<String>,
}

impl AlphaVantageClient {
    /// A client for `cfg`.
    pub fn new(cfg: AlphaVantageConfig) -> Result<Self> {
        let policy = Policy {
            min_interval: Policy::gap_per_minute(cfg.requests_per_minute),
            ..Policy::default()
        };
        let http = VenueClient::new("alphavantage", policy)
            .map_err(|e| QuantError::Upstream(e.to_string()))?;
        Ok(Self { cfg, http })
    }

    /// Daily bars of `req.symbol`; asks for the full history only when the
    /// range starts more than ~140 calendar days back (compact holds 100 bars).
    pub async fn daily(&self, req: &BarRequest, today: i64) -> Result<BarSeries> {
        let symbol = req.symbol.trim().to_string();
        if symbol.is_empty() || symbol.len() > 32 {
            return Err(QuantError::invalid(
                "symbol",
                "an Alpha Vantage symbol such as `IBM` or `TSCO.LON`",
            ));
        }
        let size = if req.from.is_none_or(|f| today - f > 140) {
            "full"
        } else {
            "compact"
        };
        let query = [
            ("function", "TIME_SERIES_DAILY"),
            ("symbol", symbol.as_str()),
            ("outputsize", size),
            ("apikey", self.cfg.api_key.as_str()),
        ];
        let url = format!("{}/query", self.cfg.base_url);
        let answer = self
            .http
            .send(|c| c.get(&url).query(&query))
            .await
            .map_err(|e| QuantError::Upstream(e.to_string()))?;
        if !answer.is_success() {
            return Err(QuantError::Upstream(format!(
                "alphavantage answered HTTP {}: {}",
                answer.status,
                answer.message()
            )));
        }
        let body: Daily = answer
            .json()
            .map_err(|e| QuantError::Upstream(format!("alphavantage: unexpected answer: {e}")))?;
        if let Some(m) = body.error {
            return Err(QuantError::Data(format!("alphavantage: {m}")));
        }
        if let Some(m) = body.note.or(body.information) {
            return Err(QuantError::Upstream(format!("alphavantage: {m}")));
        }
        let series = body.series.ok_or_else(|| {
            QuantError::Upstream("alphavantage: no `Time Series (Daily)` in the answer".into())
        })?;
        let num = |d: &str, f: &str, v: &str| {
            v.trim()
                .parse::<f64>()
                .map_err(|_| QuantError::Data(format!("alphavantage: {d} {f} is `{v}`")))
        };
        let mut bars = Vec::with_capacity(series.len());
        for (d, b) in &series {
            let day = parse_day(d)
                .ok_or_else(|| QuantError::Data(format!("alphavantage: date `{d}`")))?;
            bars.push(Bar {
                day,
                open: num(d, "open", &b.open)?,
                high: num(d, "high", &b.high)?,
                low: num(d, "low", &b.low)?,
                close: num(d, "close", &b.close)?,
                volume: num(d, "volume", &b.volume)?,
            });
        }
        let s = BarSeries::new(
            &symbol,
            format!("alphavantage(TIME_SERIES_DAILY, {size})"),
            bars,
        )?
        .between(req.from, req.to);
        if s.is_empty() {
            return Err(QuantError::NotEnoughData(format!(
                "alphavantage has no bars for `{symbol}` in that range"
            )));
        }
        Ok(s)
    }
}

#[async_trait]
impl BarProvider for AlphaVantageClient {
    fn name(&self) -> &str {
        "alphavantage"
    }

    async fn bars(&self, req: &BarRequest) -> Result<BarSeries> {
        let today = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64 / 86_400);
        self.daily(req, today).await
    }
}
