//! The local CLOB: arbitrage scan, market-making quotes and the ensemble signal.

use std::collections::BTreeMap;

use nt_mcp_core::bundle::{ToolCtx, ToolOutput};
use rust_decimal::Decimal;
use serde_json::json;

use crate::arb::{self, ArbParams, BinaryQuote, NegRiskEvent};
use crate::engine::{MarketSpec, NewOrder};
use crate::ensemble::{self};
use crate::error::{PolymarketError, Result};
use crate::inputs::*;
use crate::local_view::*;
use crate::mm::{self, AsParams};
use crate::risk_store::{load_risk, risk_check};
use crate::types::{OrderType, Side};
use crate::venue::CancelWhich;
use crate::venues::LocalVenue;

impl LocalVenue<'_> {
    pub(crate) async fn find_arb(&self, input: ArbInput, ctx: &ToolCtx) -> Result<ToolOutput> {
        let fee_override = arb_fee_override(&input)?;
        let guard = self.engine(ctx).await?;
        let engine = guard
            .as_ref()
            .ok_or_else(|| PolymarketError::Config("not loaded".into()))?;
        let live: Vec<&MarketSpec> = engine.markets().filter(|m| m.resolved.is_none()).collect();
        let fees = match fee_override {
            Some(s) => arb::FeeBook::flat(s),
            None => arb::FeeBook {
                default: crate::fees::FeeSchedule::ZERO,
                per_market: live
                    .iter()
                    .map(|m| (m.condition_id.clone(), engine.fee_schedule(&m.condition_id)))
                    .collect(),
            },
        };
        let params = ArbParams {
            fees,
            min_edge: dec_arg("min_edge", input.min_edge.as_ref(), Decimal::new(1, 4))?,
        };
        let binaries: Vec<BinaryQuote> = live.iter().map(|m| quote_of(engine, m)).collect();
        let mut events: BTreeMap<String, NegRiskEvent> = BTreeMap::new();
        for m in live.iter().filter(|m| m.neg_risk) {
            events
                .entry(m.event_slug.clone())
                .or_insert_with(|| NegRiskEvent {
                    event: m.event_slug.clone(),
                    outcomes: Vec::new(),
                    // The local CLOB's events are listed whole, without placeholders.
                    augmented: Some(false),
                })
                .outcomes
                .push(quote_of(engine, m));
        }
        let events: Vec<NegRiskEvent> = events.into_values().collect();
        let found = arb::scan(&binaries, &events, &params);
        let skipped = skipped_json(&events);
        let lines: Vec<String> = found
            .iter()
            .map(|o| {
                format!(
                    "- {} {}: edge {} per set after fees x {} = {} pUSD; {}",
                    o.kind, o.id, o.edge_per_set, o.size, o.expected_profit, o.action
                )
            })
            .collect();
        Ok(ToolOutput::from_venue(
            VENUE,
            format!(
                "scanned {} markets, {} neg-risk events ({} skipped as incomplete sets): {} opportunities net of taker fees\n{}",
                binaries.len(),
                events.len(),
                skipped.len(),
                found.len(),
                lines.join("\n")
            ),
            json!({ "markets_scanned": binaries.len(), "events_scanned": events.len(), "skipped_events": skipped, "opportunities": found }),
        ))
    }

    pub(crate) async fn quote(&self, input: QuoteInput, ctx: &ToolCtx) -> Result<ToolOutput> {
        let params = crate::venues::live::parity::quote_params(&input)?;
        let (spec, quotes, eq) = {
            let guard = self.engine(ctx).await?;
            let engine = guard
                .as_ref()
                .ok_or_else(|| PolymarketError::Config("not loaded".into()))?;
            let (m, _) = find_market(engine, &input.market)?;
            let acct = engine.account(acct_of(ctx));
            let held = |t: &str| {
                acct.and_then(|a| a.positions.get(t))
                    .map(|p| p.shares)
                    .unwrap_or_default()
            };
            let inventory = held(&m.yes_token) - held(&m.no_token);
            let params = AsParams {
                min_size: params.min_size.max(m.min_size),
                ..params
            };
            let q = mm::quote(yes_mid(engine, m), inventory, m.tick, &params)?;
            (m.clone(), q, equity(engine, acct_of(ctx)))
        };
        let mut placed = Vec::new();
        if input.place {
            let pool = ctx.store.pool();
            self.clob
                .cancel(ctx, acct_of(ctx), CancelWhich::Market(&spec.condition_id))
                .await?;
            let risk = load_risk(pool, acct_of(ctx), ctx.clock.now_ms(), eq).await?;
            // The ask on YES is posted as a BUY of NO at 1 - ask (complement), so no YES inventory is needed.
            let legs = [
                quotes
                    .bid
                    .as_ref()
                    .map(|b| (spec.yes_token.clone(), b.price, b.size, "bid")),
                quotes
                    .ask
                    .as_ref()
                    .map(|a| (spec.no_token.clone(), Decimal::ONE - a.price, a.size, "ask")),
            ];
            for (token, price, size, tag) in legs.into_iter().flatten() {
                let order = NewOrder {
                    account: acct_of(ctx).into(),
                    token_id: token.clone(),
                    side: Side::Buy,
                    price,
                    size,
                    order_type: OrderType::Gtc,
                    client_order_id: Some(format!("mm-{}-{}-{tag}", spec.slug, ctx.clock.now_ms())),
                };
                let (out, _) = self
                    .clob
                    .place_checked(ctx, order, |e| {
                        risk_check(&risk, acct_of(ctx), e, &token, Side::Buy, price, size)
                    })
                    .await?;
                placed.push(out.order);
            }
        }
        Ok(ToolOutput::from_venue(
            VENUE,
            format!(
                "{}: reservation {} spread {} bid {} ask {}{}",
                spec.slug,
                quotes.reservation,
                quotes.spread,
                quotes.bid.as_ref().map_or_else(
                    || format!("none ({})", quotes.no_bid_reason.as_deref().unwrap_or("")),
                    |q| format!("{}x{}", q.price, q.size)
                ),
                quotes.ask.as_ref().map_or_else(
                    || format!("none ({})", quotes.no_ask_reason.as_deref().unwrap_or("")),
                    |q| format!("{}x{}", q.price, q.size)
                ),
                if input.place {
                    format!("; placed {} order(s)", placed.len())
                } else {
                    String::new()
                }
            ),
            json!({ "market": spec.condition_id, "quotes": quotes, "placed": placed,
                    "fees": "quotes rest as maker orders: CLOB V2 charges makers no platform fee" }),
        ))
    }

    pub(crate) async fn ensemble(&self, input: EnsembleInput, ctx: &ToolCtx) -> Result<ToolOutput> {
        let (kelly_mult, max_frac) = crate::venues::live::parity::kelly_args(&input)?;
        let (spec, yes_ask, no_ask, bankroll, eq, fees) = {
            let guard = self.engine(ctx).await?;
            let engine = guard
                .as_ref()
                .ok_or_else(|| PolymarketError::Config("not loaded".into()))?;
            let (m, _) = find_market(engine, &input.market)?;
            let fees = engine.fee_schedule(&m.condition_id);
            let q = quote_of(engine, m);
            let bankroll = engine
                .account(acct_of(ctx))
                .map(|a| a.available_cash())
                .unwrap_or_default();
            (
                m.clone(),
                q.yes_ask.map(|l| l.price),
                q.no_ask.map(|l| l.price),
                bankroll,
                equity(engine, acct_of(ctx)),
                fees,
            )
        };
        let s = ensemble::suggest(
            &input.forecasts,
            yes_ask,
            no_ask,
            &fees,
            bankroll,
            kelly_mult,
            max_frac,
        )?;
        let now = ctx.clock.now_ms();
        crate::venues::live::parity::record_forecasts(
            ctx.store.pool(),
            &spec.condition_id,
            &input.forecasts,
            now,
        )
        .await?;
        let token = s.outcome.map(|o| spec.token(o).to_string());
        // The suggestion against the account's risk limits now, so the agent
        // knows before placing whether it would be refused and by which.
        let risk_verdict = match (&token, s.price) {
            (Some(t), Some(price)) if !s.shares.is_zero() => {
                let risk = load_risk(ctx.store.pool(), acct_of(ctx), now, eq).await?;
                let guard = self.engine(ctx).await?;
                let engine = guard
                    .as_ref()
                    .ok_or_else(|| PolymarketError::Config("not loaded".into()))?;
                Some(risk_check(&risk, acct_of(ctx), engine, t, Side::Buy, price, s.shares).err())
            }
            _ => None,
        };
        let (risk_text, risk) = crate::venues::live::parity::risk_verdict(risk_verdict);
        Ok(ToolOutput::from_venue(
            VENUE,
            format!(
                "{}: ensemble P(YES) {} edge {} -> {}{risk_text}",
                spec.slug,
                s.probability,
                s.edge,
                match (&s.outcome, s.price) {
                    (Some(o), Some(p)) => format!(
                        "BUY {} {} @ {} ({} pUSD)",
                        s.shares,
                        o.as_str(),
                        p,
                        s.stake_usdc
                    ),
                    _ => "no trade".into(),
                }
            ),
            json!({ "market": spec.condition_id, "suggestion": s, "token_id": token,
                    "risk": risk }),
        ))
    }
}
