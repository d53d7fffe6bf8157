//! Account tools: cash and balances, positions and executions.

use std::sync::Arc;

use nt_mcp_core::{Route, ToolCtx, ToolError, ToolOutput, route};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use super::{list_text, out};
use crate::BrokersBundle;

/// Which broker to use; the paper broker when omitted.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct BrokerInput {
    /// Broker name from broker_list (default `paper`).
    #[serde(default)]
    pub(crate) broker: Option<String>,
}

/// The account routes.
pub(crate) fn routes() -> Vec<Route<BrokersBundle>> {
    vec![
        route(
            "broker_account",
            "Account id and cash, equity and buying power per currency at a broker.",
            account,
        ),
        route(
            "broker_positions",
            "Open positions (negative quantity when short) with average price and unrealized P&L.",
            positions,
        ),
        route(
            "broker_executions",
            "Executions (fills) at a broker, newest first.",
            executions,
        ),
    ]
}

async fn account(
    b: Arc<BrokersBundle>,
    a: BrokerInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    let b = b.pick(&ctx, a.broker.as_deref()).await?;
    let account = b.account().await?;
    let cash: Vec<String> = account
        .balances
        .iter()
        .map(|x| format!("{} {}", x.cash, x.currency))
        .collect();
    Ok(out(
        b.as_ref(),
        format!("account {}: cash {}", account.id, cash.join(", ")),
        json!({"account": account}),
    ))
}

async fn positions(
    b: Arc<BrokersBundle>,
    a: BrokerInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    let b = b.pick(&ctx, a.broker.as_deref()).await?;
    let positions = b.positions().await?;
    Ok(out(
        b.as_ref(),
        list_text(
            format!("{} open positions", positions.len()),
            positions.iter().map(|p| {
                format!(
                    "{} {} @ {} avg {}{}",
                    p.symbol,
                    p.qty,
                    p.avg_price,
                    p.currency,
                    p.unrealized_pnl
                        .map(|u| format!(", unrealized {u}"))
                        .unwrap_or_default()
                )
            }),
        ),
        json!({"positions": positions}),
    ))
}

async fn executions(
    b: Arc<BrokersBundle>,
    a: BrokerInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    let b = b.pick(&ctx, a.broker.as_deref()).await?;
    let fills = b.executions().await?;
    Ok(out(
        b.as_ref(),
        list_text(
            format!("{} executions, newest first", fills.len()),
            fills.iter().map(|f| {
                format!(
                    "{} {} {} {} at {} {} (order {}, commission {}) {}",
                    f.id,
                    f.side.as_str(),
                    f.qty,
                    f.symbol,
                    f.price,
                    f.currency,
                    f.order_id,
                    f.commission,
                    crate::dates::format_iso_ms(f.at_ms)
                )
            }),
        ),
        json!({"executions": fills}),
    ))
}
