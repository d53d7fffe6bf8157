//! Order tools: place, replace, cancel and list orders through the order
//! desk (idempotency, compliance, audit).

use std::sync::Arc;

use nt_mcp_core::{Route, ToolCtx, ToolError, ToolOutput, route};
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use super::{list_text, order_line, out};
use crate::BrokersBundle;
use crate::broker::OrderChange;
use crate::desk;
use crate::types::{OrderRequest, OrderType, Side, TimeInForce};

/// An order to place (or to check without placing).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct OrderInput {
    /// Your id for this order; the same id twice places one order.
    client_order_id: String,
    /// Symbol.
    symbol: String,
    /// buy, sell, sell_short or buy_to_cover.
    side: Side,
    /// Quantity, positive.
    qty: Decimal,
    /// market (default), limit, stop, stop_limit or trailing_stop.
    #[serde(default)]
    order_type: Option<OrderType>,
    /// Limit price (limit, stop_limit).
    #[serde(default)]
    limit_price: Option<Decimal>,
    /// Stop price (stop, stop_limit).
    #[serde(default)]
    stop_price: Option<Decimal>,
    /// Trailing distance in price (trailing_stop).
    #[serde(default)]
    trail_amount: Option<Decimal>,
    /// Trailing distance in percent (trailing_stop).
    #[serde(default)]
    trail_percent: Option<Decimal>,
    /// day (default), gtc, ioc or fok. A paper DAY order ends at its
    /// market's close: 16:00 New York for US and Canadian equities (13:00
    /// on early-close days), 17:00 New York for currency pairs.
    #[serde(default)]
    time_in_force: TimeInForce,
    /// For a sell larger than the position available (held long at the
    /// broker, less working sell orders) when short sales are not allowed:
    /// sell only what is available instead of being refused (default false).
    #[serde(default)]
    reduce_to_position: bool,
    /// Broker name (default `paper`).
    #[serde(default)]
    pub(crate) broker: Option<String>,
}

impl OrderInput {
    /// The order request the desk takes.
    pub(crate) fn request(&self) -> OrderRequest {
        OrderRequest {
            client_order_id: self.client_order_id.clone(),
            symbol: self.symbol.clone(),
            side: self.side,
            qty: self.qty,
            order_type: self.order_type.unwrap_or(OrderType::Market),
            limit_price: self.limit_price,
            stop_price: self.stop_price,
            trail_amount: self.trail_amount,
            trail_percent: self.trail_percent,
            time_in_force: self.time_in_force,
            reduce_to_position: self.reduce_to_position,
        }
    }
}

/// An order to cancel.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CancelInput {
    /// The venue's order id or your client order id.
    order_id: String,
    /// Broker name (default `paper`).
    #[serde(default)]
    broker: Option<String>,
}

/// A change to a working order.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReplaceInput {
    /// The venue's order id or your client order id.
    order_id: String,
    /// New quantity.
    #[serde(default)]
    qty: Option<Decimal>,
    /// New limit price.
    #[serde(default)]
    limit_price: Option<Decimal>,
    /// New stop price.
    #[serde(default)]
    stop_price: Option<Decimal>,
    /// Broker name (default `paper`).
    #[serde(default)]
    broker: Option<String>,
}

/// Which orders to list.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct OrdersInput {
    /// Only working orders (default false).
    #[serde(default)]
    open_only: bool,
    /// Broker name (default `paper`).
    #[serde(default)]
    broker: Option<String>,
}

/// The order routes.
pub(crate) fn routes() -> Vec<Route<BrokersBundle>> {
    vec![
        route(
            "broker_place_order",
            "Places an order (market, limit, stop, stop_limit, trailing_stop; day/gtc/ioc/fok; buy, sell, sell_short, buy_to_cover) after the account's compliance checks. A sell of more than the position held is a short sale: refused unless the account allows shorts, or reduced to the position with reduce_to_position. The same client_order_id twice places one order.",
            place,
        )
        .trade(),
        route(
            "broker_replace_order",
            "Changes the quantity, limit or stop price of a working order.",
            replace,
        )
        .trade()
        .not_idempotent(),
        route(
            "broker_cancel_order",
            "Cancels a working order by venue id or client order id.",
            cancel,
        )
        .trade(),
        route(
            "broker_orders",
            "Orders at a broker, newest first; open_only for working orders.",
            orders,
        ),
    ]
}

async fn place(
    b: Arc<BrokersBundle>,
    a: OrderInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    let broker = b.pick(&ctx, a.broker.as_deref()).await?;
    let placed = desk::place_with(
        &ctx.store,
        &broker,
        &a.request(),
        ctx.clock.now_ms(),
        b.rules(),
    )
    .await?;
    let o = &placed.order;
    let text = format!(
        "{}order {}{}",
        if placed.new { "" } else { "already placed: " },
        order_line(o),
        placed
            .reduced_from
            .map(|asked| format!(
                "; reduced from {asked} to {} to stay within the position",
                o.qty
            ))
            .unwrap_or_default()
    );
    Ok(out(
        broker.as_ref(),
        text,
        json!({"order": o, "new": placed.new, "checks": placed.checks, "reduced_from": placed.reduced_from}),
    ))
}

async fn replace(
    b: Arc<BrokersBundle>,
    a: ReplaceInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    let b = b.pick(&ctx, a.broker.as_deref()).await?;
    let change = OrderChange {
        qty: a.qty,
        limit_price: a.limit_price,
        stop_price: a.stop_price,
    };
    let o = b.replace_order(a.order_id.trim(), &change).await?;
    desk::record_replace(
        &ctx.store,
        b.as_ref(),
        a.order_id.trim(),
        &change,
        &o,
        ctx.clock.now_ms(),
    )
    .await?;
    Ok(out(
        b.as_ref(),
        format!("order {} replaced: {}", o.id, o.status.as_str()),
        json!({"order": o}),
    ))
}

async fn cancel(
    b: Arc<BrokersBundle>,
    a: CancelInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    let b = b.pick(&ctx, a.broker.as_deref()).await?;
    let o = b.cancel_order(a.order_id.trim()).await?;
    desk::record_cancel(&ctx.store, b.as_ref(), &o, ctx.clock.now_ms()).await?;
    Ok(out(
        b.as_ref(),
        format!("order {} {}", o.id, o.status.as_str()),
        json!({"order": o}),
    ))
}

async fn orders(
    b: Arc<BrokersBundle>,
    a: OrdersInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    let b = b.pick(&ctx, a.broker.as_deref()).await?;
    let orders = b.orders(a.open_only).await?;
    Ok(out(
        b.as_ref(),
        list_text(
            format!("{} orders, newest first", orders.len()),
            orders.iter().map(order_line),
        ),
        json!({"orders": orders}),
    ))
}
