//! `polymarket_collateral`: pUSD, the CLOB V2 collateral. On the live
//! venue, the balance and exchange allowances the CLOB sees
//! (`GET /balance-allowance`, asset types COLLATERAL and CONDITIONAL, for
//! the configured signature type), and which approvals are missing; on the
//! local CLOB, the paper account's pUSD. In both, the calldata to approve,
//! wrap USDC.e into pUSD, unwrap it, and split / merge / redeem through the
//! V2 collateral adapters, returned for review (never sent from here).

use schemars::JsonSchema;
use serde::Deserialize;

use crate::PolymarketBundle;
use crate::error::Result;
use crate::types::NumText;
use nt_mcp_core::bundle::{ToolCtx, ToolOutput};

/// What `polymarket_collateral` does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CollateralAction {
    /// pUSD balance and exchange allowances (default).
    #[default]
    Status,
    /// Every approval a V2 trading wallet needs, as calldata.
    Approvals,
    /// Wrap `amount` USDC.e into pUSD (CollateralOnramp).
    Wrap,
    /// Unwrap `amount` pUSD into USDC.e (CollateralOfframp).
    Unwrap,
    /// Split `amount` pUSD into YES + NO of `market`.
    Split,
    /// Merge `amount` YES + NO of `market` back into pUSD.
    Merge,
    /// Redeem the winning tokens of resolved `market` for pUSD.
    Redeem,
}

/// `polymarket_collateral`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CollateralInput {
    /// status (default), approvals, wrap, unwrap, split, merge or redeem.
    #[serde(default)]
    pub action: CollateralAction,
    /// pUSD amount for wrap, unwrap, split and merge (`25` or `"25.5"`).
    #[serde(default)]
    pub amount: Option<NumText>,
    /// Market (condition id or slug) for split, merge and redeem.
    #[serde(default)]
    pub market: Option<String>,
    /// status only: also report this outcome token's balance and allowances.
    #[serde(default)]
    pub token_id: Option<String>,
    /// status only, live: re-read the chain first (`/balance-allowance/update`),
    /// as needed after wrapping or approving.
    #[serde(default)]
    pub refresh: bool,
    /// wrap/unwrap only: who receives the tokens (default the funder, else the signer).
    #[serde(default)]
    pub to: Option<String>,
    /// Sign and send the calls as Polygon transactions (EOA wallets only,
    /// live trading on, `POLYGON_RPC_URL` set); default false: calldata
    /// for review.
    #[serde(default)]
    pub send: bool,
}

/// `polymarket_collateral`.
pub(crate) async fn collateral(
    b: std::sync::Arc<PolymarketBundle>,
    input: CollateralInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, nt_mcp_core::ToolError> {
    Ok(b.collateral(input, &ctx).await?)
}
