//! Typed models of the Beefy API's JSON (api.beefy.finance, the public
//! unversioned REST API that powers app.beefy.com; shapes as served in 2025
//! and described in beefyfinance/beefy-api `readme` and
//! `src/api/stats/common/getApyBreakdown.ts`). Unknown fields are ignored and
//! optional ones default, so a new field upstream never breaks parsing.
//!
//! Rates (APR, APY, fee shares) are plain ratios (`0.12` = 12 %) as `f64`,
//! the API's own number type; money leaves this crate as `Decimal`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One vault of `GET /vaults`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Vault {
    /// Vault id (`aerodrome-weth-usdc`), the key of every other endpoint.
    pub id: String,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// `standard`, `gov`, `cowcentrated`, ...
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// Deposit ("want") token symbol.
    #[serde(default)]
    pub token: String,
    /// Deposit token address (absent for native-coin vaults).
    #[serde(default)]
    pub token_address: Option<String>,
    /// Deposit token decimals.
    #[serde(default = "default_decimals")]
    pub token_decimals: u32,
    /// Receipt ("moo") token symbol.
    #[serde(default)]
    pub earned_token: String,
    /// Vault contract (also the moo token).
    #[serde(default)]
    pub earn_contract_address: String,
    /// `lps` or `tokens`: which price map prices the want token.
    #[serde(default)]
    pub oracle: String,
    /// Key into `/lps` or `/prices`.
    #[serde(default)]
    pub oracle_id: String,
    /// `active`, `paused` or `eol`.
    #[serde(default)]
    pub status: String,
    /// Creation time, Unix seconds.
    #[serde(default)]
    pub created_at: Option<i64>,
    /// Platform farmed (`aerodrome`, `curve`, ...).
    #[serde(default)]
    pub platform_id: String,
    /// Underlying asset symbols.
    #[serde(default)]
    pub assets: Vec<String>,
    /// Beefy risk flags (`IL_HIGH`, `COMPLEXITY_LOW`, `MCAP_LARGE`, ...).
    #[serde(default)]
    pub risks: Vec<String>,
    /// Strategy type (`single`, `multi-lp`, ...).
    #[serde(default)]
    pub strategy_type_id: Option<String>,
    /// Beefy chain key.
    #[serde(default)]
    pub chain: String,
    /// Strategy contract.
    #[serde(default)]
    pub strategy: Option<String>,
    /// Last harvest, Unix seconds.
    #[serde(default)]
    pub last_harvest: Option<i64>,
    /// Price per full share scaled by 1e18, as a decimal string (the API
    /// serves a string; a number is read too).
    #[serde(default, deserialize_with = "text_or_number")]
    pub price_per_full_share: Option<String>,
}

fn default_decimals() -> u32 {
    18
}

/// An optional integer sent as a string or a JSON number.
fn text_or_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<serde_json::Value>::deserialize(d)? {
        Some(serde_json::Value::String(s)) => Some(s),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        _ => None,
    })
}

impl Vault {
    /// Whether deposits are open (`active`).
    pub fn is_active(&self) -> bool {
        self.status == "active"
    }
}

/// One entry of `GET /apy/breakdown`. Legacy vaults carry `totalApy` only.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ApyBreakdown {
    /// Compoundable farm APR after the performance fee.
    #[serde(default)]
    pub vault_apr: Option<f64>,
    /// Harvests per year (Beefy's BASE_HPY is 2190).
    #[serde(default)]
    pub compoundings_per_year: Option<f64>,
    /// Share of farm rewards Beefy keeps.
    #[serde(default)]
    pub beefy_performance_fee: Option<f64>,
    /// `vault_apr` compounded `compoundings_per_year` times.
    #[serde(default)]
    pub vault_apy: Option<f64>,
    /// The LP's swap fee rate (e.g. 0.003).
    #[serde(default)]
    pub lp_fee: Option<f64>,
    /// Trading-fee APR earned by the LP (not compounded by the vault).
    #[serde(default)]
    pub trading_apr: Option<f64>,
    /// Liquid-staking APR (not compounded).
    #[serde(default)]
    pub liquid_staking_apr: Option<f64>,
    /// Composable pool APR (not compounded).
    #[serde(default)]
    pub composable_pool_apr: Option<f64>,
    /// Concentrated-liquidity fee APR.
    #[serde(default)]
    pub clm_apr: Option<f64>,
    /// Merkl rewards APR.
    #[serde(default)]
    pub merkl_apr: Option<f64>,
    /// What the app shows.
    #[serde(default)]
    pub total_apy: Option<f64>,
}

/// Performance fee split of `GET /fees`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct PerformanceFees {
    /// Total share of harvested rewards taken.
    #[serde(default)]
    pub total: f64,
    /// Harvest caller's share.
    #[serde(default)]
    pub call: f64,
    /// Strategist's share.
    #[serde(default)]
    pub strategist: f64,
    /// Beefy treasury's share.
    #[serde(default)]
    pub treasury: f64,
    /// BIFI stakers' share.
    #[serde(default)]
    pub stakers: f64,
}

/// One entry of `GET /fees`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct VaultFees {
    /// Performance fee split.
    #[serde(default)]
    pub performance: PerformanceFees,
    /// Withdrawal fee (share of the amount withdrawn).
    #[serde(default)]
    pub withdraw: f64,
    /// Deposit fee, where a vault has one.
    #[serde(default)]
    pub deposit: Option<f64>,
    /// When Beefy last read the fees, ms.
    #[serde(default)]
    pub last_updated: Option<i64>,
}

/// One boost of `GET /boosts`: extra rewards for staking a vault's moo
/// token. `rewardRate` and `totalSupply` are not API fields: they are the
/// boost contract's on-chain `rewardRate()` / `totalSupply()`, present in the
/// bundled snapshot (read at snapshot time) and read over RPC otherwise.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Boost {
    /// Boost id.
    pub id: String,
    /// The vault it boosts.
    pub pool_id: String,
    /// Display name (usually the partner).
    #[serde(default)]
    pub name: String,
    /// Beefy chain key.
    #[serde(default)]
    pub chain: String,
    /// Reward token symbol.
    #[serde(default)]
    pub earned_token: String,
    /// Reward token decimals.
    #[serde(default = "default_decimals")]
    pub earned_token_decimals: u32,
    /// Reward token address.
    #[serde(default)]
    pub earned_token_address: Option<String>,
    /// Boost (staking) contract.
    #[serde(default)]
    pub earn_contract_address: String,
    /// Key into `/prices` for the reward token.
    #[serde(default)]
    pub earned_oracle_id: String,
    /// `active` or `eol`.
    #[serde(default)]
    pub status: String,
    /// When rewards stop, Unix seconds.
    #[serde(default)]
    pub period_finish: Option<i64>,
    /// Reward token units (raw, 10^decimals) paid per second.
    #[serde(default, deserialize_with = "text_or_number")]
    pub reward_rate: Option<String>,
    /// Moo tokens staked (raw, 1e18).
    #[serde(default, deserialize_with = "text_or_number")]
    pub total_supply: Option<String>,
}

/// `GET /apy`: total APY per vault id (legacy).
pub type ApyMap = BTreeMap<String, Option<f64>>;
/// `GET /apy/breakdown`.
pub type BreakdownMap = BTreeMap<String, ApyBreakdown>;
/// `GET /tvl`: chain id (as text) to vault id to USD.
pub type TvlMap = BTreeMap<String, BTreeMap<String, Option<f64>>>;
/// `GET /lps` and `GET /prices`: oracle id to USD.
pub type PriceMap = BTreeMap<String, Option<f64>>;
/// `GET /fees`.
pub type FeesMap = BTreeMap<String, VaultFees>;
