//! Tradier connection settings: base URL, token, account and streaming
//! host, resolved from the manifest and the environment.

use nt_mcp_core::bundle::BundleSettings;

use super::http::TradierClient;
use crate::error::Result;
use crate::http::HttpPolicy;

/// The sandbox host; every other host is treated as live.
pub const SANDBOX_HOST: &str = "sandbox.tradier.com";
/// The live WebSocket streaming host.
pub const STREAM_URL: &str = "wss://ws.tradier.com";
/// The paper-trading (sandbox) WebSocket streaming host.
pub const SANDBOX_STREAM_URL: &str = "wss://sandbox-ws.tradier.com";

/// Tradier connection settings.
#[derive(Clone)]
pub struct TradierConfig {
    /// API base URL (`https://sandbox.tradier.com` or `https://api.tradier.com`).
    pub base_url: String,
    /// Access token.
    pub token: String,
    /// Account number; the profile's first account when `None`.
    pub account_id: Option<String>,
    /// WebSocket streaming base URL; when `None`, `wss://ws.tradier.com`
    /// for the live API, `wss://sandbox-ws.tradier.com` for the sandbox,
    /// and the base URL's own host (as `ws(s)://`) for anything else.
    pub stream_url: Option<String>,
    /// HTTP limits.
    pub policy: HttpPolicy,
}

impl std::fmt::Debug for TradierConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // No token in debug output.
        f.debug_struct("TradierConfig")
            .field("base_url", &self.base_url)
            .field("account_id", &self.account_id)
            .field("stream_url", &self.stream_url)
            .finish_non_exhaustive()
    }
}

impl TradierConfig {
    /// The WebSocket streaming base URL in use.
    pub fn ws_base(&self) -> String {
        if let Some(u) = self.stream_url.as_ref().filter(|u| !u.trim().is_empty()) {
            return u.trim().trim_end_matches('/').to_string();
        }
        if self.is_sandbox() {
            return SANDBOX_STREAM_URL.into();
        }
        let base = self.base_url.trim().trim_end_matches('/');
        if base.eq_ignore_ascii_case("https://api.tradier.com") {
            return STREAM_URL.into();
        }
        crate::ws::ws_scheme(base)
    }

    /// Paper when the base URL's host is the sandbox host.
    pub fn is_sandbox(&self) -> bool {
        crate::urls::host_is(&self.base_url, SANDBOX_HOST)
    }
}

impl TradierClient {
    /// Built from `TRADIER_ACCESS_TOKEN` (and optionally
    /// `TRADIER_ACCOUNT_ID`, `TRADIER_BASE_URL`, `TRADIER_STREAM_URL`, or
    /// the manifest's `tradier_account_id` / `tradier_base_url` /
    /// `tradier_stream_url`); the base URL defaults to the sandbox. `None`
    /// when the token is not set.
    pub fn from_settings(settings: &BundleSettings) -> Result<Option<Self>> {
        let Some(token) = std::env::var("TRADIER_ACCESS_TOKEN")
            .ok()
            .filter(|v| !v.trim().is_empty())
        else {
            return Ok(None);
        };
        Self::new(TradierConfig {
            base_url: settings
                .string("tradier_base_url", "TRADIER_BASE_URL")
                .unwrap_or_else(|| format!("https://{SANDBOX_HOST}")),
            token: token.trim().to_string(),
            account_id: settings.string("tradier_account_id", "TRADIER_ACCOUNT_ID"),
            stream_url: settings.string("tradier_stream_url", "TRADIER_STREAM_URL"),
            policy: HttpPolicy::default(),
        })
        .map(Some)
    }
}
