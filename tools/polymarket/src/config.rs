//! [`PolymarketConfig`]: the bundle's settings (manifest table, then environment).

use crate::auth::ApiCreds;
use nt_mcp_core::bundle::BundleSettings;
use rust_decimal::Decimal;

use crate::error::{PolymarketError, Result};
use crate::signing::{self, SignatureType};

/// Configuration: URLs and paper balance from the manifest table, secrets
/// from the environment.
#[derive(Debug, Clone)]
pub struct PolymarketConfig {
    /// CLOB REST base URL (`clob_url` / `POLYMARKET_CLOB_URL`).
    pub clob_url: String,
    /// Paper account's starting USDC (`paper_usdc`, default 10 000).
    pub paper_usdc: Decimal,
    /// Chain id for signing (`chain_id`, default 137).
    pub chain_id: u64,
    /// Signature type 0/1/2/3 (`signature_type` / `POLYMARKET_SIGNATURE_TYPE`):
    /// EOA, POLY_PROXY, POLY_GNOSIS_SAFE, POLY_1271.
    pub signature_type: u8,
    /// Polygon JSON-RPC endpoint for sending collateral transactions
    /// (`rpc_url` / `POLYGON_RPC_URL`; none: calldata only).
    pub rpc_url: Option<String>,
    /// Builder code stamped on every order (`builder_code` /
    /// `POLYMARKET_BUILDER_CODE`, bytes32; zero by default).
    pub builder_code: alloy_primitives::B256,
    /// Funding proxy/safe address (`funder` / `POLYMARKET_FUNDER`).
    pub funder: Option<String>,
    /// `POLYMARKET_PRIVATE_KEY`.
    pub private_key: Option<String>,
    /// `POLYMARKET_API_KEY`, `_SECRET`, `_PASSPHRASE`.
    pub api_creds: Option<ApiCreds>,
    /// Gamma API base URL (`gamma_url` / `POLYMARKET_GAMMA_URL`).
    pub gamma_url: String,
    /// Data API base URL (`data_url` / `POLYMARKET_DATA_URL`).
    pub data_url: String,
    /// Market-channel WebSocket URL (`ws_url` / `POLYMARKET_WS_URL`).
    pub ws_url: String,
    /// With a private key but no API credentials, derive (or create) them
    /// with L1 auth on first use and trade live (`derive_api_key` /
    /// `POLYMARKET_DERIVE_API_KEY=1`).
    pub derive_api_key: bool,
    /// A streamed book whose last message is older than this is stale and
    /// answers come from a REST snapshot (`stream_max_age_ms`, default 30 000).
    pub stream_max_age_ms: u64,
    /// Fee schedule of the local CLOB's markets (`local_fee_rate`, default
    /// "0.04", and `local_fee_exponent`, default 1; taker-only).
    pub local_fees: crate::fees::FeeSchedule,
}

impl Default for PolymarketConfig {
    fn default() -> Self {
        Self {
            clob_url: crate::rest::DEFAULT_CLOB_URL.into(),
            paper_usdc: Decimal::from(10_000),
            chain_id: signing::POLYGON,
            signature_type: 0,
            builder_code: alloy_primitives::B256::ZERO,
            rpc_url: None,
            funder: None,
            private_key: None,
            api_creds: None,
            gamma_url: crate::gamma::DEFAULT_GAMMA_URL.into(),
            data_url: crate::data_api::DEFAULT_DATA_URL.into(),
            ws_url: crate::ws::DEFAULT_WS_URL.into(),
            derive_api_key: false,
            stream_max_age_ms: 30_000,
            local_fees: crate::engine::DEFAULT_LOCAL_FEES,
        }
    }
}

fn setting(e: nt_mcp_core::SettingError) -> PolymarketError {
    PolymarketError::Config(e.to_string())
}

impl PolymarketConfig {
    /// Reads the manifest table and the environment (through
    /// [`BundleSettings`]: the manifest key first, then the variable).
    pub fn from_settings(settings: &BundleSettings) -> Result<Self> {
        let mut cfg = Self::default();
        if let Some(url) = settings.string("clob_url", "POLYMARKET_CLOB_URL") {
            cfg.clob_url = url;
        }
        if let Some(usdc) = settings.decimal("paper_usdc", "").map_err(setting)? {
            cfg.paper_usdc = usdc;
        }
        if let Some(id) = settings.integer("chain_id", "").map_err(setting)? {
            cfg.chain_id = u64::try_from(id)
                .map_err(|_| PolymarketError::Config("chain_id must be positive".into()))?;
        }
        if let Some(t) = settings
            .integer("signature_type", "POLYMARKET_SIGNATURE_TYPE")
            .map_err(|_| PolymarketError::Config("signature_type must be 0, 1, 2 or 3".into()))?
        {
            cfg.signature_type = u8::try_from(t).map_err(|_| {
                PolymarketError::Config("signature_type must be 0, 1, 2 or 3".into())
            })?;
            SignatureType::from_u8(cfg.signature_type)
                .map_err(|e| PolymarketError::Config(e.to_string()))?;
        }
        if let Some(url) = settings.string("gamma_url", "POLYMARKET_GAMMA_URL") {
            cfg.gamma_url = url;
        }
        if let Some(url) = settings.string("data_url", "POLYMARKET_DATA_URL") {
            cfg.data_url = url;
        }
        if let Some(url) = settings.string("ws_url", "POLYMARKET_WS_URL") {
            cfg.ws_url = url;
        }
        cfg.derive_api_key = settings
            .boolean("derive_api_key", "POLYMARKET_DERIVE_API_KEY")
            .map_err(setting)?
            .unwrap_or(false);
        if let Some(ms) = settings.integer("stream_max_age_ms", "").map_err(setting)? {
            cfg.stream_max_age_ms = u64::try_from(ms).map_err(|_| {
                PolymarketError::Config("stream_max_age_ms must be a positive integer".into())
            })?;
        }
        if let Some(rate) = settings.decimal("local_fee_rate", "").map_err(setting)? {
            cfg.local_fees.rate = rate;
        }
        if let Some(exp) = settings
            .integer("local_fee_exponent", "")
            .map_err(setting)?
        {
            cfg.local_fees.exponent = u32::try_from(exp).map_err(|_| {
                PolymarketError::Config("local_fee_exponent must be a whole number".into())
            })?;
        }
        cfg.local_fees =
            crate::fees::FeeSchedule::new(cfg.local_fees.rate, cfg.local_fees.exponent)
                .map_err(|e| PolymarketError::Config(e.to_string()))?;
        if let Some(code) = settings.string("builder_code", "POLYMARKET_BUILDER_CODE") {
            cfg.builder_code = signing::parse_bytes32("builder_code", &code)
                .map_err(|e| PolymarketError::Config(e.to_string()))?;
        }
        cfg.rpc_url = settings.string("rpc_url", "POLYGON_RPC_URL");
        cfg.funder = settings.string("funder", "POLYMARKET_FUNDER");
        cfg.private_key = settings.string("", "POLYMARKET_PRIVATE_KEY");
        if let (Some(key), Some(secret), Some(passphrase)) = (
            settings.string("", "POLYMARKET_API_KEY"),
            settings.string("", "POLYMARKET_API_SECRET"),
            settings.string("", "POLYMARKET_API_PASSPHRASE"),
        ) {
            cfg.api_creds = Some(ApiCreds {
                key,
                secret,
                passphrase,
            });
        }
        Ok(cfg)
    }
}
