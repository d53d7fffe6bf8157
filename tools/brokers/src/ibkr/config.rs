//! IB gateway settings: gateway URL, account, certificate checks and the
//! session keep-alive period, resolved from the manifest and the
//! environment.

use nt_mcp_core::bundle::BundleSettings;
use std::time::Duration;

use super::http::IbkrClient;
use crate::config::period_setting;
use crate::error::Result;
use crate::http::HttpPolicy;

/// IB gateway settings.
#[derive(Debug, Clone)]
pub struct IbkrConfig {
    /// Gateway base URL including `/v1/api` (`https://localhost:5000/v1/api`).
    pub base_url: String,
    /// Account id; the gateway's selected account when `None`.
    pub account_id: Option<String>,
    /// Skip certificate checks (only allowed for a loopback gateway).
    pub allow_invalid_certs: bool,
    /// The gateway's WebSocket URL; `{base_url}/ws` (as `wss://`) when
    /// `None`.
    pub ws_url: Option<String>,
    /// HTTP limits.
    pub policy: HttpPolicy,
    /// How often to `POST /tickle` in the background to keep the gateway
    /// session alive (IB logs an idle session out after a few minutes);
    /// `None` turns the keep-alive off.
    pub keepalive: Option<Duration>,
}

/// The default keep-alive interval: one tickle a minute, as IB advises.
pub const DEFAULT_KEEPALIVE: Duration = Duration::from_secs(60);
impl IbkrClient {
    /// Built from `IBKR_GATEWAY_URL` (and optionally `IBKR_ACCOUNT_ID`,
    /// `IBKR_ALLOW_INVALID_CERTS=true`, or the manifest's
    /// `ibkr_gateway_url` / `ibkr_account_id`); `None` when no gateway URL
    /// is set. The gateway holds the login, so no secret is configured here.
    pub fn from_settings(settings: &BundleSettings) -> Result<Option<Self>> {
        let Some(base_url) = settings.string("ibkr_gateway_url", "IBKR_GATEWAY_URL") else {
            return Ok(None);
        };
        let allow = std::env::var("IBKR_ALLOW_INVALID_CERTS")
            .is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1");
        let keepalive = period_setting(
            settings,
            "ibkr_keepalive_secs",
            "IBKR_KEEPALIVE_SECS",
            DEFAULT_KEEPALIVE,
            3600,
        )?;
        Self::new(IbkrConfig {
            base_url,
            account_id: settings.string("ibkr_account_id", "IBKR_ACCOUNT_ID"),
            allow_invalid_certs: allow,
            ws_url: settings.string("ibkr_ws_url", "IBKR_WS_URL"),
            policy: HttpPolicy::default(),
            keepalive,
        })
        .map(Some)
    }
}
