//! Questrade connection settings: login server, refresh token, account,
//! practice flag and stream keep-alive, resolved from the manifest and the
//! environment.

use std::sync::Arc;
use std::time::Duration;

use nt_mcp_core::bundle::BundleSettings;

use super::http::{QuestradeClient, QuestradeCore};
use crate::config::period_setting;
use crate::error::Result;
use crate::http::HttpPolicy;

/// Questrade connection settings.
#[derive(Debug, Clone)]
pub struct QuestradeConfig {
    /// OAuth server (`https://login.questrade.com`, or
    /// `https://practicelogin.questrade.com` for a practice account).
    pub login_url: String,
    /// Replaces the `api_server` the token answer names (proxies, tests).
    pub api_url: Option<String>,
    /// The refresh token from the API Centre; used only when none is
    /// stored yet (or the stored one was refused).
    pub refresh_token: String,
    /// Account number; the primary account when `None`.
    pub account_id: Option<String>,
    /// Whether this is a practice (paper) account.
    pub practice: bool,
    /// HTTP limits.
    pub policy: HttpPolicy,
    /// How often an open stream sends a REST request (`GET v1/time`) to
    /// keep the session alive: an open socket does not extend it, and the
    /// socket drops when the session expires (30 minutes without a
    /// request). `None` turns the keep-alive off.
    pub keepalive: Option<Duration>,
}

/// The default stream keep-alive: a REST request every ten minutes, well
/// inside Questrade's 30-minute session.
pub const DEFAULT_KEEPALIVE: Duration = Duration::from_secs(600);
impl QuestradeClient {
    /// Built from `QUESTRADE_REFRESH_TOKEN` (and optionally
    /// `QUESTRADE_PRACTICE=true`, `QUESTRADE_ACCOUNT_ID`,
    /// `QUESTRADE_LOGIN_URL`, `QUESTRADE_API_URL`,
    /// `QUESTRADE_KEEPALIVE_SECS`, or the manifest's `questrade_practice` /
    /// `questrade_account_id` / `questrade_login_url` / `questrade_api_url`
    /// / `questrade_keepalive_secs`); `None` when the token is not set.
    pub fn from_settings(settings: &BundleSettings) -> Result<Option<Self>> {
        Ok(QuestradeCore::from_settings(settings)?.map(|c| Self(Arc::new(c))))
    }
}

impl QuestradeCore {
    /// Built from `QUESTRADE_REFRESH_TOKEN` (and optionally
    /// `QUESTRADE_PRACTICE=true`, `QUESTRADE_ACCOUNT_ID`,
    /// `QUESTRADE_LOGIN_URL`, `QUESTRADE_API_URL`,
    /// `QUESTRADE_KEEPALIVE_SECS`, or the manifest's `questrade_practice` /
    /// `questrade_account_id` / `questrade_login_url` / `questrade_api_url`
    /// / `questrade_keepalive_secs`); `None` when the token is not set.
    pub fn from_settings(settings: &BundleSettings) -> Result<Option<Self>> {
        let Some(token) = std::env::var("QUESTRADE_REFRESH_TOKEN")
            .ok()
            .filter(|v| !v.trim().is_empty())
        else {
            return Ok(None);
        };
        let practice = settings
            .string("questrade_practice", "QUESTRADE_PRACTICE")
            .is_some_and(|v| v.eq_ignore_ascii_case("true") || v == "1");
        let login = if practice {
            "https://practicelogin.questrade.com"
        } else {
            "https://login.questrade.com"
        };
        Self::new(QuestradeConfig {
            login_url: settings
                .string("questrade_login_url", "QUESTRADE_LOGIN_URL")
                .unwrap_or_else(|| login.into()),
            api_url: settings.string("questrade_api_url", "QUESTRADE_API_URL"),
            refresh_token: token.trim().to_string(),
            account_id: settings.string("questrade_account_id", "QUESTRADE_ACCOUNT_ID"),
            practice,
            policy: HttpPolicy::default(),
            keepalive: period_setting(
                settings,
                "questrade_keepalive_secs",
                "QUESTRADE_KEEPALIVE_SECS",
                DEFAULT_KEEPALIVE,
                1500,
            )?,
        })
        .map(Some)
    }
}
