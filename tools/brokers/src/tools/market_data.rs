//! Market data tools: the broker list, quotes, bars and the paper market's
//! pinned prices.

use std::sync::Arc;

use nt_mcp_core::bundle::NoArgs;
use nt_mcp_core::{Route, ToolCtx, ToolError, ToolOutput, route};
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use super::{candles_text, mode_str, out};
use crate::BrokersBundle;
use crate::broker::{Broker, Granularity};
use crate::paper::PAPER;

/// A symbol's quote.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct QuoteInput {
    /// Symbol (`SHOP.TO`, `AAPL`, `EUR_USD`).
    symbol: String,
    /// Broker name (default `paper`).
    #[serde(default)]
    broker: Option<String>,
}

/// A symbol's recent bars.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CandlesInput {
    /// Symbol.
    symbol: String,
    /// Bar size: 1m, 5m, 15m, 1h, 1d (default 1d).
    #[serde(default)]
    granularity: Granularity,
    /// Number of bars, 1 to 1000 (default 50).
    #[serde(default)]
    count: Option<u32>,
    /// Broker name (default `paper`).
    #[serde(default)]
    broker: Option<String>,
}

/// A paper price to pin or release.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SetPriceInput {
    /// Symbol.
    symbol: String,
    /// Price to pin the paper market at; omit to release it to the simulation.
    #[serde(default)]
    price: Option<Decimal>,
}

/// The market data routes.
pub(crate) fn routes() -> Vec<Route<BrokersBundle>> {
    vec![
        route(
            "broker_list",
            "Lists the configured brokers and whether each is live or paper. The paper broker is always there and is the default.",
            list,
        ),
        route(
            "broker_quote",
            "Current bid, ask and last for a symbol, in the instrument's currency.",
            quote,
        ),
        route(
            "broker_candles",
            "Recent OHLC bars for a symbol, oldest first.",
            candles,
        ),
        route(
            "broker_paper_set_price",
            "Pins the paper market's price of a symbol (or releases it to the simulation); resting paper orders react at once.",
            set_price,
        )
        .writes(),
    ]
}

async fn list(
    b: Arc<BrokersBundle>,
    _input: NoArgs,
    _ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    let mut list = vec![json!({"name": PAPER, "mode": "paper", "default": true})];
    for r in b.real() {
        list.push(json!({"name": r.venue(), "mode": mode_str(r.mode()), "default": false}));
    }
    let names: Vec<String> = list
        .iter()
        .map(|b| {
            format!(
                "{} ({})",
                b["name"].as_str().unwrap_or(""),
                b["mode"].as_str().unwrap_or("")
            )
        })
        .collect();
    Ok(ToolOutput::new(
        format!(
            "venue: paper by default; configured brokers: {}",
            names.join(", ")
        ),
        json!({"venue": PAPER, "brokers": list}),
    ))
}

async fn quote(
    b: Arc<BrokersBundle>,
    a: QuoteInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    let b = b.pick(&ctx, a.broker.as_deref()).await?;
    let q = b.quote(&a.symbol).await?;
    Ok(out(
        b.as_ref(),
        format!(
            "{} bid {} ask {} last {} {}",
            q.symbol, q.bid, q.ask, q.last, q.currency
        ),
        json!({"quote": q}),
    ))
}

async fn candles(
    b: Arc<BrokersBundle>,
    a: CandlesInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    let count = a.count.unwrap_or(50);
    if !(1..=1000).contains(&count) {
        return Err(ToolError::invalid("count", "must be 1 to 1000"));
    }
    let b = b.pick(&ctx, a.broker.as_deref()).await?;
    let candles = b.candles(&a.symbol, a.granularity, count).await?;
    Ok(out(
        b.as_ref(),
        candles_text(&a.symbol.to_ascii_uppercase(), &candles),
        json!({"symbol": a.symbol.to_ascii_uppercase(), "candles": candles}),
    ))
}

async fn set_price(
    b: Arc<BrokersBundle>,
    a: SetPriceInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    let paper = b.paper(&ctx).await?;
    let q = paper.set_mark(&a.symbol, a.price).await?;
    let b: &dyn Broker = paper.as_ref();
    Ok(out(
        b,
        format!(
            "{} now bid {} ask {} ({})",
            q.symbol,
            q.bid,
            q.ask,
            if a.price.is_some() {
                "pinned"
            } else {
                "simulated"
            }
        ),
        json!({"quote": q}),
    ))
}
