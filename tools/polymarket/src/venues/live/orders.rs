//! The live venue: orders, wallet, leaderboard, copy trading and risk limits.

use nt_mcp_core::bundle::{ToolCtx, ToolOutput};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::error::{PolymarketError, Result};
use crate::inputs::*;
use crate::live::{self as livepath, LIVE_RISK_ID, LIVE_VENUE, Live, LiveOrder};
use crate::local_view::*;
use crate::risk_store::{load_risk, save_risk};
use crate::types::{OrderType, Side, parse_decimal};
use crate::venues::LiveVenue;

impl LiveVenue<'_> {
    pub(crate) async fn live_place(
        &self,
        live: &Live,
        mut input: OrderInput,
        ctx: &ToolCtx,
    ) -> Result<ToolOutput> {
        self.resolve_order_token(&mut input, ctx).await?;
        let cid = input
            .client_order_id
            .clone()
            .filter(|c| !c.trim().is_empty())
            .ok_or_else(|| {
                PolymarketError::invalid(
                    "client_order_id",
                    "required: the same id twice places one order",
                )
            })?;
        let order = LiveOrder {
            client_order_id: cid,
            token_id: input.token_id.clone(),
            side: input.side,
            price: parse_decimal("price", &input.price)?,
            size: parse_decimal("size", &input.size)?,
            order_type: input.order_type,
            tick: input
                .tick_size
                .as_deref()
                .map(crate::types::TickSize::parse)
                .transpose()?,
            neg_risk: input.neg_risk,
        };
        let (o, duplicate) = livepath::place(live, ctx, order, live.pnl_equity()).await?;
        Ok(ToolOutput::from_venue(
            LIVE_VENUE,
            format!(
                "{}order {} {} {} @ {}: status {}",
                if duplicate {
                    "duplicate client_order_id, existing "
                } else {
                    ""
                },
                o["order_id"].as_str().unwrap_or("?"),
                o["side"].as_str().unwrap_or(""),
                o["size"].as_str().unwrap_or(""),
                o["price"].as_str().unwrap_or(""),
                o["status"].as_str().unwrap_or("")
            ),
            json!({ "duplicate": duplicate, "order": o }),
        ))
    }

    pub(crate) async fn live_open_orders(
        &self,
        live: &Live,
        input: OpenOrdersInput,
    ) -> Result<ToolOutput> {
        let market = match &input.market {
            Some(m) if m.starts_with("0x") && m.len() == 66 => Some(m.clone()),
            Some(m) => Some(live.gamma.market(m).await?.condition_id),
            None => None,
        };
        let v = live.clob().await?.open_orders(market.as_deref()).await?;
        let orders = match v {
            Value::Array(a) => a,
            other => other
                .get("data")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default(),
        };
        Ok(ToolOutput::from_venue(
            LIVE_VENUE,
            format!("{} open order(s)", orders.len()),
            json!({ "orders": orders }),
        ))
    }

    pub(crate) async fn live_wallet(
        &self,
        live: &Live,
        address: Option<String>,
    ) -> Result<ToolOutput> {
        let address = address
            .filter(|a| !a.trim().is_empty())
            .unwrap_or_else(|| live.address.clone());
        let positions = live.data.positions(&address, 500).await?;
        let activity = live.data.activity(&address, 20).await?;
        let value: Decimal = positions.iter().map(|p| p.current_value).sum();
        let unrealized: Decimal = positions.iter().map(|p| p.cash_pnl).sum();
        let realized: Decimal = positions.iter().map(|p| p.realized_pnl).sum();
        Ok(ToolOutput::from_venue(
            LIVE_VENUE,
            format!(
                "{address}: {} positions worth {value} pUSD, unrealized {unrealized}, realized {realized}; {} recent activities",
                positions.len(),
                activity.len()
            ),
            json!({ "account": address, "positions_value": value, "unrealized_pnl": unrealized,
                    "realized_pnl": realized, "positions": positions, "activity": activity }),
        ))
    }

    pub(crate) async fn live_leaderboard(
        &self,
        live: &Live,
        input: LeaderboardInput,
    ) -> Result<ToolOutput> {
        let rows = live
            .data
            .leaderboard(
                input.time_period.as_deref().unwrap_or("DAY"),
                input.order_by.as_deref().unwrap_or("PNL"),
                input.limit.unwrap_or(25),
            )
            .await?;
        let lines: Vec<String> = rows
            .iter()
            .map(|r| {
                format!(
                    "{}. {} {} pnl {} vol {}",
                    r.rank, r.user_name, r.proxy_wallet, r.pnl, r.vol
                )
            })
            .collect();
        Ok(ToolOutput::from_venue(
            LIVE_VENUE,
            lines.join("\n"),
            json!({ "leaderboard": rows }),
        ))
    }

    pub(crate) async fn live_copy(
        &self,
        live: &Live,
        input: CopyInput,
        ctx: &ToolCtx,
    ) -> Result<ToolOutput> {
        let scale = parse_decimal("scale", &input.scale)?;
        if scale <= Decimal::ZERO {
            return Err(PolymarketError::invalid("scale", "must be positive"));
        }
        let cap = dec_arg(
            "max_order_notional",
            input.max_order_notional.as_ref(),
            Decimal::from(250),
        )?;
        if input.source.trim().eq_ignore_ascii_case(&live.address) {
            return Err(PolymarketError::invalid(
                "source",
                "cannot copy the account into itself",
            ));
        }
        let source = live
            .data
            .positions(&input.source, 500)
            .await
            .map_err(|e| match e {
                PolymarketError::Invalid { rule, .. } => PolymarketError::invalid("source", rule),
                other => other,
            })?;
        let mine = live.data.positions(&live.address, 500).await?;
        let mut plan = Vec::new();
        let holdings = |list: &[crate::data_api::DataPosition]| -> Vec<crate::copy::Holding> {
            list.iter()
                .map(|p| crate::copy::Holding {
                    token: p.asset.clone(),
                    shares: p.size,
                    resolved: p.redeemable,
                })
                .collect()
        };
        for (token, diff) in crate::copy::plan(&holdings(&source), &holdings(&mine), scale) {
            let book = livepath::book(live, &token, 1).await?;
            let (side, level) = if diff > Decimal::ZERO {
                (Side::Buy, book["asks"].get(0).cloned())
            } else {
                (Side::Sell, book["bids"].get(0).cloned())
            };
            let Some(level) = level else { continue };
            let price = parse_decimal("price", level["price"].as_str().unwrap_or(""))?;
            let avail = parse_decimal("size", level["size"].as_str().unwrap_or(""))?;
            let mut size = diff.abs().min(avail);
            if side == Side::Buy && price * size > cap {
                size =
                    (cap / price).round_dp_with_strategy(2, rust_decimal::RoundingStrategy::ToZero);
            }
            if size <= Decimal::ZERO {
                continue;
            }
            plan.push((token, side, price, size.normalize()));
        }
        let mut results = Vec::new();
        let execute = input.execute_live && !input.dry_run;
        if execute {
            for (token, side, price, size) in &plan {
                let order = LiveOrder {
                    client_order_id: format!(
                        "copy-{}-{token}-{}",
                        input.source,
                        ctx.clock.now_ms()
                    ),
                    token_id: token.clone(),
                    side: *side,
                    price: *price,
                    size: *size,
                    order_type: OrderType::Fak,
                    tick: None,
                    neg_risk: None,
                };
                results.push(
                    match livepath::place(live, ctx, order, live.pnl_equity()).await {
                        Ok((o, _)) => json!({ "token_id": token, "order": o }),
                        Err(err) => json!({ "token_id": token, "refused": err.to_string() }),
                    },
                );
            }
        }
        let planned: Vec<Value> = plan
            .iter()
            .map(|(t, s, p, z)| json!({"token_id": t, "side": s, "price": p, "size": z}))
            .collect();
        Ok(ToolOutput::from_venue(
            LIVE_VENUE,
            format!(
                "copy {} x{}: {} order(s) planned, {}",
                input.source,
                scale,
                planned.len(),
                if execute {
                    "placed on Polymarket"
                } else {
                    "not placed (plan only; pass execute_live=true to place them)"
                }
            ),
            json!({ "source": input.source, "scale": scale, "planned": planned, "executed": execute, "results": results }),
        ))
    }

    pub(crate) async fn live_risk_status(&self, live: &Live, ctx: &ToolCtx) -> Result<ToolOutput> {
        let eq = live.pnl_equity().await?;
        let (risk, total) = livepath::risk_status(ctx, eq).await?;
        let loss = risk.daily_loss(eq);
        Ok(ToolOutput::from_venue(
            LIVE_VENUE,
            format!(
                "kill switch {}; open buy exposure {total} / {}; daily loss {loss} / {}; max order {}",
                if risk.kill_switch { "ON" } else { "off" },
                risk.limits.max_total_exposure,
                risk.limits.daily_loss_limit,
                risk.limits.max_order_notional
            ),
            json!({ "limits": risk.limits, "kill_switch": risk.kill_switch, "total_exposure": total,
                    "pnl_now": eq, "pnl_day_start": risk.day_start_equity, "daily_loss": loss }),
        ))
    }

    pub(crate) async fn live_set_risk(
        &self,
        live: &Live,
        input: RiskInput,
        ctx: &ToolCtx,
    ) -> Result<ToolOutput> {
        let pool = ctx.store.pool();
        let eq = live.pnl_equity().await?;
        let mut risk = load_risk(pool, LIVE_RISK_ID, ctx.clock.now_ms(), eq).await?;
        for (field, v, slot) in [
            (
                "max_order_notional",
                &input.max_order_notional,
                &mut risk.limits.max_order_notional,
            ),
            (
                "max_market_exposure",
                &input.max_market_exposure,
                &mut risk.limits.max_market_exposure,
            ),
            (
                "max_total_exposure",
                &input.max_total_exposure,
                &mut risk.limits.max_total_exposure,
            ),
            (
                "daily_loss_limit",
                &input.daily_loss_limit,
                &mut risk.limits.daily_loss_limit,
            ),
        ] {
            if let Some(t) = v {
                let d = parse_decimal(field, t)?;
                if d < Decimal::ZERO {
                    return Err(PolymarketError::invalid(field, "must not be negative"));
                }
                *slot = d;
            }
        }
        let mut cancelled = Value::Null;
        if let Some(k) = input.kill_switch {
            risk.kill_switch = k;
            if k {
                cancelled = livepath::cancel(live, ctx, &[], None, true).await?;
            }
        }
        save_risk(pool, LIVE_RISK_ID, &risk, ctx.clock.now_ms()).await?;
        Ok(ToolOutput::from_venue(
            LIVE_VENUE,
            format!(
                "risk limits saved; kill switch {}",
                if risk.kill_switch { "ON" } else { "off" }
            ),
            json!({ "limits": risk.limits, "kill_switch": risk.kill_switch, "cancelled": cancelled }),
        ))
    }

    /// Cancels live orders by id, in a market, or all.
    pub(crate) async fn live_cancel(
        &self,
        live: &Live,
        input: CancelInput,
        ctx: &ToolCtx,
    ) -> Result<ToolOutput> {
        let v = livepath::cancel(
            live,
            ctx,
            &input.order_ids,
            input.market.as_deref(),
            input.all,
        )
        .await?;
        Ok(ToolOutput::from_venue(
            LIVE_VENUE,
            format!(
                "cancelled {} order(s)",
                v["canceled"].as_array().map_or(0, Vec::len)
            ),
            v,
        ))
    }
}
