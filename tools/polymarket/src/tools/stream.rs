//! `polymarket_stream_orders`: the CLOB user channel ([`crate::user_ws`])
//! on the live venue. Starts (or keeps) one authenticated stream for the
//! given markets, or for every market with an open live order; stops it;
//! and reports its counters, the latest order events, and the live orders
//! and fills as the stream has recorded them. The local CLOB has no user
//! channel (its orders and fills are current already), so there the tool
//! refuses.

use schemars::JsonSchema;
use serde::Deserialize;

use crate::PolymarketBundle;
use crate::error::Result;
use nt_mcp_core::bundle::{ToolCtx, ToolOutput};

/// What `polymarket_stream_orders` does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StreamOrdersAction {
    /// Start the stream (or keep the running one) and report (default).
    #[default]
    Start,
    /// Stop the stream and report what it did.
    Stop,
    /// Report only.
    Status,
}

/// `polymarket_stream_orders`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StreamOrdersInput {
    /// start (default), stop or status.
    #[serde(default)]
    pub action: StreamOrdersAction,
    /// start only: markets (condition id or slug) to receive events for;
    /// default every market with an open live order.
    #[serde(default)]
    pub markets: Vec<String>,
    /// Live orders and fills to list (default 20, at most 200).
    #[serde(default)]
    pub limit: Option<u32>,
}

/// `polymarket_stream_orders`.
pub(crate) async fn stream_orders(
    b: std::sync::Arc<PolymarketBundle>,
    input: StreamOrdersInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, nt_mcp_core::ToolError> {
    Ok(b.venue().stream_orders(input, &ctx).await?)
}
