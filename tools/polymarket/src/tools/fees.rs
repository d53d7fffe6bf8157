//! `polymarket_fee_estimate`: a thin handler over [`crate::fees`]. The
//! schedule is the local CLOB's for that market, or on the live venue the
//! market's CLOB V2 fee schedule (`GET /clob-markets/{condition_id}`,
//! cached per market); the builder rates are the call's, or the venue's for
//! the configured builder code.

use schemars::JsonSchema;
use serde::Deserialize;

use crate::PolymarketBundle;
use crate::error::Result;
use crate::fees::Role;
use crate::types::{NumText, Outcome, Side};
use nt_mcp_core::bundle::{ToolCtx, ToolOutput};

/// `polymarket_fee_estimate`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FeeEstimateInput {
    /// Token id (YES or NO token); or give `market` and `outcome` instead.
    #[serde(default)]
    pub token_id: Option<String>,
    /// Market (condition id or slug), with `outcome`.
    #[serde(default)]
    pub market: Option<String>,
    /// YES or NO (with `market`; default YES).
    #[serde(default)]
    pub outcome: Option<Outcome>,
    /// BUY or SELL.
    pub side: Side,
    /// Price per share, strictly between 0 and 1 (`0.57` or `"0.57"`).
    pub price: NumText,
    /// Shares (`100` or `"100"`).
    pub size: NumText,
    /// `taker` (default: the order crosses the book) or `maker` (it rests
    /// and is hit; makers pay no platform fee).
    #[serde(default)]
    pub role: Option<Role>,
    /// Builder taker fee rate in bps (0 to 100) to add, instead of the
    /// configured builder code's rates.
    #[serde(default)]
    pub builder_taker_bps: Option<NumText>,
    /// Builder maker fee rate in bps (0 to 50), with `builder_taker_bps`.
    #[serde(default)]
    pub builder_maker_bps: Option<NumText>,
}

/// `polymarket_fee_estimate`.
pub(crate) async fn fee_estimate(
    b: std::sync::Arc<PolymarketBundle>,
    input: FeeEstimateInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, nt_mcp_core::ToolError> {
    Ok(b.venue().fee_estimate(input, &ctx).await?)
}
