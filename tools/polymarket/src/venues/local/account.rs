//! The local CLOB: risk limits, settlement, analytics, wallet and leaderboard.

use std::collections::BTreeMap;
use std::str::FromStr;

use nt_mcp_core::bundle::{ToolCtx, ToolOutput};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use sqlx::Row;

use crate::analytics::{MakerFill, SpreadCaptured, spread_captured};
use crate::ensemble::{self};
use crate::error::{PolymarketError, Result};
use crate::inputs::*;
use crate::local_view::*;
use crate::risk_store::{load_risk, save_risk};
use crate::types::{NumText, Outcome, Side, parse_decimal};
use crate::venue::CancelWhich;
use crate::venues::LocalVenue;

impl LocalVenue<'_> {
    pub(crate) async fn risk_status(&self, ctx: &ToolCtx) -> Result<ToolOutput> {
        let now = ctx.clock.now_ms();
        let (eq, total) = {
            let guard = self.engine(ctx).await?;
            let engine = guard
                .as_ref()
                .ok_or_else(|| PolymarketError::Config("not loaded".into()))?;
            (
                equity(engine, acct_of(ctx)),
                exposures(engine, acct_of(ctx), "").1,
            )
        };
        let risk = load_risk(ctx.store.pool(), acct_of(ctx), now, eq).await?;
        let loss = risk.daily_loss(eq);
        Ok(ToolOutput::from_venue(
            VENUE,
            format!(
                "kill switch {}; exposure {total} / {}; daily loss {loss} / {}; max order {}",
                if risk.kill_switch { "ON" } else { "off" },
                risk.limits.max_total_exposure,
                risk.limits.daily_loss_limit,
                risk.limits.max_order_notional
            ),
            json!({ "limits": risk.limits, "kill_switch": risk.kill_switch, "total_exposure": total,
                    "equity": r6(eq), "day_start_equity": r6(risk.day_start_equity), "daily_loss": r6(loss) }),
        ))
    }

    pub(crate) async fn set_risk(&self, input: RiskInput, ctx: &ToolCtx) -> Result<ToolOutput> {
        let now = ctx.clock.now_ms();
        let eq = {
            let guard = self.engine(ctx).await?;
            guard
                .as_ref()
                .map(|e| equity(e, acct_of(ctx)))
                .unwrap_or_default()
        };
        let pool = ctx.store.pool();
        let mut risk = load_risk(pool, acct_of(ctx), now, eq).await?;
        let set = |field: &str, v: &Option<NumText>, slot: &mut Decimal| -> Result<()> {
            if let Some(t) = v {
                let d = parse_decimal(field, t)?;
                if d < Decimal::ZERO {
                    return Err(PolymarketError::invalid(field, "must not be negative"));
                }
                *slot = d;
            }
            Ok(())
        };
        set(
            "max_order_notional",
            &input.max_order_notional,
            &mut risk.limits.max_order_notional,
        )?;
        set(
            "max_market_exposure",
            &input.max_market_exposure,
            &mut risk.limits.max_market_exposure,
        )?;
        set(
            "max_total_exposure",
            &input.max_total_exposure,
            &mut risk.limits.max_total_exposure,
        )?;
        set(
            "daily_loss_limit",
            &input.daily_loss_limit,
            &mut risk.limits.daily_loss_limit,
        )?;
        let mut cancelled = Vec::new();
        if let Some(k) = input.kill_switch {
            risk.kill_switch = k;
            if k {
                cancelled = self
                    .clob
                    .cancel(ctx, acct_of(ctx), CancelWhich::All)
                    .await?;
            }
        }
        save_risk(pool, acct_of(ctx), &risk, now).await?;
        Ok(ToolOutput::from_venue(
            VENUE,
            format!(
                "risk limits saved; kill switch {}; cancelled {} order(s)",
                if risk.kill_switch { "ON" } else { "off" },
                cancelled.len()
            ),
            json!({ "limits": risk.limits, "kill_switch": risk.kill_switch, "cancelled": cancelled.len() }),
        ))
    }

    pub(crate) async fn settle(&self, input: SettleInput, ctx: &ToolCtx) -> Result<ToolOutput> {
        let market = {
            let guard = self.engine(ctx).await?;
            let engine = guard
                .as_ref()
                .ok_or_else(|| PolymarketError::Config("not loaded".into()))?;
            find_market(engine, &input.market)?.0.condition_id.clone()
        };
        let winner = input.winner.ok_or_else(|| {
            PolymarketError::invalid(
                "winner",
                "YES or NO: on the local CLOB you resolve the market",
            )
        })?;
        let (cancelled, payouts) = self.clob.resolve(ctx, &market, winner).await?;
        let neg_risk = {
            let guard = self.engine(ctx).await?;
            guard
                .as_ref()
                .and_then(|e| find_market(e, &market).ok())
                .is_some_and(|(m, _)| m.neg_risk)
        };
        let redeem = crate::collateral::redeem(&market, neg_risk)?;
        let paper = payouts
            .iter()
            .find(|(a, _)| a == acct_of(ctx))
            .map(|(_, p)| *p)
            .unwrap_or_default();
        Ok(ToolOutput::from_venue(
            VENUE,
            format!(
                "resolved {} as {}; paper received {paper} pUSD; {} order(s) cancelled",
                market,
                winner.as_str(),
                cancelled.len()
            ),
            json!({ "market": market, "winner": winner, "paper_payout": paper,
                    "payouts": payouts.iter().map(|(a, p)| json!({"account": a, "usdc": p})).collect::<Vec<_>>(),
                    "cancelled_orders": cancelled.len(),
                    "redeem": { "to": redeem.to, "data": redeem.data, "purpose": redeem.purpose,
                                "function": "redeemPositions(address,bytes32,bytes32,uint256[])" } }),
        ))
    }

    pub(crate) async fn analytics(&self, ctx: &ToolCtx) -> Result<ToolOutput> {
        let pool = ctx.store.pool();
        let rows = sqlx::query(
            "SELECT market, taker_account, maker_account, taker_price, maker_price, maker_outcome, \
             maker_side, size, taker_fee FROM pm_fills WHERE taker_account = $1 OR maker_account = $1",
        )
        .bind(acct_of(ctx))
        .fetch_all(pool)
        .await?;
        let (mut maker_n, mut taker_n) = (0u64, 0u64);
        let (mut maker_vol, mut taker_vol) = (Decimal::ZERO, Decimal::ZERO);
        let mut maker_fills = Vec::new();
        let mut taker_fees = Vec::new();
        for r in &rows {
            let size = Decimal::from_str(&r.try_get::<String, _>("size")?).unwrap_or_default();
            if r.try_get::<String, _>("taker_account")? == acct_of(ctx) {
                taker_n += 1;
                let notional = size
                    * Decimal::from_str(&r.try_get::<String, _>("taker_price")?)
                        .unwrap_or_default();
                taker_vol += notional;
                let fee =
                    Decimal::from_str(&r.try_get::<String, _>("taker_fee")?).unwrap_or_default();
                taker_fees.push((notional, fee));
            }
            if r.try_get::<String, _>("maker_account")? == acct_of(ctx) {
                let price =
                    Decimal::from_str(&r.try_get::<String, _>("maker_price")?).unwrap_or_default();
                maker_n += 1;
                maker_vol += size * price;
                let outcome = Outcome::parse(&r.try_get::<String, _>("maker_outcome")?);
                let side = Side::parse(&r.try_get::<String, _>("maker_side")?);
                if let (Some(outcome), Some(side)) = (outcome, side) {
                    maker_fills.push((
                        r.try_get::<String, _>("market")?,
                        outcome,
                        side,
                        price,
                        size,
                    ));
                }
            }
        }
        let (view, resolved, captured): (Value, BTreeMap<String, Outcome>, SpreadCaptured) = {
            let guard = self.engine(ctx).await?;
            let engine = guard
                .as_ref()
                .ok_or_else(|| PolymarketError::Config("not loaded".into()))?;
            let marked: Vec<MakerFill> = maker_fills
                .iter()
                .filter_map(|(market, outcome, side, price, size)| {
                    let m = engine.market(market)?;
                    let mark = match m.resolved {
                        Some(winner) if winner == *outcome => Decimal::ONE,
                        Some(_) => Decimal::ZERO,
                        None => mark(engine, m.token(*outcome)),
                    };
                    Some(MakerFill {
                        side: *side,
                        price: *price,
                        size: *size,
                        mark,
                    })
                })
                .collect();
            (
                account_view(engine, acct_of(ctx)),
                engine
                    .markets()
                    .filter_map(|m| m.resolved.map(|o| (m.condition_id.clone(), o)))
                    .collect(),
                spread_captured(&marked),
            )
        };
        let mut pairs = Vec::new();
        for r in sqlx::query("SELECT market, probability FROM pm_forecasts")
            .fetch_all(pool)
            .await?
        {
            let market: String = r.try_get("market")?;
            if let Some(o) = resolved.get(&market) {
                let p =
                    Decimal::from_str(&r.try_get::<String, _>("probability")?).unwrap_or_default();
                pairs.push((p, *o == Outcome::Yes));
            }
        }
        let brier = ensemble::brier(&pairs);
        let fees = crate::analytics::fees_paid(&taker_fees);
        Ok(ToolOutput::from_venue(
            VENUE,
            format!(
                "fills: {taker_n} taker ({taker_vol} pUSD), {maker_n} maker ({maker_vol} pUSD); fees paid {} pUSD on taker fills, 0 as maker; spread captured {} pUSD on {} maker shares; realized {} unrealized {}; Brier score {} over {} resolved forecasts",
                fees.total,
                captured.total.round_dp(6),
                captured.shares,
                plain(&view["realized_pnl"]),
                plain(&view["unrealized_pnl"]),
                brier.map_or_else(|| "n/a".to_string(), |b| b.to_string()),
                pairs.len()
            ),
            json!({ "taker_fills": taker_n, "taker_volume": taker_vol, "maker_fills": maker_n, "maker_volume": maker_vol,
                    "realized_pnl": view["realized_pnl"], "unrealized_pnl": view["unrealized_pnl"], "equity": view["equity"],
                    "spread_captured": captured.total.round_dp(6), "spread_captured_per_share": captured.per_share(),
                    "maker_shares": captured.shares, "fees_paid": fees,
                    "brier_score": brier, "scored_forecasts": pairs.len() }),
        ))
    }

    pub(crate) async fn wallet(&self, input: WalletInput, ctx: &ToolCtx) -> Result<ToolOutput> {
        let name = input.address.unwrap_or_else(|| acct_of(ctx).into());
        check_visible(ctx, "address", &name)?;
        let view = {
            let guard = self.engine(ctx).await?;
            let engine = guard
                .as_ref()
                .ok_or_else(|| PolymarketError::Config("not loaded".into()))?;
            if engine.account(&name).is_none() {
                return Err(PolymarketError::invalid(
                    "address",
                    format!("no account `{name}` on the local CLOB (try `paper` or `house`)"),
                ));
            }
            account_view(engine, &name)
        };
        let rows = sqlx::query(
            "SELECT trade_id, market, taker_account, taker_side, taker_outcome, taker_price, maker_side, maker_outcome, maker_price, size, at_ms \
             FROM pm_fills WHERE taker_account = $1 OR maker_account = $1 ORDER BY seq DESC LIMIT 20",
        )
        .bind(&name)
        .fetch_all(ctx.store.pool())
        .await?;
        let mut activity = Vec::new();
        for r in rows {
            let taker = r.try_get::<String, _>("taker_account")? == name;
            let pre = if taker { "taker" } else { "maker" };
            activity.push(json!({
                "trade_id": r.try_get::<String, _>("trade_id")?, "market": r.try_get::<String, _>("market")?, "role": pre,
                "side": r.try_get::<String, _>(format!("{pre}_side").as_str())?,
                "outcome": r.try_get::<String, _>(format!("{pre}_outcome").as_str())?,
                "price": r.try_get::<String, _>(format!("{pre}_price").as_str())?,
                "size": r.try_get::<String, _>("size")?, "at_ms": r.try_get::<i64, _>("at_ms")?,
            }));
        }
        let mut body = view;
        body["activity"] = json!(activity);
        Ok(ToolOutput::from_venue(
            VENUE,
            format!(
                "{name}: {}\n{} recent trades",
                account_text(&body),
                activity.len()
            ),
            body,
        ))
    }

    pub(crate) async fn leaderboard(&self, ctx: &ToolCtx) -> Result<ToolOutput> {
        let guard = self.engine(ctx).await?;
        let engine = guard
            .as_ref()
            .ok_or_else(|| PolymarketError::Config("not loaded".into()))?;
        let mut rows: Vec<(String, Decimal, Decimal)> = engine
            .accounts()
            .keys()
            .filter(|name| visible(ctx, name))
            .map(|name| {
                let v = account_view(engine, name);
                let pnl = |k: &str| {
                    v[k].as_str()
                        .and_then(|s| Decimal::from_str(s).ok())
                        .unwrap_or_default()
                };
                (
                    name.clone(),
                    pnl("realized_pnl") + pnl("unrealized_pnl"),
                    pnl("equity"),
                )
            })
            .collect();
        rows.sort_by_key(|r| std::cmp::Reverse(r.1));
        let lines: Vec<String> = rows
            .iter()
            .enumerate()
            .map(|(i, r)| format!("{}. {} pnl {} equity {}", i + 1, r.0, r.1, r.2))
            .collect();
        Ok(ToolOutput::from_venue(
            VENUE,
            lines.join("\n"),
            json!({ "leaderboard": rows.iter().enumerate().map(|(i, r)| json!({"rank": i + 1, "account": r.0, "pnl": r.1, "equity": r.2})).collect::<Vec<_>>() }),
        ))
    }
}
