//! The local CLOB: place, cancel, open orders, positions and copy trading.

use nt_mcp_core::bundle::{ToolCtx, ToolOutput};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::engine::NewOrder;
use crate::error::{PolymarketError, Result};
use crate::inputs::*;
use crate::local_view::*;
use crate::risk_store::{load_risk, risk_check};
use crate::types::{OrderType, Side, parse_decimal};
use crate::venue::CancelWhich;
use crate::venues::LocalVenue;

impl LocalVenue<'_> {
    pub(crate) async fn place(&self, mut input: OrderInput, ctx: &ToolCtx) -> Result<ToolOutput> {
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
        let price = parse_decimal("price", &input.price)?;
        let size = parse_decimal("size", &input.size)?;
        let pool = ctx.store.pool();
        let eq = {
            let guard = self.engine(ctx).await?;
            guard
                .as_ref()
                .map(|e| equity(e, acct_of(ctx)))
                .unwrap_or_default()
        };
        let risk = load_risk(pool, acct_of(ctx), ctx.clock.now_ms(), eq).await?;
        let order = NewOrder {
            account: acct_of(ctx).into(),
            token_id: input.token_id.clone(),
            side: input.side,
            price,
            size,
            order_type: input.order_type,
            client_order_id: Some(cid),
        };
        let token = input.token_id.clone();
        let (out, duplicate) = self
            .clob
            .place_checked(ctx, order, |engine| {
                risk_check(&risk, acct_of(ctx), engine, &token, input.side, price, size)
            })
            .await?;
        let o = &out.order;
        let text = format!(
            "{}order {} {} {} @ {}: {} filled, status {}",
            if duplicate {
                "duplicate client_order_id, existing "
            } else {
                ""
            },
            o.order_id,
            o.side,
            o.size,
            o.price,
            o.filled,
            o.status.as_str()
        );
        Ok(ToolOutput::from_venue(
            VENUE,
            text,
            json!({ "duplicate": duplicate, "order": o, "fills": out.fills }),
        ))
    }

    pub(crate) async fn cancel(&self, input: CancelInput, ctx: &ToolCtx) -> Result<ToolOutput> {
        let market_id = match &input.market {
            Some(m) => {
                let guard = self.engine(ctx).await?;
                let engine = guard
                    .as_ref()
                    .ok_or_else(|| PolymarketError::Config("not loaded".into()))?;
                Some(find_market(engine, m)?.0.condition_id.clone())
            }
            None => None,
        };
        let which = if input.all {
            CancelWhich::All
        } else if let Some(m) = &market_id {
            CancelWhich::Market(m)
        } else if !input.order_ids.is_empty() {
            CancelWhich::Ids(&input.order_ids)
        } else {
            return Err(PolymarketError::invalid(
                "order_ids",
                "give order_ids, market, or all=true",
            ));
        };
        let cancelled = self.clob.cancel(ctx, acct_of(ctx), which).await?;
        let ids: Vec<&str> = cancelled.iter().map(|o| o.order_id.as_str()).collect();
        Ok(ToolOutput::from_venue(
            VENUE,
            format!("cancelled {} order(s): {}", ids.len(), ids.join(", ")),
            json!({ "cancelled": cancelled }),
        ))
    }

    pub(crate) async fn open_orders(
        &self,
        input: OpenOrdersInput,
        ctx: &ToolCtx,
    ) -> Result<ToolOutput> {
        let guard = self.engine(ctx).await?;
        let engine = guard
            .as_ref()
            .ok_or_else(|| PolymarketError::Config("not loaded".into()))?;
        let market = match &input.market {
            Some(m) => Some(find_market(engine, m)?.0.condition_id.clone()),
            None => None,
        };
        let orders = engine.open_orders(acct_of(ctx), market.as_deref());
        let lines: Vec<String> = orders
            .iter()
            .map(|o| {
                format!(
                    "- {} {} {} {} @ {} filled {}",
                    o.order_id,
                    o.side,
                    o.outcome.as_str(),
                    o.size,
                    o.price,
                    o.filled
                )
            })
            .collect();
        Ok(ToolOutput::from_venue(
            VENUE,
            format!("{} open order(s)\n{}", orders.len(), lines.join("\n")),
            json!({ "orders": orders }),
        ))
    }

    pub(crate) async fn positions(&self, ctx: &ToolCtx) -> Result<ToolOutput> {
        let guard = self.engine(ctx).await?;
        let engine = guard
            .as_ref()
            .ok_or_else(|| PolymarketError::Config("not loaded".into()))?;
        let view = account_view(engine, acct_of(ctx));
        Ok(ToolOutput::from_venue(VENUE, account_text(&view), view))
    }

    pub(crate) async fn copy(&self, input: CopyInput, ctx: &ToolCtx) -> Result<ToolOutput> {
        let scale = parse_decimal("scale", &input.scale)?;
        if scale <= Decimal::ZERO {
            return Err(PolymarketError::invalid("scale", "must be positive"));
        }
        let cap = dec_arg(
            "max_order_notional",
            input.max_order_notional.as_ref(),
            Decimal::from(250),
        )?;
        check_visible(ctx, "source", &input.source)?;
        if input.source == acct_of(ctx) {
            return Err(PolymarketError::invalid(
                "source",
                "cannot copy the paper account into itself",
            ));
        }
        let (plan, eq) = {
            let guard = self.engine(ctx).await?;
            let engine = guard
                .as_ref()
                .ok_or_else(|| PolymarketError::Config("not loaded".into()))?;
            let src = engine.account(&input.source).ok_or_else(|| {
                PolymarketError::invalid("source", format!("no account `{}`", input.source))
            })?;
            let holdings = |a: &crate::engine::Account| -> Vec<crate::copy::Holding> {
                a.positions
                    .iter()
                    .filter_map(|(t, p)| {
                        engine.token(t).map(|(m, _)| crate::copy::Holding {
                            token: t.clone(),
                            shares: p.shares,
                            resolved: m.resolved.is_some(),
                        })
                    })
                    .collect()
            };
            let mine = engine
                .account(acct_of(ctx))
                .map(holdings)
                .unwrap_or_default();
            let mut plan = Vec::new();
            for (token, diff) in crate::copy::plan(&holdings(src), &mine, scale) {
                let Some((m, _)) = engine.token(&token) else {
                    continue;
                };
                let book = engine.book(&token, 1)?;
                let (side, level) = if diff > Decimal::ZERO {
                    (Side::Buy, book.asks.first().cloned())
                } else {
                    (Side::Sell, book.bids.first().cloned())
                };
                let Some(level) = level else { continue };
                let mut size = diff.abs().min(level.size);
                if side == Side::Buy && level.price * size > cap {
                    size = (cap / level.price)
                        .round_dp_with_strategy(2, rust_decimal::RoundingStrategy::ToZero);
                }
                if size < m.min_size {
                    continue;
                }
                plan.push((token, side, level.price, size));
            }
            (plan, equity(engine, acct_of(ctx)))
        };
        let mut results = Vec::new();
        if !input.dry_run {
            let pool = ctx.store.pool();
            let risk = load_risk(pool, acct_of(ctx), ctx.clock.now_ms(), eq).await?;
            for (i, (token, side, price, size)) in plan.iter().enumerate() {
                let order = NewOrder {
                    account: acct_of(ctx).into(),
                    token_id: token.clone(),
                    side: *side,
                    price: *price,
                    size: *size,
                    order_type: OrderType::Fak,
                    client_order_id: Some(format!(
                        "copy-{}-{}-{i}",
                        input.source,
                        ctx.clock.now_ms()
                    )),
                };
                let res = self
                    .clob
                    .place_checked(ctx, order, |e| {
                        risk_check(&risk, acct_of(ctx), e, token, *side, *price, *size)
                    })
                    .await;
                results.push(match res {
                    Ok((out, _)) => json!({ "token_id": token, "side": side, "price": price, "size": size, "filled": out.order.filled, "status": out.order.status }),
                    Err(err) => json!({ "token_id": token, "side": side, "price": price, "size": size, "refused": err.to_string() }),
                });
            }
        }
        let planned: Vec<Value> = plan
            .iter()
            .map(|(t, s, p, z)| json!({"token_id": t, "side": s, "price": p, "size": z}))
            .collect();
        Ok(ToolOutput::from_venue(
            VENUE,
            format!(
                "copy {} x{}: {} order(s) planned{}",
                input.source,
                scale,
                planned.len(),
                if input.dry_run { " (dry run)" } else { "" }
            ),
            json!({ "source": input.source, "scale": scale, "planned": planned, "results": results }),
        ))
    }
}
