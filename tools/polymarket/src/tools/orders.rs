//! Orders: build (sign), place, cancel, open orders, copy trading.

use std::sync::Arc;

use nt_mcp_core::ToolError;
use nt_mcp_core::bundle::{ToolCtx, ToolOutput};

use crate::PolymarketBundle;
use crate::inputs::*;

/// `polymarket_build_order`.
pub(crate) async fn build_order(
    b: Arc<PolymarketBundle>,
    input: OrderInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    Ok(b.build_order(input, &ctx).await?)
}

/// `polymarket_place_order`.
pub(crate) async fn place_order(
    b: Arc<PolymarketBundle>,
    input: OrderInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    Ok(b.venue().place_order(input, &ctx).await?)
}

/// `polymarket_cancel_order`.
pub(crate) async fn cancel_order(
    b: Arc<PolymarketBundle>,
    input: CancelInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    Ok(b.venue().cancel_order(input, &ctx).await?)
}

/// `polymarket_open_orders`.
pub(crate) async fn open_orders(
    b: Arc<PolymarketBundle>,
    input: OpenOrdersInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    Ok(b.venue().open_orders(input, &ctx).await?)
}

/// `polymarket_copy_wallet`.
pub(crate) async fn copy_wallet(
    b: Arc<PolymarketBundle>,
    input: CopyInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    Ok(b.venue().copy_wallet(input, &ctx).await?)
}
