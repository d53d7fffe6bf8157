//! [`PolymarketBundle`]: the MCP tools, resources and prompt over the
//! embedded local CLOB (every answer says `venue: simulated`), with order
//! signing for the real exchange when a private key is configured.

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use nt_mcp_core::bundle::{
    BundleSettings, PromptArg, PromptSpec, ResourceSpec, ResourceText, ToolCtx, ToolOutput,
    ToolSpec, VenueMode, VenueStatus,
};
use nt_mcp_core::{Migration, NoArgs, ToolBundle, ToolError, parse_args};
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};
use sqlx::Row;

use crate::analytics::{MakerFill, SpreadCaptured, spread_captured};
use crate::arb::{self, ArbParams, BinaryQuote, NegRiskEvent};
use crate::auth::ApiCreds;
use crate::book::{BookSet, L2Book};
use crate::engine::{Engine, Level, MarketSpec, NewOrder};
use crate::ensemble::{self, Forecast};
use crate::error::{PolymarketError, Result};
use crate::live::{self as livepath, LIVE_RISK_ID, LIVE_VENUE, Live, LiveOrder, LiveUrls};
use crate::mm::{self, AsParams};
use crate::rest::ClobClient;
use crate::risk::{OrderExposure, RiskLimits, RiskState};
use crate::signing::{self, OrderRequest, SignatureType, Wallet};
use crate::stream::{BookCache, CacheConfig, Lookup};
use crate::types::{NumText, OrderType, Outcome, Side, parse_decimal};
use crate::venue::{AuditInfo, CancelWhich, LocalClob, PAPER};

const VENUE: &str = "simulated";

mod collateral_tool;
mod fee_tool;
mod live_parity;
mod orders_stream_tool;
pub use collateral_tool::{CollateralAction, CollateralInput};
pub use fee_tool::FeeEstimateInput;
pub use orders_stream_tool::{StreamOrdersAction, StreamOrdersInput};

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

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

impl PolymarketConfig {
    /// Reads the manifest table and the environment.
    pub fn from_settings(settings: &BundleSettings) -> Result<Self> {
        let mut cfg = Self::default();
        let table_str = |k: &str| {
            settings
                .table
                .get(k)
                .and_then(|v| v.as_str())
                .map(str::to_string)
        };
        if let Some(url) = table_str("clob_url").or_else(|| env("POLYMARKET_CLOB_URL")) {
            cfg.clob_url = url;
        }
        if let Some(v) = settings.table.get("paper_usdc") {
            let text = match v {
                toml::Value::String(s) => s.clone(),
                toml::Value::Integer(i) => i.to_string(),
                _ => {
                    return Err(PolymarketError::Config(
                        "paper_usdc must be a number or a decimal string".into(),
                    ));
                }
            };
            cfg.paper_usdc = parse_decimal("paper_usdc", &text)?;
        }
        if let Some(id) = settings.table.get("chain_id").and_then(|v| v.as_integer()) {
            cfg.chain_id = u64::try_from(id)
                .map_err(|_| PolymarketError::Config("chain_id must be positive".into()))?;
        }
        if let Some(t) = settings
            .table
            .get("signature_type")
            .and_then(|v| v.as_integer())
            .map(|i| i.to_string())
            .or_else(|| env("POLYMARKET_SIGNATURE_TYPE"))
        {
            cfg.signature_type = t.parse().map_err(|_| {
                PolymarketError::Config("signature_type must be 0, 1, 2 or 3".into())
            })?;
            SignatureType::from_u8(cfg.signature_type)
                .map_err(|e| PolymarketError::Config(e.to_string()))?;
        }
        if let Some(url) = table_str("gamma_url").or_else(|| env("POLYMARKET_GAMMA_URL")) {
            cfg.gamma_url = url;
        }
        if let Some(url) = table_str("data_url").or_else(|| env("POLYMARKET_DATA_URL")) {
            cfg.data_url = url;
        }
        if let Some(url) = table_str("ws_url").or_else(|| env("POLYMARKET_WS_URL")) {
            cfg.ws_url = url;
        }
        cfg.derive_api_key = settings
            .table
            .get("derive_api_key")
            .and_then(|v| v.as_bool())
            .unwrap_or_else(|| {
                env("POLYMARKET_DERIVE_API_KEY")
                    .is_some_and(|v| v == "1" || v.eq_ignore_ascii_case("true"))
            });
        if let Some(v) = settings.table.get("stream_max_age_ms") {
            cfg.stream_max_age_ms = v
                .as_integer()
                .and_then(|i| u64::try_from(i).ok())
                .ok_or_else(|| {
                    PolymarketError::Config("stream_max_age_ms must be a positive integer".into())
                })?;
        }
        if let Some(v) = settings.table.get("local_fee_rate") {
            let text = match v {
                toml::Value::String(s) => s.clone(),
                toml::Value::Float(f) => f.to_string(),
                toml::Value::Integer(i) => i.to_string(),
                _ => {
                    return Err(PolymarketError::Config(
                        "local_fee_rate must be a decimal string".into(),
                    ));
                }
            };
            cfg.local_fees.rate = parse_decimal("local_fee_rate", &text)?;
        }
        if let Some(v) = settings.table.get("local_fee_exponent") {
            cfg.local_fees.exponent = v
                .as_integer()
                .and_then(|i| u32::try_from(i).ok())
                .ok_or_else(|| {
                    PolymarketError::Config("local_fee_exponent must be a whole number".into())
                })?;
        }
        cfg.local_fees =
            crate::fees::FeeSchedule::new(cfg.local_fees.rate, cfg.local_fees.exponent)
                .map_err(|e| PolymarketError::Config(e.to_string()))?;
        if let Some(code) = table_str("builder_code").or_else(|| env("POLYMARKET_BUILDER_CODE")) {
            cfg.builder_code = signing::parse_bytes32("builder_code", &code)
                .map_err(|e| PolymarketError::Config(e.to_string()))?;
        }
        cfg.rpc_url = table_str("rpc_url").or_else(|| env("POLYGON_RPC_URL"));
        cfg.funder = table_str("funder").or_else(|| env("POLYMARKET_FUNDER"));
        cfg.private_key = env("POLYMARKET_PRIVATE_KEY");
        if let (Some(key), Some(secret), Some(passphrase)) = (
            env("POLYMARKET_API_KEY"),
            env("POLYMARKET_API_SECRET"),
            env("POLYMARKET_API_PASSPHRASE"),
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

/// The Polymarket tool bundle.
pub struct PolymarketBundle {
    config: PolymarketConfig,
    wallet: Option<Wallet>,
    clob: LocalClob,
    live: Option<Live>,
    /// Live only: the streamed books and the public REST client for
    /// snapshots and `/books` batches.
    books: Option<(BookCache, Arc<ClobClient>)>,
    /// Live only: fee schedules read from the venue, per market.
    fee_cache: crate::fees::FeeCache,
    /// Live only: the user channel (own orders and fills).
    user_stream: crate::user_ws::UserStream,
}

impl std::fmt::Debug for PolymarketBundle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PolymarketBundle")
            .field("clob_url", &self.config.clob_url)
            .field("signer", &self.wallet.as_ref().map(|w| w.address()))
            .finish()
    }
}

impl PolymarketBundle {
    /// Builds the bundle from its manifest settings and the environment.
    pub fn new(settings: &BundleSettings) -> Result<Self, PolymarketError> {
        Self::from_config(PolymarketConfig::from_settings(settings)?)
    }

    /// Builds the bundle from an explicit configuration.
    pub fn from_config(config: PolymarketConfig) -> Result<Self, PolymarketError> {
        let wallet = config
            .private_key
            .as_deref()
            .map(Wallet::from_hex)
            .transpose()?;
        let funder = config
            .funder
            .as_deref()
            .map(|f| {
                f.parse::<alloy_primitives::Address>()
                    .map_err(|_| PolymarketError::Config("funder is not an address".into()))
            })
            .transpose()?;
        let live = match &wallet {
            Some(w) if config.api_creds.is_some() || config.derive_api_key => Some(
                Live::new(
                    w.clone(),
                    config.api_creds.clone(),
                    &LiveUrls {
                        clob: config.clob_url.clone(),
                        gamma: config.gamma_url.clone(),
                        data: config.data_url.clone(),
                    },
                    config.chain_id,
                    SignatureType::from_u8(config.signature_type)?,
                    funder,
                )?
                .with_builder_code(config.builder_code),
            ),
            _ => None,
        };
        let books = match &live {
            Some(_) => {
                let public = Arc::new(ClobClient::new(&config.clob_url, None, None)?);
                let mut cfg = CacheConfig::new(&config.ws_url);
                cfg.max_age = Duration::from_millis(config.stream_max_age_ms);
                Some((BookCache::new(cfg, Some(public.clone())), public))
            }
            None => None,
        };
        Ok(Self {
            clob: LocalClob::new(config.paper_usdc).with_fees(config.local_fees),
            config,
            wallet,
            live,
            books,
            fee_cache: crate::fees::FeeCache::new(crate::fees::DEFAULT_FEE_TTL_MS),
            user_stream: crate::user_ws::UserStream::default(),
        })
    }
}

// ---------------------------------------------------------------- inputs

/// `polymarket_markets`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MarketsInput {
    /// Words to find in the question or slug.
    #[serde(default)]
    pub query: Option<String>,
    /// Include resolved markets.
    #[serde(default)]
    pub include_resolved: bool,
    /// Most markets to list (default 50).
    #[serde(default)]
    pub limit: Option<u32>,
}

/// A market by condition id, slug or token id.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MarketInput {
    /// Condition id (`0x…`), slug, or either token id.
    pub market: String,
}

/// `polymarket_orderbook`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderbookInput {
    /// Token id, or a market (condition id / slug) with `outcome`.
    pub token_id: Option<String>,
    /// Market (condition id or slug), with `outcome`.
    pub market: Option<String>,
    /// YES or NO (default YES) when `market` is given.
    pub outcome: Option<Outcome>,
    /// Levels per side (default 10).
    pub depth: Option<u32>,
    /// Live venue only: answer from the streamed book only if its last
    /// update is at most this many ms old (default: the bundle's
    /// `stream_max_age_ms`), else from a REST snapshot.
    #[serde(default)]
    pub max_age_ms: Option<u64>,
}

/// `polymarket_stream_books`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StreamInput {
    /// Token ids to stream.
    #[serde(default)]
    pub subscribe: Vec<String>,
    /// Markets (condition id or slug) whose outcome tokens to stream.
    #[serde(default)]
    pub markets: Vec<String>,
    /// Token ids to stop streaming.
    #[serde(default)]
    pub unsubscribe: Vec<String>,
}

/// `polymarket_holders`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HoldersInput {
    /// Market: condition id or slug (local CLOB: also a token id).
    pub market: String,
    /// Holders per outcome token (default 10, at most 20).
    #[serde(default)]
    pub limit: Option<u32>,
}

/// `polymarket_price_history`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HistoryInput {
    /// Token id.
    pub token_id: String,
    /// Most recent prints to return (default 100).
    pub limit: Option<u32>,
    /// Live venue only: 1m, 1h, 6h, 1d (default), 1w or max.
    #[serde(default)]
    pub interval: Option<String>,
    /// Live venue only: resolution in minutes.
    #[serde(default)]
    pub fidelity: Option<u32>,
}

/// `polymarket_leaderboard`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LeaderboardInput {
    /// Live venue only: DAY (default), WEEK, MONTH or ALL.
    #[serde(default)]
    pub time_period: Option<String>,
    /// Live venue only: PNL (default) or VOL.
    #[serde(default)]
    pub order_by: Option<String>,
    /// Live venue only: rows (default 25, at most 50).
    #[serde(default)]
    pub limit: Option<u32>,
}

/// An order for `polymarket_place_order` and `polymarket_build_order`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderInput {
    /// Token id (YES or NO token); or give `market` and `outcome` instead.
    #[serde(default)]
    pub token_id: String,
    /// Market (condition id or slug), with `outcome`, instead of `token_id`.
    #[serde(default)]
    pub market: Option<String>,
    /// YES or NO: which outcome token of `market` to trade (required with
    /// `market`).
    #[serde(default)]
    pub outcome: Option<Outcome>,
    /// BUY or SELL.
    pub side: Side,
    /// Limit price on the market's tick (`0.57` or `"0.57"`).
    pub price: NumText,
    /// Size in shares, at most 2 decimals (`100` or `"100"`).
    pub size: NumText,
    /// GTC (default), FOK or FAK.
    #[serde(default)]
    pub order_type: OrderType,
    /// Your id for this order: placing the same id twice places one order.
    /// Required for placement.
    #[serde(default)]
    pub client_order_id: Option<String>,
    /// build_order only: salt (default: derived from the client id or time).
    #[serde(default)]
    pub salt: Option<u64>,
    /// build_order only: sign a market order (`size` is pUSD to spend on a
    /// BUY, shares on a SELL; the price rounds down) instead of a limit order.
    #[serde(default)]
    pub market_order: Option<bool>,
    /// build_order only: a position id instead of a token id; the order is
    /// signed for Exchange V3 (domain version "3"), as the official client routes it.
    #[serde(default)]
    pub position_id: Option<String>,
    /// build_order only: builder code (bytes32; default the configured one, else zero).
    #[serde(default)]
    pub builder_code: Option<String>,
    /// build_order only: order metadata (bytes32, default zero).
    #[serde(default)]
    pub metadata: Option<String>,
    /// build_order only: creation time in ms (default now).
    #[serde(default)]
    pub timestamp_ms: Option<u64>,
    /// build_order only: expiration, unix seconds (default 0 = none).
    #[serde(default)]
    pub expiration: Option<u64>,
    /// build_order only: the market's tick size (default "0.01").
    #[serde(default)]
    pub tick_size: Option<NumText>,
    /// build_order only: sign for the Neg-Risk exchange (default false).
    #[serde(default)]
    pub neg_risk: Option<bool>,
}

/// `polymarket_cancel_order`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelInput {
    /// Order ids to cancel.
    #[serde(default)]
    pub order_ids: Vec<String>,
    /// Cancel every open order in this market (condition id or slug).
    #[serde(default)]
    pub market: Option<String>,
    /// Cancel every open order.
    #[serde(default)]
    pub all: bool,
}

/// `polymarket_open_orders`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenOrdersInput {
    /// Only this market (condition id or slug).
    #[serde(default)]
    pub market: Option<String>,
}

/// `polymarket_find_arbitrage`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ArbInput {
    /// Override every market's fee schedule with this platform taker rate
    /// in bps (rate = bps / 10 000; "400" is 0.04), charged per share as
    /// `rate * (p(1-p))^fee_exponent`. Default: each market's own schedule
    /// (local CLOB: its configured schedule; live: the venue's, cached).
    #[serde(default)]
    pub fee_bps: Option<NumText>,
    /// Exponent with `fee_bps` (default 1).
    #[serde(default)]
    pub fee_exponent: Option<u32>,
    /// Smallest edge per set to report (default "0.0001").
    #[serde(default)]
    pub min_edge: Option<NumText>,
    /// Live venue only: open Gamma events to scan, paged 100 at a time
    /// (default 100, at most 2000).
    #[serde(default)]
    pub limit: Option<u32>,
}

/// Most open events one live arbitrage scan pages through.
const MAX_ARB_EVENTS: u32 = 2000;
/// Events per Gamma request.
const GAMMA_PAGE: u32 = 100;

/// `polymarket_quote_market`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QuoteInput {
    /// Market (condition id, slug or token id).
    pub market: String,
    /// Risk aversion γ (default 0.1).
    #[serde(default)]
    pub gamma: Option<f64>,
    /// Probability volatility σ per unit time (default 0.05).
    #[serde(default)]
    pub sigma: Option<f64>,
    /// Time to horizon in the same unit (default 1).
    #[serde(default)]
    pub horizon: Option<f64>,
    /// Arrival intensity k (default 15).
    #[serde(default)]
    pub k: Option<f64>,
    /// Base quote size in shares (default "50").
    #[serde(default)]
    pub base_size: Option<NumText>,
    /// Inventory limit in shares (default "500").
    #[serde(default)]
    pub max_inventory: Option<NumText>,
    /// Replace the paper account's quotes in this market with these (quote refresh).
    #[serde(default)]
    pub place: bool,
}

/// `polymarket_set_risk_limits`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RiskInput {
    /// Max notional of one order, USDC.
    #[serde(default)]
    pub max_order_notional: Option<NumText>,
    /// Max exposure in one market, USDC.
    #[serde(default)]
    pub max_market_exposure: Option<NumText>,
    /// Max exposure across markets, USDC.
    #[serde(default)]
    pub max_total_exposure: Option<NumText>,
    /// Max loss since the start of the UTC day, USDC.
    #[serde(default)]
    pub daily_loss_limit: Option<NumText>,
    /// true: cancel all open orders and refuse new ones; false: trade again.
    #[serde(default)]
    pub kill_switch: Option<bool>,
}

/// `polymarket_settle`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SettleInput {
    /// Market (condition id or slug).
    pub market: String,
    /// The winning outcome: required on the local CLOB, where you act as
    /// the oracle; ignored live, where Polymarket's oracle resolves markets.
    #[serde(default)]
    pub winner: Option<Outcome>,
}

/// `polymarket_ensemble_signal`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EnsembleInput {
    /// Market (condition id, slug or token id).
    pub market: String,
    /// Forecasts of the YES probability.
    pub forecasts: Vec<Forecast>,
    /// Kelly multiplier (default "0.25").
    #[serde(default)]
    pub kelly_multiplier: Option<NumText>,
    /// Largest bankroll fraction (default "0.1").
    #[serde(default)]
    pub max_fraction: Option<NumText>,
}

/// `polymarket_wallet`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WalletInput {
    /// Account (on the local CLOB: `paper` or `house`; default `paper`).
    #[serde(default)]
    pub address: Option<String>,
}

/// `polymarket_copy_wallet`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CopyInput {
    /// Account whose positions to mirror.
    pub source: String,
    /// Scale factor on its share counts (e.g. "0.001").
    pub scale: NumText,
    /// Largest notional per mirroring order, USDC (default "250").
    #[serde(default)]
    pub max_order_notional: Option<NumText>,
    /// Only compute the orders (default false).
    #[serde(default)]
    pub dry_run: bool,
    /// Live venue only: actually place the mirroring orders on Polymarket
    /// (default false: copy trading stays a plan, i.e. paper, unless asked).
    #[serde(default)]
    pub execute_live: bool,
}

// ---------------------------------------------------------------- helpers

fn dec_arg(field: &str, text: Option<&NumText>, default: Decimal) -> Result<Decimal> {
    match text {
        Some(t) => parse_decimal(field, t),
        None => Ok(default),
    }
}

fn find_market<'a>(engine: &'a Engine, key: &str) -> Result<(&'a MarketSpec, Option<Outcome>)> {
    let key = key.trim();
    if let Some(m) = engine.market(key) {
        return Ok((m, None));
    }
    if let Some((m, o)) = engine.token(key) {
        return Ok((m, Some(o)));
    }
    engine
        .markets()
        .find(|m| m.slug == key)
        .map(|m| (m, None))
        .ok_or_else(|| PolymarketError::invalid("market", format!("no market `{key}` (use a condition id, slug or token id from polymarket_markets)")))
}

fn yes_mid(engine: &Engine, market: &MarketSpec) -> Decimal {
    match engine.best_yes(&market.condition_id) {
        (Some(b), Some(a)) => (b + a) / Decimal::TWO,
        _ => engine
            .last_trade(&market.yes_token)
            .unwrap_or(Decimal::new(5, 1)),
    }
}

fn mark(engine: &Engine, token: &str) -> Decimal {
    match engine.token(token) {
        Some((m, Outcome::Yes)) => yes_mid(engine, m),
        Some((m, Outcome::No)) => Decimal::ONE - yes_mid(engine, m),
        None => Decimal::ZERO,
    }
}

fn r6(d: Decimal) -> Decimal {
    d.round_dp(6).normalize()
}

/// The token of `outcome` in a live market (condition id or slug), from
/// Gamma.
async fn live_token(live: &Live, market: &str, outcome: Outcome) -> Result<String> {
    let gm = live.gamma.market(market).await?;
    gm.token_for(outcome.as_str())
        .or_else(|| {
            gm.clob_token_ids
                .get(usize::from(outcome == Outcome::No))
                .map(String::as_str)
        })
        .map(str::to_string)
        .ok_or_else(|| PolymarketError::invalid("outcome", "the market has no such outcome"))
}

fn account_view(engine: &Engine, name: &str) -> Value {
    let Some(acct) = engine.account(name) else {
        return json!({ "account": name, "exists": false });
    };
    let mut positions = Vec::new();
    let (mut value, mut unrealized, mut realized) = (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO);
    for (token, p) in &acct.positions {
        realized += p.realized;
        if p.shares.is_zero() && p.realized.is_zero() {
            continue;
        }
        let Some((m, outcome)) = engine.token(token) else {
            continue;
        };
        let px = if m.resolved.is_some() {
            Decimal::ZERO
        } else {
            mark(engine, token)
        };
        let v = p.shares * px;
        value += v;
        unrealized += v - p.cost;
        positions.push(json!({
            "market": m.condition_id, "slug": m.slug, "question": m.question,
            "token_id": token, "outcome": outcome, "shares": p.shares, "reserved": p.reserved,
            "avg_cost": if p.shares.is_zero() { Decimal::ZERO } else { r6(p.cost / p.shares) },
            "mark": r6(px), "value": r6(v), "unrealized_pnl": r6(v - p.cost), "realized_pnl": r6(p.realized),
        }));
    }
    json!({
        "account": name, "venue": VENUE, "usdc": acct.cash, "usdc_reserved": acct.reserved,
        "usdc_available": acct.available_cash(), "positions_value": r6(value),
        "equity": r6(acct.cash + value), "unrealized_pnl": r6(unrealized), "realized_pnl": r6(realized),
        "positions": positions,
    })
}

/// A price history as text: `head`, then the newest points (at most 10),
/// newest first, as UTC time and price (and size for local prints).
/// `ms_per_t` is 1 when `t` is in ms (local fills), 1000 when in seconds
/// (Polymarket's prices-history).
fn history_text(head: &str, points: &[Value], ms_per_t: i64) -> String {
    let mut out = head.to_string();
    for pt in points.iter().take(10) {
        let t = pt["t"].as_i64().unwrap_or(0).saturating_mul(ms_per_t);
        out.push_str(&format!(
            "\n{} {}",
            nt_mcp_core::dates::format_iso_ms(t),
            plain(&pt["p"])
        ));
        if !pt["size"].is_null() {
            out.push_str(&format!(" x {}", plain(&pt["size"])));
        }
    }
    out
}

/// A JSON value as an agent should read it in text: strings and decimals
/// without quotes, `-` for null.
fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}

/// The text of an account view: cash and totals, then one line a position.
fn account_text(view: &Value) -> String {
    let mut out = format!(
        "pUSD {} (available {}) equity {} unrealized {} realized {}",
        plain(&view["usdc"]),
        plain(&view["usdc_available"]),
        plain(&view["equity"]),
        plain(&view["unrealized_pnl"]),
        plain(&view["realized_pnl"])
    );
    for p in view["positions"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "\n- {} {}: {} shares @ {} avg, mark {}, value {}, unrealized {}",
            plain(&p["slug"]),
            plain(&p["outcome"]),
            plain(&p["shares"]),
            plain(&p["avg_cost"]),
            plain(&p["mark"]),
            plain(&p["value"]),
            plain(&p["unrealized_pnl"])
        ));
    }
    out
}

fn equity(engine: &Engine, name: &str) -> Decimal {
    let Some(acct) = engine.account(name) else {
        return Decimal::ZERO;
    };
    acct.cash
        + acct
            .positions
            .iter()
            .map(|(t, p)| p.shares * mark(engine, t))
            .sum::<Decimal>()
}

fn exposures(engine: &Engine, name: &str, market: &str) -> (Decimal, Decimal) {
    let Some(acct) = engine.account(name) else {
        return (Decimal::ZERO, Decimal::ZERO);
    };
    let mut by_market: BTreeMap<String, Decimal> = BTreeMap::new();
    for (token, p) in &acct.positions {
        if let Some((m, _)) = engine.token(token) {
            *by_market.entry(m.condition_id.clone()).or_default() += p.cost;
        }
    }
    for o in engine.open_orders(name, None) {
        if o.side == Side::Buy {
            *by_market.entry(o.market.clone()).or_default() += o.price * o.remaining();
        }
    }
    let total = by_market.values().copied().sum();
    (by_market.get(market).copied().unwrap_or_default(), total)
}

/// The fee override of `polymarket_find_arbitrage`, if `fee_bps` is given.
fn arb_fee_override(input: &ArbInput) -> Result<Option<crate::fees::FeeSchedule>> {
    match &input.fee_bps {
        Some(bps) => Ok(Some(crate::fees::schedule_from_bps(
            parse_decimal("fee_bps", bps)?,
            input.fee_exponent,
        )?)),
        None if input.fee_exponent.is_some() => Err(PolymarketError::invalid(
            "fee_exponent",
            "give it with fee_bps (without, each market's own schedule applies)",
        )),
        None => Ok(None),
    }
}

fn skipped_json(events: &[NegRiskEvent]) -> Vec<Value> {
    arb::skipped(events)
        .into_iter()
        .map(|(event, reason)| json!({ "event": event, "reason": reason }))
        .collect()
}

fn quote_of(engine: &Engine, m: &MarketSpec) -> BinaryQuote {
    let top = |token: &str| {
        engine
            .book(token, 1)
            .map(|b| (b.bids.first().cloned(), b.asks.first().cloned()))
            .unwrap_or((None, None))
    };
    let (yes_bid, yes_ask) = top(&m.yes_token);
    let (no_bid, no_ask) = top(&m.no_token);
    BinaryQuote {
        market: m.condition_id.clone(),
        label: if m.group_label.is_empty() {
            m.slug.clone()
        } else {
            m.group_label.clone()
        },
        yes_bid,
        yes_ask,
        no_bid,
        no_ask,
    }
}

fn market_summary(engine: &Engine, m: &MarketSpec) -> Value {
    let (bid, ask) = engine.best_yes(&m.condition_id);
    json!({
        "condition_id": m.condition_id, "slug": m.slug, "question": m.question,
        "event": m.event_slug, "group_label": m.group_label,
        "tokens": [{"outcome": "YES", "token_id": m.yes_token}, {"outcome": "NO", "token_id": m.no_token}],
        "tick_size": m.tick, "min_order_size": m.min_size, "neg_risk": m.neg_risk,
        "end_ms": m.end_ms, "resolved": m.resolved,
        "best_bid": bid, "best_ask": ask, "mid": r6(yes_mid(engine, m)),
        "last_trade_price": engine.last_trade(&m.yes_token),
    })
}

pub(crate) async fn load_risk(
    pool: &sqlx::AnyPool,
    id: &str,
    now_ms: i64,
    equity_now: Decimal,
) -> Result<RiskState> {
    let row = sqlx::query("SELECT limits, kill_switch FROM pm_risk WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await?;
    let row_missing = row.is_none();
    let mut state = match row {
        Some(row) => {
            let text: String = row.try_get("limits")?;
            let mut s: RiskState = serde_json::from_str(&text)
                .map_err(|e| PolymarketError::Config(format!("stored risk state: {e}")))?;
            s.kill_switch = row.try_get::<i64, _>("kill_switch")? != 0;
            s
        }
        None => RiskState::new(RiskLimits::default(), now_ms, equity_now),
    };
    if state.roll_day(now_ms, equity_now) || row_missing {
        save_risk(pool, id, &state, now_ms).await?;
    }
    Ok(state)
}

pub(crate) async fn save_risk(
    pool: &sqlx::AnyPool,
    id: &str,
    state: &RiskState,
    now_ms: i64,
) -> Result<()> {
    let text = serde_json::to_string(state).map_err(|e| PolymarketError::Config(e.to_string()))?;
    sqlx::query(
        "INSERT INTO pm_risk (id, limits, kill_switch, updated_ms) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (id) DO UPDATE SET limits = excluded.limits, kill_switch = excluded.kill_switch, \
         updated_ms = excluded.updated_ms",
    )
    .bind(id)
    .bind(text)
    .bind(i64::from(state.kill_switch))
    .bind(now_ms)
    .execute(pool)
    .await?;
    Ok(())
}

fn audit(ctx: &ToolCtx, tool: &str, args: &Value) -> AuditInfo {
    AuditInfo {
        variant: ctx.variant.to_string(),
        tool: tool.to_string(),
        caller: ctx.caller.id.clone(),
        args_digest: AuditInfo::digest(args),
        at_ms: ctx.clock.now_ms(),
    }
}

fn risk_check(
    risk: &RiskState,
    engine: &Engine,
    token: &str,
    side: Side,
    price: Decimal,
    size: Decimal,
) -> Result<()> {
    let market = engine
        .token(token)
        .map(|(m, _)| m.condition_id.clone())
        .unwrap_or_default();
    let (market_exposure, total_exposure) = exposures(engine, PAPER, &market);
    risk.check(&OrderExposure {
        market,
        notional: if side == Side::Buy {
            price * size
        } else {
            Decimal::ZERO
        },
        market_exposure,
        total_exposure,
        equity: equity(engine, PAPER),
    })
}

const GLOSSARY: &str = "# Polymarket glossary\n\n\
- **Event**: a question grouping one or more markets (\"Who wins the league?\").\n\
- **Market**: one binary YES/NO question inside an event, identified by its condition id.\n\
- **Condition id**: the CTF condition (`0x` + 64 hex) a market settles through.\n\
- **Token id**: the ERC-1155 id of one outcome token (YES or NO), a decimal uint256. Orders and books are per token.\n\
- **Price**: pUSD per share, a probability between the tick and 1 - tick. A winning share redeems for 1 pUSD.\n\
- **pUSD**: Polymarket USD, the CLOB V2 collateral (an ERC-20 backed 1:1 by USDC, 6 decimals); wrap USDC.e into it through the CollateralOnramp.\n\
- **CLOB V2**: the protocol since 2026-04-28: orders carry a millisecond timestamp, metadata and a builder code (no nonce, fee rate or taker); fees are set by the operator at match time, taker-only.\n\
- **Tick size**: the price increment (0.1, 0.01, 0.005, 0.0025, 0.001 or 0.0001); it shrinks near 0 and 1.\n\
- **Complement matching**: buying NO at p is selling YES at 1 - p; a YES buyer and a NO buyer whose prices sum to 1 mint a new share pair.\n\
- **Neg-risk**: an event whose outcomes are mutually exclusive (exactly one YES); traded through the Neg-Risk exchange, where YES asks summing below 1 is an arbitrage.\n\
- **Complete set**: one YES and one NO share of a market, always worth 1 pUSD.\n\
- **Client order id**: your idempotency key; the same id twice places one order.\n\
- **Venue**: `simulated` is the embedded local CLOB (paper pUSD, house liquidity); `live` is Polymarket itself.\n";

const TOOL_GUIDE: &str = "# Polymarket tool guide\n\n\
1. `polymarket_markets` lists markets (condition ids, token ids, tick sizes, best prices); `polymarket_market` shows one with both books.\n\
2. `polymarket_orderbook` and `polymarket_price_history` for depth and prints.\n\
3. `polymarket_ensemble_signal` combines your probability forecasts into an edge and a Kelly-sized order; `polymarket_find_arbitrage` scans every market and neg-risk event.\n\
4. `polymarket_place_order` (always pass a `client_order_id`), `polymarket_open_orders`, `polymarket_cancel_order`.\n\
5. `polymarket_positions`, `polymarket_analytics`, `polymarket_wallet`, `polymarket_leaderboard` to review; `polymarket_copy_wallet` mirrors another account.\n\
6. `polymarket_quote_market` computes (and with `place: true` posts) Avellaneda-Stoikov quotes.\n\
7. `polymarket_risk_status` / `polymarket_set_risk_limits` (limits and the kill switch); every refusal names the limit.\n\
8. `polymarket_settle` resolves a market on the local CLOB; live, it reports the account's positions and, once resolved, the V2 adapter's redeem calldata.\n\
9. `polymarket_build_order` signs a CLOB V2 order (EIP-712, V2 or Neg-Risk V2 exchange; Exchange V3 for a `position_id`; limit or market) without sending it (needs POLYMARKET_PRIVATE_KEY).\n\
10. Live venue: `polymarket_stream_books` streams tokens' books over the market WebSocket; `polymarket_orderbook` / `polymarket_market` then say `book_source: stream` (with `age_ms`) or `rest` (with why).\n\
11. `polymarket_holders` lists a market's top holders per outcome; live, `polymarket_stream_orders` follows your own orders and fills over the user WebSocket and keeps their status current.\n\
12. `polymarket_fee_estimate` prices a fill's fees (taker platform fee from the market's schedule, builder fee); `polymarket_collateral` shows pUSD balance and allowances and gives (or, with `send: true` from an EOA, sends) approval, wrap/unwrap and split/merge/redeem transactions.\n\n\
Prices and sizes are decimals, as numbers or strings (`0.57`, `\"100\"`; strings keep every digit as typed). Without credentials every tool runs on the embedded local CLOB and says `venue: simulated`.\n";

// ---------------------------------------------------------------- bundle

#[async_trait::async_trait]
impl ToolBundle for PolymarketBundle {
    fn name(&self) -> &'static str {
        "polymarket"
    }

    fn tools(&self) -> Vec<ToolSpec> {
        vec![
            ToolSpec::new::<MarketsInput>("polymarket_markets", "List prediction markets: question, event, condition id, YES/NO token ids, tick size, neg-risk flag, best bid/ask and last trade."),
            ToolSpec::new::<MarketInput>("polymarket_market", "One market by condition id, slug or token id, with the top of both outcome books."),
            ToolSpec::new::<OrderbookInput>("polymarket_orderbook", "L2 order book of a token (or market + outcome): bids and asks best first, mid and spread."),
            ToolSpec::new::<HistoryInput>("polymarket_price_history", "Trade prints of a token, newest first, in that token's price terms."),
            ToolSpec::new::<OrderInput>("polymarket_build_order", "Build and EIP-712-sign a Polymarket CLOB V2 order (V2 CTF or Neg-Risk exchange, Exchange V3 for a position id; limit or market; amounts rounded as py-clob-client-v2 does; builder code and metadata) without sending it. Needs POLYMARKET_PRIVATE_KEY."),
            ToolSpec::new::<OrderInput>("polymarket_place_order", "Place a limit order (GTC, FOK or FAK) after the risk checks, on a token id or a market with its outcome (YES/NO). Pass client_order_id: the same id twice places one order.").trade(),
            ToolSpec::new::<CancelInput>("polymarket_cancel_order", "Cancel orders by id, all in a market, or all.").trade(),
            ToolSpec::new::<OpenOrdersInput>("polymarket_open_orders", "Open orders of the paper account, oldest first."),
            ToolSpec::new::<NoArgs>("polymarket_positions", "pUSD balance, positions with average cost, mark, unrealized and realized P&L, and equity."),
            ToolSpec::new::<ArbInput>("polymarket_find_arbitrage", "Scan every binary market (YES ask + NO ask < 1 after fees, or bids > 1) and neg-risk event (YES asks summing below 1, or bids above 1); size at the edge and expected profit."),
            ToolSpec::new::<QuoteInput>("polymarket_quote_market", "Avellaneda-Stoikov quotes for a market from its mid (live: the venue's book) and the inventory (paper account, or the live positions), skewed, tick-rounded, min size; no bid (or ask) when the model puts it off the tick grid, with the reason; with place=true cancel the account's orders in that market and post the quotes").trade().not_idempotent(),
            ToolSpec::new::<NoArgs>("polymarket_risk_status", "Risk limits, kill switch, exposures and today's P&L against the daily loss limit."),
            ToolSpec::new::<RiskInput>("polymarket_set_risk_limits", "Change risk limits; kill_switch=true cancels all open orders and refuses new ones.").writes(),
            ToolSpec::new::<SettleInput>("polymarket_settle", "Settle a market. Local CLOB: you name the winner; cancels its orders, pays 1 pUSD per winning share, books P&L. Live: reads the account's positions in the market and, once Polymarket's oracle has resolved it, returns the V2 collateral adapter's redeemPositions calldata (for review, not sent)").trade(),
            ToolSpec::new::<NoArgs>("polymarket_analytics", "Fill statistics (maker/taker counts and volume), spread captured by maker fills (mark-out against the current mid, or settlement once resolved), P&L, and the Brier score of recorded forecasts on resolved markets."),
            ToolSpec::new::<EnsembleInput>("polymarket_ensemble_signal", "Combine probability forecasts (weighted) into an edge against the market's asks and a fractional-Kelly order suggestion; records the forecasts for Brier scoring.").writes().not_idempotent(),
            ToolSpec::new::<WalletInput>("polymarket_wallet", "An account's positions, recent activity and P&L (wallet intelligence)."),
            ToolSpec::new::<LeaderboardInput>("polymarket_leaderboard", "Accounts ranked by P&L (live: the Polymarket leaderboard by period and PNL or VOL)."),
            ToolSpec::new::<StreamInput>("polymarket_stream_books", "Live venue: stream tokens' L2 books over the market WebSocket (subscribe/unsubscribe token ids or whole markets); polymarket_orderbook and polymarket_market then answer from the stream (book_source: stream) while it is in sync and fresh. Returns subscriptions, stream counters and each book's age."),
            ToolSpec::new::<StreamOrdersInput>("polymarket_stream_orders", "Live venue: stream this API key's own orders and fills over the CLOB's authenticated user WebSocket (start for given markets, default every market with an open live order; stop; status). Order events update the live orders' status and size matched, trade events record fills by trade id (MATCHED -> MINED -> CONFIRMED), each with an audit row; fills of orders this server did not place are recorded and marked so. Returns stream counters, latest order events, live orders and fills.").writes(),
            ToolSpec::new::<HoldersInput>("polymarket_holders", "Top holders of each outcome token of a market (live: the Data API; local CLOB: its accounts), largest first."),
            ToolSpec::new::<FeeEstimateInput>("polymarket_fee_estimate", "Fees on a fill as Polymarket CLOB V2 charges them: platform fee shares x rate x (p(1-p))^exponent (takers only, rounded down to 5 dp; makers pay 0) from the market's fee schedule (local CLOB's, or the venue's GET /clob-markets, cached), plus the builder fee (bps of notional) when a builder code is set; says which schedule and where it came from."),
            ToolSpec::new::<CollateralInput>("polymarket_collateral", "pUSD, the CLOB V2 collateral: balance and exchange allowances the CLOB sees (live: /balance-allowance, refresh=true re-reads the chain; local: the paper account) and missing approvals; calldata (for review, never sent) to approve the V2 exchanges, wrap USDC.e into pUSD, unwrap it, and split, merge or redeem a market through the V2 collateral adapters."),
            ToolSpec::new::<CopyInput>("polymarket_copy_wallet", "Mirror another account's positions into the paper account with a scale factor and a per-order notional cap (FAK orders at the best price, risk-checked).").trade().not_idempotent(),
        ]
    }

    fn migrations(&self) -> Vec<Migration> {
        crate::venue::migrations()
    }

    fn venues(&self) -> Vec<VenueStatus> {
        let local = VenueStatus {
            name: "polymarket-local-clob".into(),
            mode: VenueMode::Simulated,
        };
        match &self.live {
            Some(_) => vec![
                VenueStatus {
                    name: LIVE_VENUE.into(),
                    mode: VenueMode::Live,
                },
                local,
            ],
            None => vec![local],
        }
    }

    fn resources(&self) -> Vec<ResourceSpec> {
        vec![
            ResourceSpec {
                uri: "polymarket://glossary".into(),
                name: "Polymarket glossary".into(),
                description: "Event, market, condition id, token id, neg-risk, tick size and more."
                    .into(),
                mime_type: "text/markdown".into(),
            },
            ResourceSpec {
                uri: "polymarket://tool-guide".into(),
                name: "Polymarket tool guide".into(),
                description: "Which polymarket_* tool to use for what, in workflow order.".into(),
                mime_type: "text/markdown".into(),
            },
        ]
    }

    async fn read_resource(&self, uri: &str, _ctx: ToolCtx) -> Result<ResourceText, ToolError> {
        let text = match uri {
            "polymarket://glossary" => GLOSSARY,
            "polymarket://tool-guide" => TOOL_GUIDE,
            _ => return Err(ToolError::not_found(format!("no resource {uri}"))),
        };
        Ok(ResourceText {
            mime_type: "text/markdown".into(),
            text: text.into(),
        })
    }

    fn prompts(&self) -> Vec<PromptSpec> {
        vec![PromptSpec {
            name: "polymarket_research_and_size".into(),
            description: "Research a Polymarket market, form a probability, and size a position with Kelly under the risk limits.".into(),
            arguments: vec![
                PromptArg { name: "market".into(), description: "Condition id, slug or token id.".into(), required: true },
                PromptArg { name: "bankroll".into(), description: "pUSD you are willing to risk (optional).".into(), required: false },
            ],
        }]
    }

    fn render_prompt(
        &self,
        name: &str,
        args: &BTreeMap<String, String>,
    ) -> Result<String, ToolError> {
        if name != "polymarket_research_and_size" {
            return Err(ToolError::not_found(format!("no prompt {name}")));
        }
        let market = nt_mcp_core::bundle::prompt_arg(args, "market")?;
        let bankroll = args
            .get("bankroll")
            .map(String::as_str)
            .unwrap_or("the paper account's available pUSD");
        Ok(format!(
            "Research the Polymarket market `{market}` and decide whether to trade it.\n\
             1. Call polymarket_market with market=\"{market}\" to read the question, tokens, tick size and books.\n\
             2. Call polymarket_orderbook for the YES token and polymarket_price_history for recent prints.\n\
             3. Form at least two independent probability estimates of YES with your reasons (base rates, news, the book).\n\
             4. Call polymarket_ensemble_signal with those forecasts to get the edge and a fractional-Kelly size.\n\
             5. Check polymarket_risk_status; size within {bankroll} and the limits.\n\
             6. Only if the edge is positive after fees, call polymarket_place_order with a fresh client_order_id.\n\
             Report the probability, edge, order (or why none) and the venue the tools reported."
        ))
    }

    async fn call(&self, tool: &str, args: Value, ctx: ToolCtx) -> Result<ToolOutput, ToolError> {
        if let Some(live) = &self.live
            && let Some(out) = self.call_live(live, tool, &args, &ctx).await
        {
            return out;
        }
        let out = match tool {
            "polymarket_markets" => self.markets(parse_args(args)?, &ctx).await,
            "polymarket_market" => self.market(parse_args(args)?, &ctx).await,
            "polymarket_orderbook" => self.orderbook(parse_args(args)?, &ctx).await,
            "polymarket_price_history" => self.history(parse_args(args)?, &ctx).await,
            "polymarket_build_order" => self.build_order(parse_args(args)?, &ctx).await,
            "polymarket_place_order" => {
                let a = audit(&ctx, tool, &args);
                self.place(parse_args(args)?, &ctx, a).await
            }
            "polymarket_cancel_order" => {
                let a = audit(&ctx, tool, &args);
                self.cancel(parse_args(args)?, &ctx, a).await
            }
            "polymarket_open_orders" => self.open_orders(parse_args(args)?, &ctx).await,
            "polymarket_positions" => {
                parse_args::<NoArgs>(args)?;
                self.positions(&ctx).await
            }
            "polymarket_find_arbitrage" => self.find_arb(parse_args(args)?, &ctx).await,
            "polymarket_fee_estimate" => self.fee_estimate(parse_args(args)?, &ctx).await,
            "polymarket_collateral" => {
                let a = audit(&ctx, tool, &args);
                self.collateral(parse_args(args)?, &ctx, a).await
            }
            "polymarket_quote_market" => {
                let a = audit(&ctx, tool, &args);
                self.quote(parse_args(args)?, &ctx, a).await
            }
            "polymarket_risk_status" => {
                parse_args::<NoArgs>(args)?;
                self.risk_status(&ctx).await
            }
            "polymarket_set_risk_limits" => {
                let a = audit(&ctx, tool, &args);
                self.set_risk(parse_args(args)?, &ctx, a).await
            }
            "polymarket_settle" => {
                let a = audit(&ctx, tool, &args);
                self.settle(parse_args(args)?, &ctx, a).await
            }
            "polymarket_analytics" => {
                parse_args::<NoArgs>(args)?;
                self.analytics(&ctx).await
            }
            "polymarket_ensemble_signal" => self.ensemble(parse_args(args)?, &ctx).await,
            "polymarket_wallet" => self.wallet(parse_args(args)?, &ctx).await,
            "polymarket_holders" => self.holders(parse_args(args)?, &ctx).await,
            "polymarket_stream_orders" => {
                parse_args::<StreamOrdersInput>(args)?;
                Err(PolymarketError::Refused(
                    orders_stream_tool::LOCAL_REFUSAL.into(),
                ))
            }
            "polymarket_stream_books" => {
                parse_args::<StreamInput>(args)?;
                Err(PolymarketError::Refused(
                    "streaming books needs the live venue (POLYMARKET_PRIVATE_KEY with API credentials); the local CLOB's books are always current".into(),
                ))
            }
            "polymarket_leaderboard" => {
                parse_args::<LeaderboardInput>(args)?;
                self.leaderboard(&ctx).await
            }
            "polymarket_copy_wallet" => {
                let a = audit(&ctx, tool, &args);
                self.copy(parse_args(args)?, &ctx, a).await
            }
            other => {
                return Err(ToolError::not_found(format!(
                    "polymarket has no tool {other}"
                )));
            }
        };
        out.map_err(ToolError::from)
    }
}

impl PolymarketBundle {
    async fn engine<'a>(
        &'a self,
        ctx: &ToolCtx,
    ) -> Result<tokio::sync::MutexGuard<'a, Option<Engine>>> {
        self.clob.engine(ctx.store.pool(), ctx.clock.now_ms()).await
    }

    async fn markets(&self, input: MarketsInput, ctx: &ToolCtx) -> Result<ToolOutput> {
        let guard = self.engine(ctx).await?;
        let engine = guard
            .as_ref()
            .ok_or_else(|| PolymarketError::Config("not loaded".into()))?;
        let q = input.query.unwrap_or_default().to_lowercase();
        let limit = input.limit.unwrap_or(50).clamp(1, 500) as usize;
        let list: Vec<Value> = engine
            .markets()
            .filter(|m| input.include_resolved || m.resolved.is_none())
            .filter(|m| {
                q.is_empty()
                    || m.question.to_lowercase().contains(&q)
                    || m.slug.contains(&q)
                    || m.event_slug.contains(&q)
            })
            .take(limit)
            .map(|m| market_summary(engine, m))
            .collect();
        let lines: Vec<String> = list
            .iter()
            .map(|m| {
                format!(
                    "- {} [{}] bid {} ask {}",
                    m["question"].as_str().unwrap_or(""),
                    m["slug"].as_str().unwrap_or(""),
                    plain(&m["best_bid"]),
                    plain(&m["best_ask"])
                )
            })
            .collect();
        Ok(ToolOutput::new(
            format!(
                "venue: {VENUE}\n{} markets\n{}",
                list.len(),
                lines.join("\n")
            ),
            json!({ "venue": VENUE, "count": list.len(), "markets": list }),
        ))
    }

    async fn market(&self, input: MarketInput, ctx: &ToolCtx) -> Result<ToolOutput> {
        let guard = self.engine(ctx).await?;
        let engine = guard
            .as_ref()
            .ok_or_else(|| PolymarketError::Config("not loaded".into()))?;
        let (m, _) = find_market(engine, &input.market)?;
        let mut summary = market_summary(engine, m);
        summary["venue"] = json!(VENUE);
        summary["yes_book"] =
            serde_json::to_value(engine.book(&m.yes_token, 5)?).unwrap_or_default();
        summary["no_book"] = serde_json::to_value(engine.book(&m.no_token, 5)?).unwrap_or_default();
        Ok(ToolOutput::new(
            format!(
                "venue: {VENUE}\n{} ({})\nYES mid {}",
                m.question,
                m.slug,
                plain(&summary["mid"])
            ),
            summary,
        ))
    }

    async fn orderbook(&self, input: OrderbookInput, ctx: &ToolCtx) -> Result<ToolOutput> {
        let guard = self.engine(ctx).await?;
        let engine = guard
            .as_ref()
            .ok_or_else(|| PolymarketError::Config("not loaded".into()))?;
        let token = match (&input.token_id, &input.market) {
            (Some(t), _) => t.clone(),
            (None, Some(m)) => {
                let (spec, _) = find_market(engine, m)?;
                spec.token(input.outcome.unwrap_or(Outcome::Yes))
                    .to_string()
            }
            (None, None) => {
                return Err(PolymarketError::invalid(
                    "token_id",
                    "give token_id, or market with outcome",
                ));
            }
        };
        let book = engine.book(&token, input.depth.unwrap_or(10).clamp(1, 100) as usize)?;
        let (bb, ba) = (
            book.bids.first().map(|l| l.price),
            book.asks.first().map(|l| l.price),
        );
        let mid = bb.zip(ba).map(|(b, a)| (b + a) / Decimal::TWO);
        let spread = bb.zip(ba).map(|(b, a)| a - b);
        let fmt = |ls: &[Level]| {
            ls.iter()
                .map(|l| format!("{}x{}", l.price, l.size))
                .collect::<Vec<_>>()
                .join(" ")
        };
        Ok(ToolOutput::new(
            format!(
                "venue: {VENUE}\ntoken {token}\nbids {}\nasks {}",
                fmt(&book.bids),
                fmt(&book.asks)
            ),
            json!({ "venue": VENUE, "token_id": token, "bids": book.bids, "asks": book.asks, "mid": mid, "spread": spread,
                    "last_trade_price": engine.last_trade(&token) }),
        ))
    }

    async fn history(&self, input: HistoryInput, ctx: &ToolCtx) -> Result<ToolOutput> {
        let (market, outcome) = {
            let guard = self.engine(ctx).await?;
            let engine = guard
                .as_ref()
                .ok_or_else(|| PolymarketError::Config("not loaded".into()))?;
            let (m, o) = engine
                .token(&input.token_id)
                .ok_or_else(|| PolymarketError::invalid("token_id", "unknown token"))?;
            (m.condition_id.clone(), o)
        };
        let limit = i64::from(input.limit.unwrap_or(100).clamp(1, 1000));
        let rows = sqlx::query("SELECT yes_price, size, at_ms FROM pm_fills WHERE market = $1 ORDER BY seq DESC LIMIT $2")
            .bind(&market)
            .bind(limit)
            .fetch_all(ctx.store.pool())
            .await?;
        let mut points = Vec::new();
        for r in rows {
            let p = Decimal::from_str(&r.try_get::<String, _>("yes_price")?).unwrap_or_default();
            let price = if outcome == Outcome::Yes {
                p
            } else {
                Decimal::ONE - p
            };
            points.push(json!({ "t": r.try_get::<i64, _>("at_ms")?, "p": price, "size": r.try_get::<String, _>("size")? }));
        }
        Ok(ToolOutput::new(
            format!(
                "venue: {VENUE}\n{}",
                history_text(
                    &format!("{} prints for token {}", points.len(), input.token_id),
                    &points,
                    1
                )
            ),
            json!({ "venue": VENUE, "token_id": input.token_id, "history": points }),
        ))
    }

    /// Fills `input.token_id` from `market` and `outcome` when no token id
    /// is given: Gamma on the live venue, the local CLOB otherwise.
    async fn resolve_order_token(&self, input: &mut OrderInput, ctx: &ToolCtx) -> Result<()> {
        if !input.token_id.trim().is_empty() {
            return Ok(());
        }
        let Some(market) = input.market.as_deref() else {
            return Err(PolymarketError::invalid(
                "token_id",
                "give token_id, or market with outcome",
            ));
        };
        let outcome = input.outcome.ok_or_else(|| {
            PolymarketError::invalid("outcome", "YES or NO: which token of the market to trade")
        })?;
        input.token_id = match &self.live {
            Some(live) => live_token(live, market, outcome).await?,
            None => {
                let guard = self.engine(ctx).await?;
                let engine = guard
                    .as_ref()
                    .ok_or_else(|| PolymarketError::Config("not loaded".into()))?;
                let (spec, _) = find_market(engine, market)?;
                spec.token(outcome).to_string()
            }
        };
        Ok(())
    }

    async fn build_order(&self, mut input: OrderInput, ctx: &ToolCtx) -> Result<ToolOutput> {
        let by_position = match input.position_id.as_deref().map(str::trim) {
            Some(p) if !p.is_empty() => {
                if !input.token_id.trim().is_empty() || input.market.is_some() {
                    return Err(PolymarketError::invalid(
                        "position_id",
                        "give exactly one of token_id, market + outcome, or position_id",
                    ));
                }
                input.token_id = p.to_string();
                true
            }
            _ => false,
        };
        self.resolve_order_token(&mut input, ctx).await?;
        let wallet = self.wallet.as_ref().ok_or_else(|| {
            PolymarketError::Refused(
                "no signing key: set POLYMARKET_PRIVATE_KEY to build signed orders".into(),
            )
        })?;
        let price = parse_decimal("price", &input.price)?;
        let size = parse_decimal("size", &input.size)?;
        // Tick size and neg-risk when not given: Gamma on the live venue, the
        // local CLOB's market otherwise, else 0.01 / not neg-risk.
        let known: Option<(crate::types::TickSize, bool, &str)> = if (input.tick_size.is_some()
            && input.neg_risk.is_some())
            || (by_position && input.tick_size.is_some())
        {
            None
        } else if let Some(live) = &self.live {
            let m = live.market_of_token(&input.token_id).await?;
            Some((m.tick()?, m.neg_risk, "gamma"))
        } else {
            let guard = self.engine(ctx).await?;
            guard
                .as_ref()
                .and_then(|e| e.token(&input.token_id))
                .map(|(m, _)| (m.tick, m.neg_risk, "local CLOB"))
        };
        let tick = match &input.tick_size {
            Some(t) => crate::types::TickSize::parse(t)?,
            None => known.map_or(crate::types::TickSize::T0_01, |k| k.0),
        };
        let neg_risk = input.neg_risk.unwrap_or_else(|| known.is_some_and(|k| k.1));
        let salt = input.salt.unwrap_or_else(|| {
            input
                .client_order_id
                .as_deref()
                .map(livepath::salt_for)
                .unwrap_or(0)
        });
        let builder = match input.builder_code.as_deref() {
            Some(code) => signing::parse_bytes32("builder_code", code)?,
            None => self.config.builder_code,
        };
        let metadata = match input.metadata.as_deref() {
            Some(m) => signing::parse_bytes32("metadata", m)?,
            None => alloy_primitives::B256::ZERO,
        };
        let neg_risk = neg_risk && !by_position;
        let req = OrderRequest {
            asset_id: input.token_id.clone(),
            by_position,
            side: input.side,
            price,
            size,
            kind: if input.market_order.unwrap_or(false) {
                signing::OrderKind::Market
            } else {
                signing::OrderKind::Limit
            },
            tick,
            neg_risk,
            expiration: input.expiration.unwrap_or(0),
            salt,
            timestamp_ms: input.timestamp_ms.unwrap_or_else(now_ms),
            signature_type: SignatureType::from_u8(self.config.signature_type)?,
            funder: self.config.funder.as_deref().and_then(|f| f.parse().ok()),
            builder,
            metadata,
        };
        let signed = signing::sign_order(wallet, &req, self.config.chain_id)?;
        let route = signing::Exchange::route(by_position, neg_risk);
        let exchange = route.address().to_checksum(None);
        Ok(ToolOutput::new(
            format!(
                "signed a CLOB V2 {} {} {} @ {} for {exchange} (EIP-712 domain version {}; not sent)",
                if req.kind == signing::OrderKind::Market {
                    "market"
                } else {
                    "limit"
                },
                input.side,
                input.size,
                input.price,
                route.domain_version()
            ),
            json!({ "venue": "none (signed only, not sent)", "protocol": "CLOB V2", "exchange": exchange,
                    "exchange_kind": route, "domain_version": route.domain_version(), "chain_id": self.config.chain_id,
                    "tick_size": tick.as_str(), "neg_risk": neg_risk, "metadata_from": known.map(|k| k.2), "order": signed }),
        ))
    }

    async fn place(
        &self,
        mut input: OrderInput,
        ctx: &ToolCtx,
        audit: AuditInfo,
    ) -> Result<ToolOutput> {
        self.resolve_order_token(&mut input, ctx).await?;
        let cid = input
            .client_order_id
            .clone()
            .filter(|c| !c.trim().is_empty())
            .ok_or_else(|| {
                PolymarketError::invalid(
                    "client_order_id",
                    "required: the same id twice places one order",
                )
            })?;
        let price = parse_decimal("price", &input.price)?;
        let size = parse_decimal("size", &input.size)?;
        let pool = ctx.store.pool();
        let eq = {
            let guard = self.engine(ctx).await?;
            guard.as_ref().map(|e| equity(e, PAPER)).unwrap_or_default()
        };
        let risk = load_risk(pool, PAPER, audit.at_ms, eq).await?;
        let order = NewOrder {
            account: PAPER.into(),
            token_id: input.token_id.clone(),
            side: input.side,
            price,
            size,
            order_type: input.order_type,
            client_order_id: Some(cid),
        };
        let token = input.token_id.clone();
        let (out, duplicate) = self
            .clob
            .place_checked(pool, order, &audit, |engine| {
                risk_check(&risk, engine, &token, input.side, price, size)
            })
            .await?;
        let o = &out.order;
        let text = format!(
            "venue: {VENUE}\n{}order {} {} {} @ {}: {} filled, status {}",
            if duplicate {
                "duplicate client_order_id, existing "
            } else {
                ""
            },
            o.order_id,
            o.side,
            o.size,
            o.price,
            o.filled,
            o.status.as_str()
        );
        Ok(ToolOutput::new(
            text,
            json!({ "venue": VENUE, "duplicate": duplicate, "order": o, "fills": out.fills }),
        ))
    }

    async fn cancel(
        &self,
        input: CancelInput,
        ctx: &ToolCtx,
        audit: AuditInfo,
    ) -> Result<ToolOutput> {
        let market_id = match &input.market {
            Some(m) => {
                let guard = self.engine(ctx).await?;
                let engine = guard
                    .as_ref()
                    .ok_or_else(|| PolymarketError::Config("not loaded".into()))?;
                Some(find_market(engine, m)?.0.condition_id.clone())
            }
            None => None,
        };
        let which = if input.all {
            CancelWhich::All
        } else if let Some(m) = &market_id {
            CancelWhich::Market(m)
        } else if !input.order_ids.is_empty() {
            CancelWhich::Ids(&input.order_ids)
        } else {
            return Err(PolymarketError::invalid(
                "order_ids",
                "give order_ids, market, or all=true",
            ));
        };
        let cancelled = self
            .clob
            .cancel(ctx.store.pool(), PAPER, which, &audit)
            .await?;
        let ids: Vec<&str> = cancelled.iter().map(|o| o.order_id.as_str()).collect();
        Ok(ToolOutput::new(
            format!(
                "venue: {VENUE}\ncancelled {} order(s): {}",
                ids.len(),
                ids.join(", ")
            ),
            json!({ "venue": VENUE, "cancelled": cancelled }),
        ))
    }

    async fn open_orders(&self, input: OpenOrdersInput, ctx: &ToolCtx) -> Result<ToolOutput> {
        let guard = self.engine(ctx).await?;
        let engine = guard
            .as_ref()
            .ok_or_else(|| PolymarketError::Config("not loaded".into()))?;
        let market = match &input.market {
            Some(m) => Some(find_market(engine, m)?.0.condition_id.clone()),
            None => None,
        };
        let orders = engine.open_orders(PAPER, market.as_deref());
        let lines: Vec<String> = orders
            .iter()
            .map(|o| {
                format!(
                    "- {} {} {} {} @ {} filled {}",
                    o.order_id,
                    o.side,
                    o.outcome.as_str(),
                    o.size,
                    o.price,
                    o.filled
                )
            })
            .collect();
        Ok(ToolOutput::new(
            format!(
                "venue: {VENUE}\n{} open order(s)\n{}",
                orders.len(),
                lines.join("\n")
            ),
            json!({ "venue": VENUE, "orders": orders }),
        ))
    }

    async fn positions(&self, ctx: &ToolCtx) -> Result<ToolOutput> {
        let guard = self.engine(ctx).await?;
        let engine = guard
            .as_ref()
            .ok_or_else(|| PolymarketError::Config("not loaded".into()))?;
        let view = account_view(engine, PAPER);
        Ok(ToolOutput::new(
            format!("venue: {VENUE}\n{}", account_text(&view)),
            view,
        ))
    }

    async fn find_arb(&self, input: ArbInput, ctx: &ToolCtx) -> Result<ToolOutput> {
        let fee_override = arb_fee_override(&input)?;
        let guard = self.engine(ctx).await?;
        let engine = guard
            .as_ref()
            .ok_or_else(|| PolymarketError::Config("not loaded".into()))?;
        let live: Vec<&MarketSpec> = engine.markets().filter(|m| m.resolved.is_none()).collect();
        let fees = match fee_override {
            Some(s) => arb::FeeBook::flat(s),
            None => arb::FeeBook {
                default: crate::fees::FeeSchedule::ZERO,
                per_market: live
                    .iter()
                    .map(|m| (m.condition_id.clone(), engine.fee_schedule(&m.condition_id)))
                    .collect(),
            },
        };
        let params = ArbParams {
            fees,
            min_edge: dec_arg("min_edge", input.min_edge.as_ref(), Decimal::new(1, 4))?,
        };
        let binaries: Vec<BinaryQuote> = live.iter().map(|m| quote_of(engine, m)).collect();
        let mut events: BTreeMap<String, NegRiskEvent> = BTreeMap::new();
        for m in live.iter().filter(|m| m.neg_risk) {
            events
                .entry(m.event_slug.clone())
                .or_insert_with(|| NegRiskEvent {
                    event: m.event_slug.clone(),
                    outcomes: Vec::new(),
                    // The local CLOB's events are listed whole, without placeholders.
                    augmented: Some(false),
                })
                .outcomes
                .push(quote_of(engine, m));
        }
        let events: Vec<NegRiskEvent> = events.into_values().collect();
        let found = arb::scan(&binaries, &events, &params);
        let skipped = skipped_json(&events);
        let lines: Vec<String> = found
            .iter()
            .map(|o| {
                format!(
                    "- {} {}: edge {} per set after fees x {} = {} pUSD; {}",
                    o.kind, o.id, o.edge_per_set, o.size, o.expected_profit, o.action
                )
            })
            .collect();
        Ok(ToolOutput::new(
            format!(
                "venue: {VENUE}\nscanned {} markets, {} neg-risk events ({} skipped as incomplete sets): {} opportunities net of taker fees\n{}",
                binaries.len(),
                events.len(),
                skipped.len(),
                found.len(),
                lines.join("\n")
            ),
            json!({ "venue": VENUE, "markets_scanned": binaries.len(), "events_scanned": events.len(), "skipped_events": skipped, "opportunities": found }),
        ))
    }

    async fn quote(
        &self,
        input: QuoteInput,
        ctx: &ToolCtx,
        audit: AuditInfo,
    ) -> Result<ToolOutput> {
        let params = live_parity::quote_params(&input)?;
        let (spec, quotes, eq) = {
            let guard = self.engine(ctx).await?;
            let engine = guard
                .as_ref()
                .ok_or_else(|| PolymarketError::Config("not loaded".into()))?;
            let (m, _) = find_market(engine, &input.market)?;
            let acct = engine.account(PAPER);
            let held = |t: &str| {
                acct.and_then(|a| a.positions.get(t))
                    .map(|p| p.shares)
                    .unwrap_or_default()
            };
            let inventory = held(&m.yes_token) - held(&m.no_token);
            let params = AsParams {
                min_size: params.min_size.max(m.min_size),
                ..params
            };
            let q = mm::quote(yes_mid(engine, m), inventory, m.tick, &params)?;
            (m.clone(), q, equity(engine, PAPER))
        };
        let mut placed = Vec::new();
        if input.place {
            let pool = ctx.store.pool();
            self.clob
                .cancel(pool, PAPER, CancelWhich::Market(&spec.condition_id), &audit)
                .await?;
            let risk = load_risk(pool, PAPER, audit.at_ms, eq).await?;
            // The ask on YES is posted as a BUY of NO at 1 - ask (complement), so no YES inventory is needed.
            let legs = [
                quotes
                    .bid
                    .as_ref()
                    .map(|b| (spec.yes_token.clone(), b.price, b.size, "bid")),
                quotes
                    .ask
                    .as_ref()
                    .map(|a| (spec.no_token.clone(), Decimal::ONE - a.price, a.size, "ask")),
            ];
            for (token, price, size, tag) in legs.into_iter().flatten() {
                let order = NewOrder {
                    account: PAPER.into(),
                    token_id: token.clone(),
                    side: Side::Buy,
                    price,
                    size,
                    order_type: OrderType::Gtc,
                    client_order_id: Some(format!("mm-{}-{}-{tag}", spec.slug, audit.at_ms)),
                };
                let (out, _) = self
                    .clob
                    .place_checked(pool, order, &audit, |e| {
                        risk_check(&risk, e, &token, Side::Buy, price, size)
                    })
                    .await?;
                placed.push(out.order);
            }
        }
        Ok(ToolOutput::new(
            format!(
                "venue: {VENUE}\n{}: reservation {} spread {} bid {} ask {}{}",
                spec.slug,
                quotes.reservation,
                quotes.spread,
                quotes.bid.as_ref().map_or_else(
                    || format!("none ({})", quotes.no_bid_reason.as_deref().unwrap_or("")),
                    |q| format!("{}x{}", q.price, q.size)
                ),
                quotes.ask.as_ref().map_or_else(
                    || format!("none ({})", quotes.no_ask_reason.as_deref().unwrap_or("")),
                    |q| format!("{}x{}", q.price, q.size)
                ),
                if input.place {
                    format!("; placed {} order(s)", placed.len())
                } else {
                    String::new()
                }
            ),
            json!({ "venue": VENUE, "market": spec.condition_id, "quotes": quotes, "placed": placed,
                    "fees": "quotes rest as maker orders: CLOB V2 charges makers no platform fee" }),
        ))
    }

    async fn risk_status(&self, ctx: &ToolCtx) -> Result<ToolOutput> {
        let now = ctx.clock.now_ms();
        let (eq, total) = {
            let guard = self.engine(ctx).await?;
            let engine = guard
                .as_ref()
                .ok_or_else(|| PolymarketError::Config("not loaded".into()))?;
            (equity(engine, PAPER), exposures(engine, PAPER, "").1)
        };
        let risk = load_risk(ctx.store.pool(), PAPER, now, eq).await?;
        let loss = risk.daily_loss(eq);
        Ok(ToolOutput::new(
            format!(
                "venue: {VENUE}\nkill switch {}; exposure {total} / {}; daily loss {loss} / {}; max order {}",
                if risk.kill_switch { "ON" } else { "off" },
                risk.limits.max_total_exposure,
                risk.limits.daily_loss_limit,
                risk.limits.max_order_notional
            ),
            json!({ "venue": VENUE, "limits": risk.limits, "kill_switch": risk.kill_switch, "total_exposure": total,
                    "equity": r6(eq), "day_start_equity": r6(risk.day_start_equity), "daily_loss": r6(loss) }),
        ))
    }

    async fn set_risk(
        &self,
        input: RiskInput,
        ctx: &ToolCtx,
        audit: AuditInfo,
    ) -> Result<ToolOutput> {
        let now = audit.at_ms;
        let eq = {
            let guard = self.engine(ctx).await?;
            guard.as_ref().map(|e| equity(e, PAPER)).unwrap_or_default()
        };
        let pool = ctx.store.pool();
        let mut risk = load_risk(pool, PAPER, now, eq).await?;
        let set = |field: &str, v: &Option<NumText>, slot: &mut Decimal| -> Result<()> {
            if let Some(t) = v {
                let d = parse_decimal(field, t)?;
                if d < Decimal::ZERO {
                    return Err(PolymarketError::invalid(field, "must not be negative"));
                }
                *slot = d;
            }
            Ok(())
        };
        set(
            "max_order_notional",
            &input.max_order_notional,
            &mut risk.limits.max_order_notional,
        )?;
        set(
            "max_market_exposure",
            &input.max_market_exposure,
            &mut risk.limits.max_market_exposure,
        )?;
        set(
            "max_total_exposure",
            &input.max_total_exposure,
            &mut risk.limits.max_total_exposure,
        )?;
        set(
            "daily_loss_limit",
            &input.daily_loss_limit,
            &mut risk.limits.daily_loss_limit,
        )?;
        let mut cancelled = Vec::new();
        if let Some(k) = input.kill_switch {
            risk.kill_switch = k;
            if k {
                cancelled = self
                    .clob
                    .cancel(pool, PAPER, CancelWhich::All, &audit)
                    .await?;
            }
        }
        save_risk(pool, PAPER, &risk, now).await?;
        Ok(ToolOutput::new(
            format!(
                "venue: {VENUE}\nrisk limits saved; kill switch {}; cancelled {} order(s)",
                if risk.kill_switch { "ON" } else { "off" },
                cancelled.len()
            ),
            json!({ "venue": VENUE, "limits": risk.limits, "kill_switch": risk.kill_switch, "cancelled": cancelled.len() }),
        ))
    }

    async fn settle(
        &self,
        input: SettleInput,
        ctx: &ToolCtx,
        audit: AuditInfo,
    ) -> Result<ToolOutput> {
        let market = {
            let guard = self.engine(ctx).await?;
            let engine = guard
                .as_ref()
                .ok_or_else(|| PolymarketError::Config("not loaded".into()))?;
            find_market(engine, &input.market)?.0.condition_id.clone()
        };
        let winner = input.winner.ok_or_else(|| {
            PolymarketError::invalid(
                "winner",
                "YES or NO: on the local CLOB you resolve the market",
            )
        })?;
        let (cancelled, payouts) = self
            .clob
            .resolve(ctx.store.pool(), &market, winner, &audit)
            .await?;
        let neg_risk = {
            let guard = self.engine(ctx).await?;
            guard
                .as_ref()
                .and_then(|e| find_market(e, &market).ok())
                .is_some_and(|(m, _)| m.neg_risk)
        };
        let redeem = crate::collateral::redeem(&market, neg_risk)?;
        let paper = payouts
            .iter()
            .find(|(a, _)| a == PAPER)
            .map(|(_, p)| *p)
            .unwrap_or_default();
        Ok(ToolOutput::new(
            format!(
                "venue: {VENUE}\nresolved {} as {}; paper received {paper} pUSD; {} order(s) cancelled",
                market,
                winner.as_str(),
                cancelled.len()
            ),
            json!({ "venue": VENUE, "market": market, "winner": winner, "paper_payout": paper,
                    "payouts": payouts.iter().map(|(a, p)| json!({"account": a, "usdc": p})).collect::<Vec<_>>(),
                    "cancelled_orders": cancelled.len(),
                    "redeem": { "to": redeem.to, "data": redeem.data, "purpose": redeem.purpose,
                                "function": "redeemPositions(address,bytes32,bytes32,uint256[])" } }),
        ))
    }

    async fn analytics(&self, ctx: &ToolCtx) -> Result<ToolOutput> {
        let pool = ctx.store.pool();
        let rows = sqlx::query(
            "SELECT market, taker_account, maker_account, taker_price, maker_price, maker_outcome, \
             maker_side, size, taker_fee FROM pm_fills WHERE taker_account = $1 OR maker_account = $1",
        )
        .bind(PAPER)
        .fetch_all(pool)
        .await?;
        let (mut maker_n, mut taker_n) = (0u64, 0u64);
        let (mut maker_vol, mut taker_vol) = (Decimal::ZERO, Decimal::ZERO);
        let mut maker_fills = Vec::new();
        let mut taker_fees = Vec::new();
        for r in &rows {
            let size = Decimal::from_str(&r.try_get::<String, _>("size")?).unwrap_or_default();
            if r.try_get::<String, _>("taker_account")? == PAPER {
                taker_n += 1;
                let notional = size
                    * Decimal::from_str(&r.try_get::<String, _>("taker_price")?)
                        .unwrap_or_default();
                taker_vol += notional;
                let fee =
                    Decimal::from_str(&r.try_get::<String, _>("taker_fee")?).unwrap_or_default();
                taker_fees.push((notional, fee));
            }
            if r.try_get::<String, _>("maker_account")? == PAPER {
                let price =
                    Decimal::from_str(&r.try_get::<String, _>("maker_price")?).unwrap_or_default();
                maker_n += 1;
                maker_vol += size * price;
                let outcome = Outcome::parse(&r.try_get::<String, _>("maker_outcome")?);
                let side = Side::parse(&r.try_get::<String, _>("maker_side")?);
                if let (Some(outcome), Some(side)) = (outcome, side) {
                    maker_fills.push((
                        r.try_get::<String, _>("market")?,
                        outcome,
                        side,
                        price,
                        size,
                    ));
                }
            }
        }
        let (view, resolved, captured): (Value, BTreeMap<String, Outcome>, SpreadCaptured) = {
            let guard = self.engine(ctx).await?;
            let engine = guard
                .as_ref()
                .ok_or_else(|| PolymarketError::Config("not loaded".into()))?;
            let marked: Vec<MakerFill> = maker_fills
                .iter()
                .filter_map(|(market, outcome, side, price, size)| {
                    let m = engine.market(market)?;
                    let mark = match m.resolved {
                        Some(winner) if winner == *outcome => Decimal::ONE,
                        Some(_) => Decimal::ZERO,
                        None => mark(engine, m.token(*outcome)),
                    };
                    Some(MakerFill {
                        side: *side,
                        price: *price,
                        size: *size,
                        mark,
                    })
                })
                .collect();
            (
                account_view(engine, PAPER),
                engine
                    .markets()
                    .filter_map(|m| m.resolved.map(|o| (m.condition_id.clone(), o)))
                    .collect(),
                spread_captured(&marked),
            )
        };
        let mut pairs = Vec::new();
        for r in sqlx::query("SELECT market, probability FROM pm_forecasts")
            .fetch_all(pool)
            .await?
        {
            let market: String = r.try_get("market")?;
            if let Some(o) = resolved.get(&market) {
                let p =
                    Decimal::from_str(&r.try_get::<String, _>("probability")?).unwrap_or_default();
                pairs.push((p, *o == Outcome::Yes));
            }
        }
        let brier = ensemble::brier(&pairs);
        let fees = crate::analytics::fees_paid(&taker_fees);
        Ok(ToolOutput::new(
            format!(
                "venue: {VENUE}\nfills: {taker_n} taker ({taker_vol} pUSD), {maker_n} maker ({maker_vol} pUSD); fees paid {} pUSD on taker fills, 0 as maker; spread captured {} pUSD on {} maker shares; realized {} unrealized {}; Brier score {} over {} resolved forecasts",
                fees.total,
                captured.total.round_dp(6),
                captured.shares,
                plain(&view["realized_pnl"]),
                plain(&view["unrealized_pnl"]),
                brier.map_or_else(|| "n/a".to_string(), |b| b.to_string()),
                pairs.len()
            ),
            json!({ "venue": VENUE, "taker_fills": taker_n, "taker_volume": taker_vol, "maker_fills": maker_n, "maker_volume": maker_vol,
                    "realized_pnl": view["realized_pnl"], "unrealized_pnl": view["unrealized_pnl"], "equity": view["equity"],
                    "spread_captured": captured.total.round_dp(6), "spread_captured_per_share": captured.per_share(),
                    "maker_shares": captured.shares, "fees_paid": fees,
                    "brier_score": brier, "scored_forecasts": pairs.len() }),
        ))
    }

    async fn ensemble(&self, input: EnsembleInput, ctx: &ToolCtx) -> Result<ToolOutput> {
        let (kelly_mult, max_frac) = live_parity::kelly_args(&input)?;
        let (spec, yes_ask, no_ask, bankroll, eq, fees) = {
            let guard = self.engine(ctx).await?;
            let engine = guard
                .as_ref()
                .ok_or_else(|| PolymarketError::Config("not loaded".into()))?;
            let (m, _) = find_market(engine, &input.market)?;
            let fees = engine.fee_schedule(&m.condition_id);
            let q = quote_of(engine, m);
            let bankroll = engine
                .account(PAPER)
                .map(|a| a.available_cash())
                .unwrap_or_default();
            (
                m.clone(),
                q.yes_ask.map(|l| l.price),
                q.no_ask.map(|l| l.price),
                bankroll,
                equity(engine, PAPER),
                fees,
            )
        };
        let s = ensemble::suggest(
            &input.forecasts,
            yes_ask,
            no_ask,
            &fees,
            bankroll,
            kelly_mult,
            max_frac,
        )?;
        let now = ctx.clock.now_ms();
        live_parity::record_forecasts(ctx.store.pool(), &spec.condition_id, &input.forecasts, now)
            .await?;
        let token = s.outcome.map(|o| spec.token(o).to_string());
        // The suggestion against the account's risk limits now, so the agent
        // knows before placing whether it would be refused and by which.
        let risk_verdict = match (&token, s.price) {
            (Some(t), Some(price)) if !s.shares.is_zero() => {
                let risk = load_risk(ctx.store.pool(), PAPER, now, eq).await?;
                let guard = self.engine(ctx).await?;
                let engine = guard
                    .as_ref()
                    .ok_or_else(|| PolymarketError::Config("not loaded".into()))?;
                Some(risk_check(&risk, engine, t, Side::Buy, price, s.shares).err())
            }
            _ => None,
        };
        let (risk_text, risk) = live_parity::risk_verdict(risk_verdict);
        Ok(ToolOutput::new(
            format!(
                "venue: {VENUE}\n{}: ensemble P(YES) {} edge {} -> {}{risk_text}",
                spec.slug,
                s.probability,
                s.edge,
                match (&s.outcome, s.price) {
                    (Some(o), Some(p)) => format!(
                        "BUY {} {} @ {} ({} pUSD)",
                        s.shares,
                        o.as_str(),
                        p,
                        s.stake_usdc
                    ),
                    _ => "no trade".into(),
                }
            ),
            json!({ "venue": VENUE, "market": spec.condition_id, "suggestion": s, "token_id": token,
                    "risk": risk }),
        ))
    }

    async fn wallet(&self, input: WalletInput, ctx: &ToolCtx) -> Result<ToolOutput> {
        let name = input.address.unwrap_or_else(|| PAPER.into());
        let view = {
            let guard = self.engine(ctx).await?;
            let engine = guard
                .as_ref()
                .ok_or_else(|| PolymarketError::Config("not loaded".into()))?;
            if engine.account(&name).is_none() {
                return Err(PolymarketError::invalid(
                    "address",
                    format!("no account `{name}` on the local CLOB (try `paper` or `house`)"),
                ));
            }
            account_view(engine, &name)
        };
        let rows = sqlx::query(
            "SELECT trade_id, market, taker_account, taker_side, taker_outcome, taker_price, maker_side, maker_outcome, maker_price, size, at_ms \
             FROM pm_fills WHERE taker_account = $1 OR maker_account = $1 ORDER BY seq DESC LIMIT 20",
        )
        .bind(&name)
        .fetch_all(ctx.store.pool())
        .await?;
        let mut activity = Vec::new();
        for r in rows {
            let taker = r.try_get::<String, _>("taker_account")? == name;
            let pre = if taker { "taker" } else { "maker" };
            activity.push(json!({
                "trade_id": r.try_get::<String, _>("trade_id")?, "market": r.try_get::<String, _>("market")?, "role": pre,
                "side": r.try_get::<String, _>(format!("{pre}_side").as_str())?,
                "outcome": r.try_get::<String, _>(format!("{pre}_outcome").as_str())?,
                "price": r.try_get::<String, _>(format!("{pre}_price").as_str())?,
                "size": r.try_get::<String, _>("size")?, "at_ms": r.try_get::<i64, _>("at_ms")?,
            }));
        }
        let mut body = view;
        body["activity"] = json!(activity);
        Ok(ToolOutput::new(
            format!(
                "venue: {VENUE}\n{name}: {}\n{} recent trades",
                account_text(&body),
                activity.len()
            ),
            body,
        ))
    }

    async fn leaderboard(&self, ctx: &ToolCtx) -> Result<ToolOutput> {
        let guard = self.engine(ctx).await?;
        let engine = guard
            .as_ref()
            .ok_or_else(|| PolymarketError::Config("not loaded".into()))?;
        let mut rows: Vec<(String, Decimal, Decimal)> = engine
            .accounts()
            .keys()
            .map(|name| {
                let v = account_view(engine, name);
                let pnl = |k: &str| {
                    v[k].as_str()
                        .and_then(|s| Decimal::from_str(s).ok())
                        .unwrap_or_default()
                };
                (
                    name.clone(),
                    pnl("realized_pnl") + pnl("unrealized_pnl"),
                    pnl("equity"),
                )
            })
            .collect();
        rows.sort_by_key(|r| std::cmp::Reverse(r.1));
        let lines: Vec<String> = rows
            .iter()
            .enumerate()
            .map(|(i, r)| format!("{}. {} pnl {} equity {}", i + 1, r.0, r.1, r.2))
            .collect();
        Ok(ToolOutput::new(
            format!("venue: {VENUE}\n{}", lines.join("\n")),
            json!({ "venue": VENUE, "leaderboard": rows.iter().enumerate().map(|(i, r)| json!({"rank": i + 1, "account": r.0, "pnl": r.1, "equity": r.2})).collect::<Vec<_>>() }),
        ))
    }

    async fn copy(&self, input: CopyInput, ctx: &ToolCtx, audit: AuditInfo) -> Result<ToolOutput> {
        let scale = parse_decimal("scale", &input.scale)?;
        if scale <= Decimal::ZERO {
            return Err(PolymarketError::invalid("scale", "must be positive"));
        }
        let cap = dec_arg(
            "max_order_notional",
            input.max_order_notional.as_ref(),
            Decimal::from(250),
        )?;
        if input.source == PAPER {
            return Err(PolymarketError::invalid(
                "source",
                "cannot copy the paper account into itself",
            ));
        }
        let (plan, eq) = {
            let guard = self.engine(ctx).await?;
            let engine = guard
                .as_ref()
                .ok_or_else(|| PolymarketError::Config("not loaded".into()))?;
            let src = engine.account(&input.source).ok_or_else(|| {
                PolymarketError::invalid("source", format!("no account `{}`", input.source))
            })?;
            let holdings = |a: &crate::engine::Account| -> Vec<crate::copy::Holding> {
                a.positions
                    .iter()
                    .filter_map(|(t, p)| {
                        engine.token(t).map(|(m, _)| crate::copy::Holding {
                            token: t.clone(),
                            shares: p.shares,
                            resolved: m.resolved.is_some(),
                        })
                    })
                    .collect()
            };
            let mine = engine.account(PAPER).map(holdings).unwrap_or_default();
            let mut plan = Vec::new();
            for (token, diff) in crate::copy::plan(&holdings(src), &mine, scale) {
                let Some((m, _)) = engine.token(&token) else {
                    continue;
                };
                let book = engine.book(&token, 1)?;
                let (side, level) = if diff > Decimal::ZERO {
                    (Side::Buy, book.asks.first().cloned())
                } else {
                    (Side::Sell, book.bids.first().cloned())
                };
                let Some(level) = level else { continue };
                let mut size = diff.abs().min(level.size);
                if side == Side::Buy && level.price * size > cap {
                    size = (cap / level.price)
                        .round_dp_with_strategy(2, rust_decimal::RoundingStrategy::ToZero);
                }
                if size < m.min_size {
                    continue;
                }
                plan.push((token, side, level.price, size));
            }
            (plan, equity(engine, PAPER))
        };
        let mut results = Vec::new();
        if !input.dry_run {
            let pool = ctx.store.pool();
            let risk = load_risk(pool, PAPER, audit.at_ms, eq).await?;
            for (i, (token, side, price, size)) in plan.iter().enumerate() {
                let order = NewOrder {
                    account: PAPER.into(),
                    token_id: token.clone(),
                    side: *side,
                    price: *price,
                    size: *size,
                    order_type: OrderType::Fak,
                    client_order_id: Some(format!("copy-{}-{}-{i}", input.source, audit.at_ms)),
                };
                let res = self
                    .clob
                    .place_checked(pool, order, &audit, |e| {
                        risk_check(&risk, e, token, *side, *price, *size)
                    })
                    .await;
                results.push(match res {
                    Ok((out, _)) => json!({ "token_id": token, "side": side, "price": price, "size": size, "filled": out.order.filled, "status": out.order.status }),
                    Err(err) => json!({ "token_id": token, "side": side, "price": price, "size": size, "refused": err.to_string() }),
                });
            }
        }
        let planned: Vec<Value> = plan
            .iter()
            .map(|(t, s, p, z)| json!({"token_id": t, "side": s, "price": p, "size": z}))
            .collect();
        Ok(ToolOutput::new(
            format!(
                "venue: {VENUE}\ncopy {} x{}: {} order(s) planned{}",
                input.source,
                scale,
                planned.len(),
                if input.dry_run { " (dry run)" } else { "" }
            ),
            json!({ "venue": VENUE, "source": input.source, "scale": scale, "planned": planned, "results": results }),
        ))
    }
}

// ---------------------------------------------------------------- live path

impl PolymarketBundle {
    /// Whether the tools trade on the real Polymarket CLOB.
    pub fn is_live(&self) -> bool {
        self.live.is_some()
    }

    /// The live path of `tool`, or `None` when the tool stays on the local
    /// CLOB (quoting, settlement, analytics, ensemble).
    async fn call_live(
        &self,
        live: &Live,
        tool: &str,
        args: &Value,
        ctx: &ToolCtx,
    ) -> Option<Result<ToolOutput, ToolError>> {
        let parsed = |args: &Value| args.clone();
        let out: Result<ToolOutput> = match tool {
            "polymarket_markets" => match parse_args::<MarketsInput>(parsed(args)) {
                Ok(i) => self.live_markets(live, i).await,
                Err(e) => return Some(Err(e)),
            },
            "polymarket_market" => match parse_args::<MarketInput>(parsed(args)) {
                Ok(i) => self.live_market(live, i).await,
                Err(e) => return Some(Err(e)),
            },
            "polymarket_orderbook" => match parse_args::<OrderbookInput>(parsed(args)) {
                Ok(i) => self.live_orderbook(live, i).await,
                Err(e) => return Some(Err(e)),
            },
            "polymarket_price_history" => match parse_args::<HistoryInput>(parsed(args)) {
                Ok(i) => self.live_history(live, i).await,
                Err(e) => return Some(Err(e)),
            },
            "polymarket_place_order" => match parse_args::<OrderInput>(parsed(args)) {
                Ok(i) => self.live_place(live, i, ctx, audit(ctx, tool, args)).await,
                Err(e) => return Some(Err(e)),
            },
            "polymarket_cancel_order" => match parse_args::<CancelInput>(parsed(args)) {
                Ok(i) => {
                    let a = audit(ctx, tool, args);
                    livepath::cancel(live, ctx, &i.order_ids, i.market.as_deref(), i.all, &a)
                        .await
                        .map(|v| {
                            livepath::answer(
                                format!(
                                    "cancelled {} order(s)",
                                    v["canceled"].as_array().map_or(0, Vec::len)
                                ),
                                v,
                            )
                        })
                }
                Err(e) => return Some(Err(e)),
            },
            "polymarket_open_orders" => match parse_args::<OpenOrdersInput>(parsed(args)) {
                Ok(i) => self.live_open_orders(live, i).await,
                Err(e) => return Some(Err(e)),
            },
            "polymarket_positions" => match parse_args::<NoArgs>(parsed(args)) {
                Ok(_) => self.live_wallet(live, None).await,
                Err(e) => return Some(Err(e)),
            },
            "polymarket_stream_books" => match parse_args::<StreamInput>(parsed(args)) {
                Ok(i) => self.live_stream(live, i).await,
                Err(e) => return Some(Err(e)),
            },
            "polymarket_stream_orders" => match parse_args::<StreamOrdersInput>(parsed(args)) {
                Ok(i) => {
                    let a = audit(ctx, tool, args);
                    self.live_stream_orders(live, i, ctx, a).await
                }
                Err(e) => return Some(Err(e)),
            },
            "polymarket_holders" => match parse_args::<HoldersInput>(parsed(args)) {
                Ok(i) => self.live_holders(live, i).await,
                Err(e) => return Some(Err(e)),
            },
            "polymarket_find_arbitrage" => match parse_args::<ArbInput>(parsed(args)) {
                Ok(i) => self.live_arb(live, i, ctx.clock.now_ms()).await,
                Err(e) => return Some(Err(e)),
            },
            "polymarket_wallet" => match parse_args::<WalletInput>(parsed(args)) {
                Ok(i) => self.live_wallet(live, i.address).await,
                Err(e) => return Some(Err(e)),
            },
            "polymarket_leaderboard" => match parse_args::<LeaderboardInput>(parsed(args)) {
                Ok(i) => self.live_leaderboard(live, i).await,
                Err(e) => return Some(Err(e)),
            },
            "polymarket_fee_estimate" => match parse_args::<FeeEstimateInput>(parsed(args)) {
                Ok(i) => self.live_fee_estimate(live, i, ctx).await,
                Err(e) => return Some(Err(e)),
            },
            "polymarket_copy_wallet" => match parse_args::<CopyInput>(parsed(args)) {
                Ok(i) => self.live_copy(live, i, ctx, audit(ctx, tool, args)).await,
                Err(e) => return Some(Err(e)),
            },
            "polymarket_quote_market" => match parse_args::<QuoteInput>(parsed(args)) {
                Ok(i) => self.live_quote(live, i, ctx, audit(ctx, tool, args)).await,
                Err(e) => return Some(Err(e)),
            },
            "polymarket_ensemble_signal" => match parse_args::<EnsembleInput>(parsed(args)) {
                Ok(i) => self.live_ensemble(live, i, ctx).await,
                Err(e) => return Some(Err(e)),
            },
            "polymarket_settle" => match parse_args::<SettleInput>(parsed(args)) {
                Ok(i) => self.live_settle(live, i).await,
                Err(e) => return Some(Err(e)),
            },
            "polymarket_analytics" => match parse_args::<NoArgs>(parsed(args)) {
                Ok(_) => self.live_analytics(live, ctx).await,
                Err(e) => return Some(Err(e)),
            },
            "polymarket_risk_status" => match parse_args::<NoArgs>(parsed(args)) {
                Ok(_) => self.live_risk_status(live, ctx).await,
                Err(e) => return Some(Err(e)),
            },
            "polymarket_set_risk_limits" => match parse_args::<RiskInput>(parsed(args)) {
                Ok(i) => {
                    self.live_set_risk(live, i, ctx, audit(ctx, tool, args))
                        .await
                }
                Err(e) => return Some(Err(e)),
            },
            _ => return None,
        };
        Some(out.map_err(ToolError::from))
    }

    async fn live_markets(&self, live: &Live, input: MarketsInput) -> Result<ToolOutput> {
        let limit = input.limit.unwrap_or(50).clamp(1, 500) as usize;
        let list =
            livepath::markets(live, input.query.as_deref(), input.include_resolved, limit).await?;
        let lines: Vec<String> = list
            .iter()
            .map(|m| {
                format!(
                    "- {} [{}]",
                    m["question"].as_str().unwrap_or(""),
                    m["slug"].as_str().unwrap_or("")
                )
            })
            .collect();
        Ok(livepath::answer(
            format!("{} markets\n{}", list.len(), lines.join("\n")),
            json!({ "count": list.len(), "markets": list }),
        ))
    }

    async fn live_market(&self, live: &Live, input: MarketInput) -> Result<ToolOutput> {
        let m = live.gamma.market(&input.market).await?;
        let mut view = livepath::market_view(&m);
        let mut sources = std::collections::BTreeSet::new();
        for (outcome, token) in m.outcomes.iter().zip(&m.clob_token_ids).take(2) {
            let key = format!("{}_book", outcome.to_lowercase());
            let book = self.live_book(live, token, 5, None).await?;
            sources.insert(book["book_source"].as_str().unwrap_or("rest").to_string());
            view[key] = book;
        }
        view["book_source"] = json!(match sources.len() {
            1 => sources.iter().next().cloned().unwrap_or_default(),
            0 => "rest".to_string(),
            _ => "mixed".to_string(),
        });
        Ok(livepath::answer(
            format!("{} ({})", m.question, m.slug),
            view,
        ))
    }

    async fn live_orderbook(&self, live: &Live, input: OrderbookInput) -> Result<ToolOutput> {
        let token = match (&input.token_id, &input.market) {
            (Some(t), _) => t.clone(),
            (None, Some(m)) => live_token(live, m, input.outcome.unwrap_or(Outcome::Yes)).await?,
            (None, None) => {
                return Err(PolymarketError::invalid(
                    "token_id",
                    "give token_id, or market with outcome",
                ));
            }
        };
        let depth = input.depth.unwrap_or(10).clamp(1, 100) as usize;
        let v = self
            .live_book(live, &token, depth, input.max_age_ms)
            .await?;
        let fmt = |side: &Value| {
            side.as_array()
                .map(|ls| {
                    ls.iter()
                        .map(|l| {
                            format!(
                                "{}x{}",
                                l["price"].as_str().unwrap_or(""),
                                l["size"].as_str().unwrap_or("")
                            )
                        })
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .unwrap_or_default()
        };
        Ok(livepath::answer(
            format!(
                "token {token} (book_source: {}{})\nbids {}\nasks {}",
                v["book_source"].as_str().unwrap_or("rest"),
                v["age_ms"]
                    .as_u64()
                    .map(|a| format!(", {a} ms since last update"))
                    .unwrap_or_default(),
                fmt(&v["bids"]),
                fmt(&v["asks"])
            ),
            v,
        ))
    }

    async fn live_history(&self, live: &Live, input: HistoryInput) -> Result<ToolOutput> {
        let interval = input.interval.unwrap_or_else(|| "1d".into());
        if !["1m", "1h", "6h", "1d", "1w", "max"].contains(&interval.as_str()) {
            return Err(PolymarketError::invalid(
                "interval",
                "must be 1m, 1h, 6h, 1d, 1w or max",
            ));
        }
        let clob = live.clob().await?;
        let v = clob
            .price_history(&input.token_id, &interval, input.fidelity)
            .await?;
        let limit = input.limit.unwrap_or(100).clamp(1, 1000) as usize;
        let mut points: Vec<Value> = v
            .get("history")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        points.reverse();
        points.truncate(limit);
        Ok(livepath::answer(
            history_text(
                &format!(
                    "{} points for token {} ({interval})",
                    points.len(),
                    input.token_id
                ),
                &points,
                1000,
            ),
            json!({ "token_id": input.token_id, "interval": interval, "history": points }),
        ))
    }

    async fn live_place(
        &self,
        live: &Live,
        mut input: OrderInput,
        ctx: &ToolCtx,
        audit: AuditInfo,
    ) -> Result<ToolOutput> {
        self.resolve_order_token(&mut input, ctx).await?;
        let cid = input
            .client_order_id
            .clone()
            .filter(|c| !c.trim().is_empty())
            .ok_or_else(|| {
                PolymarketError::invalid(
                    "client_order_id",
                    "required: the same id twice places one order",
                )
            })?;
        let order = LiveOrder {
            client_order_id: cid,
            token_id: input.token_id.clone(),
            side: input.side,
            price: parse_decimal("price", &input.price)?,
            size: parse_decimal("size", &input.size)?,
            order_type: input.order_type,
            tick: input
                .tick_size
                .as_deref()
                .map(crate::types::TickSize::parse)
                .transpose()?,
            neg_risk: input.neg_risk,
        };
        let (o, duplicate) = livepath::place(live, ctx, order, &audit, live.pnl_equity()).await?;
        Ok(livepath::answer(
            format!(
                "{}order {} {} {} @ {}: status {}",
                if duplicate {
                    "duplicate client_order_id, existing "
                } else {
                    ""
                },
                o["order_id"].as_str().unwrap_or("?"),
                o["side"].as_str().unwrap_or(""),
                o["size"].as_str().unwrap_or(""),
                o["price"].as_str().unwrap_or(""),
                o["status"].as_str().unwrap_or("")
            ),
            json!({ "duplicate": duplicate, "order": o }),
        ))
    }

    async fn live_open_orders(&self, live: &Live, input: OpenOrdersInput) -> Result<ToolOutput> {
        let market = match &input.market {
            Some(m) if m.starts_with("0x") && m.len() == 66 => Some(m.clone()),
            Some(m) => Some(live.gamma.market(m).await?.condition_id),
            None => None,
        };
        let v = live.clob().await?.open_orders(market.as_deref()).await?;
        let orders = match v {
            Value::Array(a) => a,
            other => other
                .get("data")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default(),
        };
        Ok(livepath::answer(
            format!("{} open order(s)", orders.len()),
            json!({ "orders": orders }),
        ))
    }

    async fn live_wallet(&self, live: &Live, address: Option<String>) -> Result<ToolOutput> {
        let address = address
            .filter(|a| !a.trim().is_empty())
            .unwrap_or_else(|| live.address.clone());
        let positions = live.data.positions(&address, 500).await?;
        let activity = live.data.activity(&address, 20).await?;
        let value: Decimal = positions.iter().map(|p| p.current_value).sum();
        let unrealized: Decimal = positions.iter().map(|p| p.cash_pnl).sum();
        let realized: Decimal = positions.iter().map(|p| p.realized_pnl).sum();
        Ok(livepath::answer(
            format!(
                "{address}: {} positions worth {value} pUSD, unrealized {unrealized}, realized {realized}; {} recent activities",
                positions.len(),
                activity.len()
            ),
            json!({ "account": address, "positions_value": value, "unrealized_pnl": unrealized,
                    "realized_pnl": realized, "positions": positions, "activity": activity }),
        ))
    }

    async fn live_leaderboard(&self, live: &Live, input: LeaderboardInput) -> Result<ToolOutput> {
        let rows = live
            .data
            .leaderboard(
                input.time_period.as_deref().unwrap_or("DAY"),
                input.order_by.as_deref().unwrap_or("PNL"),
                input.limit.unwrap_or(25),
            )
            .await?;
        let lines: Vec<String> = rows
            .iter()
            .map(|r| {
                format!(
                    "{}. {} {} pnl {} vol {}",
                    r.rank, r.user_name, r.proxy_wallet, r.pnl, r.vol
                )
            })
            .collect();
        Ok(livepath::answer(
            lines.join("\n"),
            json!({ "leaderboard": rows }),
        ))
    }

    async fn live_copy(
        &self,
        live: &Live,
        input: CopyInput,
        ctx: &ToolCtx,
        audit: AuditInfo,
    ) -> Result<ToolOutput> {
        let scale = parse_decimal("scale", &input.scale)?;
        if scale <= Decimal::ZERO {
            return Err(PolymarketError::invalid("scale", "must be positive"));
        }
        let cap = dec_arg(
            "max_order_notional",
            input.max_order_notional.as_ref(),
            Decimal::from(250),
        )?;
        if input.source.trim().eq_ignore_ascii_case(&live.address) {
            return Err(PolymarketError::invalid(
                "source",
                "cannot copy the account into itself",
            ));
        }
        let source = live
            .data
            .positions(&input.source, 500)
            .await
            .map_err(|e| match e {
                PolymarketError::Invalid { rule, .. } => PolymarketError::invalid("source", rule),
                other => other,
            })?;
        let mine = live.data.positions(&live.address, 500).await?;
        let mut plan = Vec::new();
        let holdings = |list: &[crate::data_api::DataPosition]| -> Vec<crate::copy::Holding> {
            list.iter()
                .map(|p| crate::copy::Holding {
                    token: p.asset.clone(),
                    shares: p.size,
                    resolved: p.redeemable,
                })
                .collect()
        };
        for (token, diff) in crate::copy::plan(&holdings(&source), &holdings(&mine), scale) {
            let book = livepath::book(live, &token, 1).await?;
            let (side, level) = if diff > Decimal::ZERO {
                (Side::Buy, book["asks"].get(0).cloned())
            } else {
                (Side::Sell, book["bids"].get(0).cloned())
            };
            let Some(level) = level else { continue };
            let price = parse_decimal("price", level["price"].as_str().unwrap_or(""))?;
            let avail = parse_decimal("size", level["size"].as_str().unwrap_or(""))?;
            let mut size = diff.abs().min(avail);
            if side == Side::Buy && price * size > cap {
                size =
                    (cap / price).round_dp_with_strategy(2, rust_decimal::RoundingStrategy::ToZero);
            }
            if size <= Decimal::ZERO {
                continue;
            }
            plan.push((token, side, price, size.normalize()));
        }
        let mut results = Vec::new();
        let execute = input.execute_live && !input.dry_run;
        if execute {
            for (token, side, price, size) in &plan {
                let order = LiveOrder {
                    client_order_id: format!("copy-{}-{token}-{}", input.source, audit.at_ms),
                    token_id: token.clone(),
                    side: *side,
                    price: *price,
                    size: *size,
                    order_type: OrderType::Fak,
                    tick: None,
                    neg_risk: None,
                };
                results.push(
                    match livepath::place(live, ctx, order, &audit, live.pnl_equity()).await {
                        Ok((o, _)) => json!({ "token_id": token, "order": o }),
                        Err(err) => json!({ "token_id": token, "refused": err.to_string() }),
                    },
                );
            }
        }
        let planned: Vec<Value> = plan
            .iter()
            .map(|(t, s, p, z)| json!({"token_id": t, "side": s, "price": p, "size": z}))
            .collect();
        Ok(livepath::answer(
            format!(
                "copy {} x{}: {} order(s) planned, {}",
                input.source,
                scale,
                planned.len(),
                if execute {
                    "placed on Polymarket"
                } else {
                    "not placed (plan only; pass execute_live=true to place them)"
                }
            ),
            json!({ "source": input.source, "scale": scale, "planned": planned, "executed": execute, "results": results }),
        ))
    }

    async fn live_risk_status(&self, live: &Live, ctx: &ToolCtx) -> Result<ToolOutput> {
        let eq = live.pnl_equity().await?;
        let (risk, total) = livepath::risk_status(ctx, eq).await?;
        let loss = risk.daily_loss(eq);
        Ok(livepath::answer(
            format!(
                "kill switch {}; open buy exposure {total} / {}; daily loss {loss} / {}; max order {}",
                if risk.kill_switch { "ON" } else { "off" },
                risk.limits.max_total_exposure,
                risk.limits.daily_loss_limit,
                risk.limits.max_order_notional
            ),
            json!({ "limits": risk.limits, "kill_switch": risk.kill_switch, "total_exposure": total,
                    "pnl_now": eq, "pnl_day_start": risk.day_start_equity, "daily_loss": loss }),
        ))
    }

    async fn live_set_risk(
        &self,
        live: &Live,
        input: RiskInput,
        ctx: &ToolCtx,
        audit: AuditInfo,
    ) -> Result<ToolOutput> {
        let pool = ctx.store.pool();
        let eq = live.pnl_equity().await?;
        let mut risk = load_risk(pool, LIVE_RISK_ID, audit.at_ms, eq).await?;
        for (field, v, slot) in [
            (
                "max_order_notional",
                &input.max_order_notional,
                &mut risk.limits.max_order_notional,
            ),
            (
                "max_market_exposure",
                &input.max_market_exposure,
                &mut risk.limits.max_market_exposure,
            ),
            (
                "max_total_exposure",
                &input.max_total_exposure,
                &mut risk.limits.max_total_exposure,
            ),
            (
                "daily_loss_limit",
                &input.daily_loss_limit,
                &mut risk.limits.daily_loss_limit,
            ),
        ] {
            if let Some(t) = v {
                let d = parse_decimal(field, t)?;
                if d < Decimal::ZERO {
                    return Err(PolymarketError::invalid(field, "must not be negative"));
                }
                *slot = d;
            }
        }
        let mut cancelled = Value::Null;
        if let Some(k) = input.kill_switch {
            risk.kill_switch = k;
            if k {
                cancelled = livepath::cancel(live, ctx, &[], None, true, &audit).await?;
            }
        }
        save_risk(pool, LIVE_RISK_ID, &risk, audit.at_ms).await?;
        Ok(livepath::answer(
            format!(
                "risk limits saved; kill switch {}",
                if risk.kill_switch { "ON" } else { "off" }
            ),
            json!({ "limits": risk.limits, "kill_switch": risk.kill_switch, "cancelled": cancelled }),
        ))
    }
}

// ---------------------------------------------------------------- streamed books, live arbitrage, holders

fn top_of(book: Option<&L2Book>) -> (Option<Level>, Option<Level>) {
    book.map(|b| (b.best_bid(), b.best_ask()))
        .unwrap_or((None, None))
}

/// A streamed book in the shape of [`livepath::book`], plus its source and age.
fn stream_book_json(book: &L2Book, depth: usize, age_ms: u64) -> Value {
    let (bids, asks) = book.levels(depth);
    let (bb, ba) = (bids.first().map(|l| l.price), asks.first().map(|l| l.price));
    json!({
        "venue": livepath::LIVE_VENUE, "token_id": book.asset_id, "market": book.market,
        "bids": bids, "asks": asks,
        "mid": bb.zip(ba).map(|(b, a)| (b + a) / Decimal::TWO), "spread": bb.zip(ba).map(|(b, a)| a - b),
        "timestamp": book.timestamp_ms.to_string(), "hash": book.hash,
        "tick_size": book.tick.map(|t| t.as_str()), "last_trade_price": book.last_trade,
        "book_source": "stream", "age_ms": age_ms,
    })
}

impl PolymarketBundle {
    /// One token's book: from the stream when subscribed, in sync and at
    /// most `max_age_ms` old; else a REST snapshot saying why.
    async fn live_book(
        &self,
        live: &Live,
        token: &str,
        depth: usize,
        max_age_ms: Option<u64>,
    ) -> Result<Value> {
        let mut miss = None;
        if let Some((cache, _)) = &self.books {
            let max_age = max_age_ms.map_or(cache.max_age(), Duration::from_millis);
            match cache.lookup(token, max_age) {
                Lookup::Fresh { book, age_ms } => {
                    return Ok(stream_book_json(&book, depth, age_ms));
                }
                Lookup::Miss { reason, age_ms } => miss = Some((reason, age_ms)),
            }
        }
        let mut v = livepath::book(live, token, depth).await?;
        v["book_source"] = json!("rest");
        if let Some((reason, age_ms)) = miss {
            v["stream_miss"] = json!(reason);
            v["stream_age_ms"] = json!(age_ms);
        }
        Ok(v)
    }

    async fn live_stream(&self, live: &Live, input: StreamInput) -> Result<ToolOutput> {
        let (cache, _) = self
            .books
            .as_ref()
            .ok_or_else(|| PolymarketError::Config("no book stream configured".into()))?;
        let mut add = input.subscribe.clone();
        for m in &input.markets {
            let gm = live.gamma.market(m).await.map_err(|e| match e {
                PolymarketError::NotFound(msg) => PolymarketError::invalid("markets", msg),
                other => other,
            })?;
            add.extend(gm.clob_token_ids.iter().cloned());
        }
        let subscribed = cache.update(&add, &input.unsubscribe)?;
        let status = cache.status();
        let lines: Vec<String> = status
            .tokens
            .iter()
            .map(|t| {
                format!(
                    "- {} {}{}",
                    t.token_id,
                    if t.synced {
                        "in sync"
                    } else {
                        "awaiting snapshot"
                    },
                    t.age_ms
                        .map(|a| format!(", last update {a} ms ago"))
                        .unwrap_or_default()
                )
            })
            .collect();
        Ok(livepath::answer(
            format!(
                "streaming {} token(s) over one market-channel connection ({}); stale after {} ms\n{}",
                subscribed.len(),
                if status.stats.connected {
                    "connected"
                } else {
                    "connecting"
                },
                cache.max_age().as_millis(),
                lines.join("\n")
            ),
            json!({ "subscribed": subscribed, "stream": status,
                    "max_age_ms": u64::try_from(cache.max_age().as_millis()).unwrap_or(u64::MAX) }),
        ))
    }

    /// Top of book for `tokens`: streamed books where fresh, the rest from
    /// REST `POST /books` in batches. Returns the tops and how many came
    /// from each source.
    async fn live_tops(
        &self,
        tokens: &[String],
    ) -> Result<(
        HashMap<String, (Option<Level>, Option<Level>)>,
        usize,
        usize,
    )> {
        let Some((cache, public)) = &self.books else {
            return Err(PolymarketError::Config("no live book source".into()));
        };
        let mut tops = HashMap::new();
        let mut need = Vec::new();
        for t in tokens {
            match cache.lookup(t, cache.max_age()) {
                Lookup::Fresh { book, .. } => {
                    tops.insert(t.clone(), top_of(Some(&book)));
                }
                Lookup::Miss { .. } => need.push(t.clone()),
            }
        }
        let from_stream = tops.len();
        let mut set = BookSet::new();
        for msg in public.books(&need).await? {
            set.apply_book(&msg)?;
        }
        for t in &need {
            tops.insert(t.clone(), top_of(set.get(t)));
        }
        Ok((tops, from_stream, need.len()))
    }

    async fn live_arb(&self, live: &Live, input: ArbInput, now_ms: i64) -> Result<ToolOutput> {
        let fee_override = arb_fee_override(&input)?;
        let mut params = ArbParams {
            fees: arb::FeeBook::flat(fee_override.unwrap_or(crate::fees::FeeSchedule::ZERO)),
            min_edge: dec_arg("min_edge", input.min_edge.as_ref(), Decimal::new(1, 4))?,
        };
        let limit = input.limit.unwrap_or(100).clamp(1, MAX_ARB_EVENTS);
        let events = live
            .gamma
            .events_paged(Some(false), limit, GAMMA_PAGE)
            .await?;
        // (event slug, neg-risk event, market, yes token, no token)
        let mut markets = Vec::new();
        for e in &events {
            for m in e.markets.iter().filter(|m| !m.closed) {
                let yes = m
                    .token_for("Yes")
                    .or(m.clob_token_ids.first().map(String::as_str));
                let no = m
                    .token_for("No")
                    .or(m.clob_token_ids.get(1).map(String::as_str));
                if let (Some(y), Some(n)) = (yes, no)
                    && m.clob_token_ids.len() == 2
                {
                    markets.push((e, m, y.to_string(), n.to_string()));
                }
            }
        }
        let tokens: Vec<String> = markets
            .iter()
            .flat_map(|(_, _, y, n)| [y.clone(), n.clone()])
            .collect();
        let (tops, from_stream, from_rest) = self.live_tops(&tokens).await?;
        let quote = |m: &crate::gamma::GammaMarket, y: &str, n: &str| {
            let (yes_bid, yes_ask) = tops.get(y).cloned().unwrap_or((None, None));
            let (no_bid, no_ask) = tops.get(n).cloned().unwrap_or((None, None));
            BinaryQuote {
                market: m.condition_id.clone(),
                label: if m.question.is_empty() {
                    m.slug.clone()
                } else {
                    m.question.clone()
                },
                yes_bid,
                yes_ask,
                no_bid,
                no_ask,
            }
        };
        let binaries: Vec<BinaryQuote> =
            markets.iter().map(|(_, m, y, n)| quote(m, y, n)).collect();
        let mut neg: BTreeMap<String, NegRiskEvent> = BTreeMap::new();
        for (e, m, y, n) in markets.iter().filter(|(e, ..)| e.neg_risk) {
            neg.entry(e.slug.clone())
                .or_insert_with(|| NegRiskEvent {
                    event: e.slug.clone(),
                    outcomes: Vec::new(),
                    augmented: e.neg_risk_augmented,
                })
                .outcomes
                .push(quote(m, y, n));
        }
        let neg: Vec<NegRiskEvent> = neg.into_values().collect();
        let mut found = arb::scan(&binaries, &neg, &params);
        let mut fee_sources = 0usize;
        if fee_override.is_none() && !found.is_empty() {
            // Fees only lower an edge, so the fee-free scan finds every
            // candidate; read the schedules of their markets and scan again.
            let clob = live.clob().await?;
            let mut ids: Vec<String> = found
                .iter()
                .flat_map(|o| o.legs.iter().map(|l| l.market.clone()))
                .collect();
            ids.sort();
            ids.dedup();
            for id in ids {
                let (schedule, _) =
                    crate::fees::venue_schedule(&clob, &self.fee_cache, &id, now_ms).await?;
                params.fees.per_market.insert(id, schedule);
                fee_sources += 1;
            }
            found = arb::scan(&binaries, &neg, &params);
        }
        let skipped = skipped_json(&neg);
        let lines: Vec<String> = found
            .iter()
            .map(|o| {
                format!(
                    "- {} {}: edge {} per set after fees x {} = {} pUSD; {}",
                    o.kind, o.id, o.edge_per_set, o.size, o.expected_profit, o.action
                )
            })
            .collect();
        Ok(livepath::answer(
            format!(
                "scanned {} markets in {} events ({} neg-risk, {} skipped as incomplete sets): {} opportunities net of taker fees ({}); books: {from_stream} streamed, {from_rest} from REST /books\n{}",
                binaries.len(),
                events.len(),
                neg.len(),
                skipped.len(),
                found.len(),
                if fee_override.is_some() {
                    "fee schedule given in the call".to_string()
                } else {
                    format!("{fee_sources} market fee schedules read from GET /clob-markets")
                },
                lines.join("\n")
            ),
            json!({ "events_fetched": events.len(), "markets_scanned": binaries.len(), "events_scanned": neg.len(),
                    "skipped_events": skipped, "fee_schedules_read": fee_sources,
                    "books": { "stream": from_stream, "rest": from_rest }, "opportunities": found }),
        ))
    }

    async fn live_holders(&self, live: &Live, input: HoldersInput) -> Result<ToolOutput> {
        let limit = input.limit.unwrap_or(10).clamp(1, 20);
        let m = live
            .gamma
            .market(&input.market)
            .await
            .map_err(|e| match e {
                PolymarketError::NotFound(msg) => PolymarketError::invalid("market", msg),
                other => other,
            })?;
        let groups = live.data.holders(&m.condition_id, limit).await?;
        let mut tokens = Vec::new();
        let mut lines = Vec::new();
        for g in groups {
            let outcome = m
                .clob_token_ids
                .iter()
                .position(|t| *t == g.token)
                .or_else(|| {
                    g.holders
                        .first()
                        .and_then(|h| usize::try_from(h.outcome_index).ok())
                })
                .and_then(|i| m.outcomes.get(i))
                .cloned()
                .unwrap_or_default();
            let mut holders = g.holders;
            holders.sort_by_key(|h| std::cmp::Reverse(h.amount));
            holders.truncate(limit as usize);
            lines.push(format!(
                "{outcome} ({}): {}",
                g.token,
                holders
                    .iter()
                    .map(|h| format!(
                        "{} {}",
                        if h.name.is_empty() {
                            &h.proxy_wallet
                        } else {
                            &h.name
                        },
                        h.amount
                    ))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            tokens.push(json!({ "token_id": g.token, "outcome": outcome, "holders": holders }));
        }
        Ok(livepath::answer(
            format!("{} ({})\n{}", m.question, m.condition_id, lines.join("\n")),
            json!({ "market": m.condition_id, "question": m.question, "tokens": tokens }),
        ))
    }

    async fn holders(&self, input: HoldersInput, ctx: &ToolCtx) -> Result<ToolOutput> {
        let limit = input.limit.unwrap_or(10).clamp(1, 20) as usize;
        let guard = self.engine(ctx).await?;
        let engine = guard
            .as_ref()
            .ok_or_else(|| PolymarketError::Config("not loaded".into()))?;
        let (m, _) = find_market(engine, &input.market)?;
        let mut tokens = Vec::new();
        let mut lines = Vec::new();
        for (index, (outcome, token)) in [(Outcome::Yes, &m.yes_token), (Outcome::No, &m.no_token)]
            .into_iter()
            .enumerate()
        {
            let mut holders: Vec<(&String, Decimal)> = engine
                .accounts()
                .iter()
                .filter_map(|(name, a)| {
                    a.positions
                        .get(token.as_str())
                        .map(|p| (name, p.shares))
                        .filter(|(_, s)| *s > Decimal::ZERO)
                })
                .collect();
            holders.sort_by_key(|h| std::cmp::Reverse(h.1));
            holders.truncate(limit);
            lines.push(format!(
                "{} ({token}): {}",
                outcome.as_str(),
                holders
                    .iter()
                    .map(|(n, s)| format!("{n} {s}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            tokens.push(json!({ "token_id": token, "outcome": outcome, "holders": holders.iter().map(|(n, s)| json!({
                "proxy_wallet": n, "name": n, "amount": s, "outcome_index": index })).collect::<Vec<_>>() }));
        }
        Ok(ToolOutput::new(
            format!(
                "venue: {VENUE}\n{} ({})\n{}",
                m.question,
                m.condition_id,
                lines.join("\n")
            ),
            json!({ "venue": VENUE, "market": m.condition_id, "question": m.question, "tokens": tokens }),
        ))
    }
}
