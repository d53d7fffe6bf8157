//! The tools' typed inputs (their JSON Schemas are generated from these).

pub use crate::tools::collateral::{CollateralAction, CollateralInput};
pub use crate::tools::fees::FeeEstimateInput;
pub use crate::tools::stream::{StreamOrdersAction, StreamOrdersInput};

use schemars::JsonSchema;
use serde::Deserialize;

use crate::ensemble::Forecast;
use crate::types::{NumText, OrderType, Outcome, Side};

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
pub(crate) const MAX_ARB_EVENTS: u32 = 2000;
/// Events per Gamma request.
pub(crate) const GAMMA_PAGE: u32 = 100;

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
