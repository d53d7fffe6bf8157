//! Arbitrage scan, market-making quotes and the ensemble signal.

use std::sync::Arc;

use nt_mcp_core::ToolError;
use nt_mcp_core::bundle::{ToolCtx, ToolOutput};

use crate::PolymarketBundle;
use crate::inputs::*;

/// `polymarket_find_arbitrage`.
pub(crate) async fn find_arbitrage(
    b: Arc<PolymarketBundle>,
    input: ArbInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    Ok(b.venue().find_arbitrage(input, &ctx).await?)
}

/// `polymarket_quote_market`.
pub(crate) async fn quote_market(
    b: Arc<PolymarketBundle>,
    input: QuoteInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    Ok(b.venue().quote_market(input, &ctx).await?)
}

/// `polymarket_ensemble_signal`.
pub(crate) async fn ensemble_signal(
    b: Arc<PolymarketBundle>,
    input: EnsembleInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    Ok(b.venue().ensemble_signal(input, &ctx).await?)
}
