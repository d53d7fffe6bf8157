//! Alpaca connection settings: base URLs, keys and feed, resolved from the
//! manifest and the environment.

use nt_mcp_core::bundle::BundleSettings;

use super::http::AlpacaClient;
use crate::error::Result;
use crate::http::HttpPolicy;

/// The paper trading host; every other host is treated as live.
pub const PAPER_HOST: &str = "paper-api.alpaca.markets";
/// The market-data stream base (the feed is appended).
pub const DEFAULT_DATA_STREAM_URL: &str = "wss://stream.data.alpaca.markets/v2";

/// Alpaca connection settings.
#[derive(Clone)]
pub struct AlpacaConfig {
    /// Trading API base URL (`https://paper-api.alpaca.markets` or
    /// `https://api.alpaca.markets`).
    pub base_url: String,
    /// Market Data API base URL (`https://data.alpaca.markets`).
    pub data_url: String,
    /// Trade-updates stream URL (`wss://paper-api.alpaca.markets/stream`).
    pub stream_url: String,
    /// Market-data stream base URL without the feed
    /// (`wss://stream.data.alpaca.markets/v2`); the feed (`iex` unless
    /// [`AlpacaConfig::feed`] says otherwise) is appended.
    pub data_stream_url: String,
    /// API key id.
    pub key_id: String,
    /// API secret key.
    pub secret_key: String,
    /// Market-data feed (`iex` or `sip`), when set.
    pub feed: Option<String>,
    /// HTTP limits.
    pub policy: HttpPolicy,
}

impl std::fmt::Debug for AlpacaConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // No keys in debug output.
        f.debug_struct("AlpacaConfig")
            .field("base_url", &self.base_url)
            .field("data_url", &self.data_url)
            .field("stream_url", &self.stream_url)
            .field("data_stream_url", &self.data_stream_url)
            .field("feed", &self.feed)
            .finish_non_exhaustive()
    }
}

impl AlpacaConfig {
    /// Paper when the trading base URL's host is the paper host.
    pub fn is_paper(&self) -> bool {
        crate::urls::host_is(&self.base_url, PAPER_HOST)
    }
}

impl AlpacaClient {
    /// Built from `ALPACA_API_KEY_ID` + `ALPACA_API_SECRET_KEY` (and
    /// optionally `ALPACA_BASE_URL`, `ALPACA_DATA_URL`, `ALPACA_STREAM_URL`,
    /// `ALPACA_DATA_STREAM_URL`, `ALPACA_DATA_FEED`, or the manifest's
    /// `alpaca_base_url` / `alpaca_data_url` / `alpaca_stream_url` /
    /// `alpaca_data_stream_url` / `alpaca_data_feed`); the base URL
    /// defaults to paper trading, the market-data stream to
    /// `wss://stream.data.alpaca.markets/v2`. `None` when the keys are not
    /// set.
    pub fn from_settings(settings: &BundleSettings) -> Result<Option<Self>> {
        let (Some(key_id), Some(secret_key)) = (
            std::env::var("ALPACA_API_KEY_ID")
                .ok()
                .filter(|v| !v.trim().is_empty()),
            std::env::var("ALPACA_API_SECRET_KEY")
                .ok()
                .filter(|v| !v.trim().is_empty()),
        ) else {
            return Ok(None);
        };
        let base_url = settings
            .string("alpaca_base_url", "ALPACA_BASE_URL")
            .unwrap_or_else(|| format!("https://{PAPER_HOST}"));
        let stream_url = settings
            .string("alpaca_stream_url", "ALPACA_STREAM_URL")
            .unwrap_or_else(|| default_stream_url(&base_url));
        Self::new(AlpacaConfig {
            data_url: settings
                .string("alpaca_data_url", "ALPACA_DATA_URL")
                .unwrap_or_else(|| "https://data.alpaca.markets".into()),
            base_url,
            stream_url,
            data_stream_url: settings
                .string("alpaca_data_stream_url", "ALPACA_DATA_STREAM_URL")
                .unwrap_or_else(|| DEFAULT_DATA_STREAM_URL.into()),
            key_id: key_id.trim().to_string(),
            secret_key: secret_key.trim().to_string(),
            feed: settings.string("alpaca_data_feed", "ALPACA_DATA_FEED"),
            policy: HttpPolicy::default(),
        })
        .map(Some)
    }
}

/// `https://host/...` -> `wss://host/stream`.
fn default_stream_url(base: &str) -> String {
    let base = base.trim_end_matches('/');
    let ws = if let Some(rest) = base.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if let Some(rest) = base.strip_prefix("http://") {
        format!("ws://{rest}")
    } else {
        base.to_string()
    };
    format!("{ws}/stream")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paper_only_for_the_paper_host() {
        let mut cfg = AlpacaConfig {
            base_url: "https://paper-api.alpaca.markets".into(),
            data_url: String::new(),
            stream_url: String::new(),
            data_stream_url: String::new(),
            key_id: "key-id-123".into(),
            secret_key: "sekrit-456".into(),
            feed: None,
            policy: HttpPolicy::default(),
        };
        assert!(cfg.is_paper());
        cfg.base_url = "https://api.alpaca.markets/".into();
        assert!(!cfg.is_paper());
        cfg.base_url = "https://paper-api.alpaca.markets.evil.example".into();
        assert!(!cfg.is_paper());
        cfg.base_url = "http://127.0.0.1:9999".into();
        assert!(!cfg.is_paper());
        assert_eq!(
            default_stream_url("https://paper-api.alpaca.markets/"),
            "wss://paper-api.alpaca.markets/stream"
        );
        let dbg = format!("{cfg:?}");
        assert!(
            !dbg.contains("sekrit-456") && !dbg.contains("key-id-123"),
            "{dbg}"
        );
    }
}
