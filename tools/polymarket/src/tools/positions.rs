//! Positions, wallet, leaderboard, analytics and settlement.

use std::sync::Arc;

use nt_mcp_core::bundle::{ToolCtx, ToolOutput};
use nt_mcp_core::{NoArgs, ToolError};

use crate::PolymarketBundle;
use crate::inputs::*;

/// `polymarket_positions`.
pub(crate) async fn positions(
    b: Arc<PolymarketBundle>,
    _input: NoArgs,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    Ok(b.venue().positions(&ctx).await?)
}

/// `polymarket_settle`.
pub(crate) async fn settle(
    b: Arc<PolymarketBundle>,
    input: SettleInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    Ok(b.venue().settle(input, &ctx).await?)
}

/// `polymarket_analytics`.
pub(crate) async fn analytics(
    b: Arc<PolymarketBundle>,
    _input: NoArgs,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    Ok(b.venue().analytics(&ctx).await?)
}

/// `polymarket_wallet`.
pub(crate) async fn wallet(
    b: Arc<PolymarketBundle>,
    input: WalletInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    Ok(b.venue().wallet(input, &ctx).await?)
}

/// `polymarket_leaderboard`.
pub(crate) async fn leaderboard(
    b: Arc<PolymarketBundle>,
    input: LeaderboardInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    Ok(b.venue().leaderboard(input, &ctx).await?)
}
