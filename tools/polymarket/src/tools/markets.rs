//! Market data: markets, books, history, holders, book streaming.

use std::sync::Arc;

use nt_mcp_core::ToolError;
use nt_mcp_core::bundle::{ToolCtx, ToolOutput};

use crate::PolymarketBundle;
use crate::inputs::*;

/// `polymarket_markets`.
pub(crate) async fn markets(
    b: Arc<PolymarketBundle>,
    input: MarketsInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    Ok(b.venue().markets(input, &ctx).await?)
}

/// `polymarket_market`.
pub(crate) async fn market(
    b: Arc<PolymarketBundle>,
    input: MarketInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    Ok(b.venue().market(input, &ctx).await?)
}

/// `polymarket_orderbook`.
pub(crate) async fn orderbook(
    b: Arc<PolymarketBundle>,
    input: OrderbookInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    Ok(b.venue().orderbook(input, &ctx).await?)
}

/// `polymarket_price_history`.
pub(crate) async fn price_history(
    b: Arc<PolymarketBundle>,
    input: HistoryInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    Ok(b.venue().price_history(input, &ctx).await?)
}

/// `polymarket_stream_books`.
pub(crate) async fn stream_books(
    b: Arc<PolymarketBundle>,
    input: StreamInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    Ok(b.venue().stream_books(input, &ctx).await?)
}

/// `polymarket_holders`.
pub(crate) async fn holders(
    b: Arc<PolymarketBundle>,
    input: HoldersInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    Ok(b.venue().holders(input, &ctx).await?)
}
