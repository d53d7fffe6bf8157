//! Risk limits and the kill switch.

use std::sync::Arc;

use nt_mcp_core::bundle::{ToolCtx, ToolOutput};
use nt_mcp_core::{NoArgs, ToolError};

use crate::PolymarketBundle;
use crate::inputs::*;

/// `polymarket_risk_status`.
pub(crate) async fn risk_status(
    b: Arc<PolymarketBundle>,
    _input: NoArgs,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    Ok(b.venue().risk_status(&ctx).await?)
}

/// `polymarket_set_risk_limits`.
pub(crate) async fn set_risk_limits(
    b: Arc<PolymarketBundle>,
    input: RiskInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    Ok(b.venue().set_risk_limits(input, &ctx).await?)
}
