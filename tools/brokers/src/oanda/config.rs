//! OANDA connection settings: REST and streaming hosts, token, account and
//! environment, resolved from the manifest and the environment.

use nt_mcp_core::bundle::BundleSettings;

use super::http::OandaClient;
use crate::error::Result;
use crate::http::HttpPolicy;

/// OANDA connection settings.
#[derive(Debug, Clone)]
pub struct OandaConfig {
    /// REST base URL (`https://api-fxpractice.oanda.com`).
    pub base_url: String,
    /// Streaming base URL (`https://stream-fxpractice.oanda.com`).
    pub stream_url: String,
    /// Personal access token.
    pub token: String,
    /// Account id (`101-004-1234567-001`).
    pub account_id: String,
    /// Whether this is the live (fxTrade) environment.
    pub live: bool,
    /// HTTP limits.
    pub policy: HttpPolicy,
}

impl OandaClient {
    /// Built from `OANDA_API_TOKEN` and `OANDA_ACCOUNT_ID` (and optionally
    /// `OANDA_ENV=live`, `OANDA_BASE_URL`, `OANDA_STREAM_URL`, or the
    /// manifest's `oanda_base_url` / `oanda_stream_url`); `None` when the
    /// credentials are not set.
    pub fn from_settings(settings: &BundleSettings) -> Result<Option<Self>> {
        let (Some(token), Some(account_id)) = (
            std::env::var("OANDA_API_TOKEN")
                .ok()
                .filter(|v| !v.trim().is_empty()),
            std::env::var("OANDA_ACCOUNT_ID")
                .ok()
                .filter(|v| !v.trim().is_empty()),
        ) else {
            return Ok(None);
        };
        let live = settings
            .string("oanda_env", "OANDA_ENV")
            .is_some_and(|v| v.eq_ignore_ascii_case("live"));
        let (rest, stream) = if live {
            (
                "https://api-fxtrade.oanda.com",
                "https://stream-fxtrade.oanda.com",
            )
        } else {
            (
                "https://api-fxpractice.oanda.com",
                "https://stream-fxpractice.oanda.com",
            )
        };
        Self::new(OandaConfig {
            base_url: settings
                .string("oanda_base_url", "OANDA_BASE_URL")
                .unwrap_or_else(|| rest.into()),
            stream_url: settings
                .string("oanda_stream_url", "OANDA_STREAM_URL")
                .unwrap_or_else(|| stream.into()),
            token,
            account_id,
            live,
            policy: HttpPolicy::default(),
        })
        .map(Some)
    }
}
