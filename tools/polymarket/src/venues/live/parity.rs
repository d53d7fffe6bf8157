//! The live venue's versions of the tools that used to answer from the
//! local CLOB even with credentials set: market-making quotes on the live
//! book (and posting / cancelling them), the ensemble's Kelly suggestion
//! against the live asks, the venue's fee schedule and the account's pUSD,
//! settlement (redeem calldata for the account's resolved positions), and
//! analytics over the account's CLOB trades and Data API positions.

use std::collections::BTreeMap;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde_json::{Value, json};
use sqlx::Row;

use crate::book::BookSet;
use crate::collateral;
use crate::ensemble;
use crate::error::{PolymarketError, Result};
use crate::fees;
use crate::inputs::{EnsembleInput, QuoteInput, SettleInput};
use crate::live::{self as livepath, Live, LiveOrder};
use crate::local_view::{dec_arg, live_token};
use crate::mm::{self, AsParams};
use crate::rest::AssetType;
use crate::risk::OrderExposure;
use crate::types::{OrderType, Outcome, Side};
use nt_mcp_core::bundle::{ToolCtx, ToolOutput};

/// Best bid and ask of one token on the live CLOB.
async fn top(live: &Live, token: &str) -> Result<(Option<Decimal>, Option<Decimal>)> {
    let clob = live.clob().await?;
    let msg = clob.book(token).await?;
    let mut set = BookSet::new();
    set.apply_book(&msg)?;
    let b = set
        .get(token)
        .ok_or_else(|| PolymarketError::Upstream("CLOB book for another token".into()))?;
    Ok((b.best_bid().map(|l| l.price), b.best_ask().map(|l| l.price)))
}

/// The market-maker's parameters from the call, with the model's defaults.
pub(crate) fn quote_params(input: &QuoteInput) -> Result<AsParams> {
    let d = AsParams::default();
    Ok(AsParams {
        gamma: input.gamma.unwrap_or(d.gamma),
        sigma: input.sigma.unwrap_or(d.sigma),
        horizon: input.horizon.unwrap_or(d.horizon),
        k: input.k.unwrap_or(d.k),
        base_size: dec_arg("base_size", input.base_size.as_ref(), d.base_size)?,
        min_size: d.min_size,
        max_inventory: dec_arg(
            "max_inventory",
            input.max_inventory.as_ref(),
            d.max_inventory,
        )?,
    })
}

/// The account's shares of each token (Data API).
async fn holdings(live: &Live) -> Result<BTreeMap<String, Decimal>> {
    let mut out = BTreeMap::new();
    for p in live.data.positions(&live.address, 500).await? {
        *out.entry(p.asset).or_default() += p.size;
    }
    Ok(out)
}

/// The account's available pUSD as the CLOB sees it.
async fn pusd_balance(live: &Live) -> Result<Decimal> {
    let clob = live.clob().await?;
    let raw = clob
        .balance_allowance(
            AssetType::Collateral,
            None,
            live.signature_type() as u8,
            false,
        )
        .await?;
    let units = raw["balance"]
        .as_str()
        .and_then(|s| Decimal::from_str(s.trim()).ok())
        .ok_or_else(|| PolymarketError::Upstream("balance-allowance without a balance".into()))?;
    Ok((units / Decimal::from(1_000_000)).normalize())
}

/// The ensemble's Kelly multiplier (default 0.25) and largest bankroll
/// fraction (default 0.1) from the call.
pub(crate) fn kelly_args(input: &EnsembleInput) -> Result<(Decimal, Decimal)> {
    Ok((
        dec_arg(
            "kelly_multiplier",
            input.kelly_multiplier.as_ref(),
            Decimal::new(25, 2),
        )?,
        dec_arg(
            "max_fraction",
            input.max_fraction.as_ref(),
            Decimal::new(1, 1),
        )?,
    ))
}

/// Records the call's forecasts of `market` for Brier scoring.
pub(crate) async fn record_forecasts(
    pool: &sqlx::AnyPool,
    market: &str,
    forecasts: &[ensemble::Forecast],
    now: i64,
) -> Result<()> {
    for f in forecasts {
        sqlx::query("INSERT INTO pm_forecasts (id, market, probability, source, at_ms) VALUES ($1, $2, $3, $4, $5)")
            .bind(uuid::Uuid::new_v4().to_string())
            .bind(market)
            .bind(f.probability.trim())
            .bind(&f.source)
            .bind(now)
            .execute(pool)
            .await?;
    }
    Ok(())
}

/// The risk verdict on a suggestion, as text and as JSON: `None` when
/// there is no trade to check, `Some(None)` within the limits,
/// `Some(Some(e))` refused by `e`.
pub(crate) fn risk_verdict(verdict: Option<Option<PolymarketError>>) -> (String, Value) {
    match verdict {
        Some(None) => (
            "; within the risk limits".to_string(),
            json!({"allowed": true}),
        ),
        Some(Some(e)) => (
            format!("; the risk limits would refuse it: {e}"),
            json!({"allowed": false, "refused_by": e.to_string()}),
        ),
        None => (String::new(), Value::Null),
    }
}

impl crate::venues::LiveVenue<'_> {
    /// `polymarket_quote_market` on the live venue.
    pub(crate) async fn live_quote(
        &self,
        live: &Live,
        input: QuoteInput,
        ctx: &ToolCtx,
    ) -> Result<ToolOutput> {
        let params = quote_params(&input)?;
        let m = live.gamma.market(&input.market).await?;
        let tick = m.tick()?;
        let yes = live_token(live, &m.condition_id, Outcome::Yes).await?;
        let no = live_token(live, &m.condition_id, Outcome::No).await?;
        let (bid, ask) = top(live, &yes).await?;
        let mid = match (bid, ask) {
            (Some(b), Some(a)) => ((b + a) / Decimal::TWO).normalize(),
            _ => {
                return Err(PolymarketError::Refused(format!(
                    "the live YES book of {} has no two-sided market to quote around",
                    m.slug
                )));
            }
        };
        let held = holdings(live).await?;
        let inventory = held.get(&yes).copied().unwrap_or_default()
            - held.get(&no).copied().unwrap_or_default();
        let params = AsParams {
            min_size: params
                .min_size
                .max(m.min_order_size.unwrap_or(Decimal::ZERO)),
            ..params
        };
        let quotes = mm::quote(mid, inventory, tick, &params)?;
        let mut placed = Vec::new();
        let mut cancelled = Value::Null;
        if input.place {
            if !ctx.live_trading {
                return Err(PolymarketError::Refused(
                    "posting quotes on the live venue needs live trading on (--live-trading)"
                        .into(),
                ));
            }
            cancelled = livepath::cancel(live, ctx, &[], Some(&m.condition_id), false).await?;
            // The ask on YES rests as a BUY of NO at 1 - ask (its complement).
            let legs = [
                quotes
                    .bid
                    .as_ref()
                    .map(|b| (yes.clone(), b.price, b.size, "bid")),
                quotes
                    .ask
                    .as_ref()
                    .map(|a| (no.clone(), Decimal::ONE - a.price, a.size, "ask")),
            ];
            for (token, price, size, tag) in legs.into_iter().flatten() {
                let order = LiveOrder {
                    client_order_id: format!("mm-{}-{}-{tag}", m.condition_id, ctx.clock.now_ms()),
                    token_id: token,
                    side: Side::Buy,
                    price,
                    size,
                    order_type: OrderType::Gtc,
                    tick: Some(tick),
                    neg_risk: Some(m.neg_risk),
                };
                let (o, _) = livepath::place(live, ctx, order, live.pnl_equity()).await?;
                placed.push(o);
            }
        }
        let side_text = |q: Option<&mm::Quote>, why: Option<&String>| {
            q.map_or_else(
                || format!("none ({})", why.map_or("", String::as_str)),
                |q| format!("{}x{}", q.price, q.size),
            )
        };
        Ok(ToolOutput::from_venue(
            crate::live::LIVE_VENUE,
            format!(
                "{}: live mid {mid} inventory {inventory}; reservation {} spread {} bid {} ask {}{}",
                m.slug,
                quotes.reservation,
                quotes.spread,
                side_text(quotes.bid.as_ref(), quotes.no_bid_reason.as_ref()),
                side_text(quotes.ask.as_ref(), quotes.no_ask_reason.as_ref()),
                if input.place {
                    format!(
                        "; cancelled the market's open orders, posted {} quote(s)",
                        placed.len()
                    )
                } else {
                    String::new()
                }
            ),
            json!({ "market": m.condition_id, "mid": mid, "inventory": inventory, "quotes": quotes,
                    "placed": placed, "cancelled": cancelled,
                    "fees": "quotes rest as maker orders: CLOB V2 charges makers no platform fee" }),
        ))
    }

    /// `polymarket_ensemble_signal` on the live venue: the live asks, the
    /// market's fee schedule from the venue, the account's pUSD as bankroll.
    pub(crate) async fn live_ensemble(
        &self,
        live: &Live,
        input: EnsembleInput,
        ctx: &ToolCtx,
    ) -> Result<ToolOutput> {
        let (kelly_mult, max_frac) = kelly_args(&input)?;
        let m = live.gamma.market(&input.market).await?;
        let yes = live_token(live, &m.condition_id, Outcome::Yes).await?;
        let no = live_token(live, &m.condition_id, Outcome::No).await?;
        let ((_, yes_ask), (_, no_ask)) = (top(live, &yes).await?, top(live, &no).await?);
        let clob = live.clob().await?;
        let now = ctx.clock.now_ms();
        let (schedule, source) =
            fees::venue_schedule(&clob, &self.fee_cache, &m.condition_id, now).await?;
        let bankroll = pusd_balance(live).await?;
        let s = ensemble::suggest(
            &input.forecasts,
            yes_ask,
            no_ask,
            &schedule,
            bankroll,
            kelly_mult,
            max_frac,
        )?;
        record_forecasts(ctx.store.pool(), &m.condition_id, &input.forecasts, now).await?;
        let token = s.outcome.map(|o| match o {
            Outcome::Yes => yes.clone(),
            Outcome::No => no.clone(),
        });
        let verdict = match s.price {
            Some(price) if !s.shares.is_zero() => {
                let equity = live.pnl_equity().await?;
                let (risk, total) = livepath::risk_status(ctx, equity).await?;
                let (by_market, _) = livepath::live_exposures(ctx.store.pool()).await?;
                Some(
                    risk.check(&OrderExposure {
                        market: m.condition_id.clone(),
                        notional: price * s.shares,
                        market_exposure: by_market
                            .get(&m.condition_id)
                            .copied()
                            .unwrap_or_default(),
                        total_exposure: total,
                        equity,
                    })
                    .err(),
                )
            }
            _ => None,
        };
        let (risk_text, risk) = risk_verdict(verdict);
        Ok(ToolOutput::from_venue(
            crate::live::LIVE_VENUE,
            format!(
                "{}: ensemble P(YES) {} edge {} against the live asks (fees: {}) -> {}{risk_text}",
                m.slug,
                s.probability,
                s.edge,
                source.describe(),
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
            json!({ "market": m.condition_id, "suggestion": s, "token_id": token, "bankroll_pusd": bankroll,
                    "fee_schedule": schedule, "fee_source": source, "risk": risk }),
        ))
    }

    /// `polymarket_settle` on the live venue: Polymarket's oracle resolves
    /// markets, so this reads the account's positions in the market and,
    /// once they are redeemable, returns the V2 adapter's redeem calldata
    /// (for review; sending needs the wallet).
    pub(crate) async fn live_settle(&self, live: &Live, input: SettleInput) -> Result<ToolOutput> {
        let m = live.gamma.market(&input.market).await?;
        let positions: Vec<_> = live
            .data
            .positions(&live.address, 500)
            .await?
            .into_iter()
            .filter(|p| p.condition_id.eq_ignore_ascii_case(&m.condition_id))
            .collect();
        let redeemable: Vec<_> = positions.iter().filter(|p| p.redeemable).collect();
        let payout: Decimal = redeemable.iter().map(|p| p.current_value).sum();
        let rows: Vec<Value> = positions
            .iter()
            .map(|p| json!({ "token_id": p.asset, "outcome": p.outcome, "size": p.size,
                              "price": p.cur_price, "value": p.current_value, "redeemable": p.redeemable }))
            .collect();
        if redeemable.is_empty() {
            let why = if !m.closed {
                "the market has not resolved yet (Polymarket's oracle settles it)"
            } else if positions.is_empty() {
                "the account holds no position in it"
            } else {
                "the venue does not report the positions as redeemable yet"
            };
            return Ok(ToolOutput::from_venue(
                crate::live::LIVE_VENUE,
                format!("{}: nothing to redeem: {why}", m.slug),
                json!({ "market": m.condition_id, "closed": m.closed, "positions": rows, "redeem": Value::Null }),
            ));
        }
        let call = collateral::redeem(&m.condition_id, m.neg_risk)?;
        Ok(ToolOutput::from_venue(
            crate::live::LIVE_VENUE,
            format!(
                "{}: {} redeemable position(s) worth {payout} pUSD; redeem through {} (calldata for review, not sent)",
                m.slug,
                redeemable.len(),
                call.to
            ),
            json!({ "market": m.condition_id, "closed": m.closed, "positions": rows, "payout_pusd": payout,
                    "redeem": call, "sent": false }),
        ))
    }

    /// `polymarket_analytics` on the live venue: fill statistics over the
    /// account's CLOB trades (taker or maker side, volume, fees at each
    /// fill's fee rate), P&L from the Data API, and the Brier score of the
    /// forecasts recorded here for markets the venue has resolved.
    pub(crate) async fn live_analytics(&self, live: &Live, ctx: &ToolCtx) -> Result<ToolOutput> {
        let clob = live.clob().await?;
        let trades = clob.trades().await?;
        let list = trades["data"]
            .as_array()
            .or_else(|| trades.as_array())
            .cloned()
            .unwrap_or_default();
        let dec = |v: &Value| {
            v.as_str()
                .and_then(|s| Decimal::from_str(s.trim()).ok())
                .or_else(|| v.as_f64().and_then(|f| Decimal::try_from(f).ok()))
                .unwrap_or_default()
        };
        let (mut taker_n, mut maker_n) = (0u64, 0u64);
        let (mut taker_vol, mut maker_vol) = (Decimal::ZERO, Decimal::ZERO);
        for t in &list {
            let notional = dec(&t["size"]) * dec(&t["price"]);
            if t["trader_side"].as_str() == Some("MAKER") {
                maker_n += 1;
                maker_vol += notional;
            } else {
                taker_n += 1;
                taker_vol += notional;
            }
        }
        let positions = live.data.positions(&live.address, 500).await?;
        let unrealized: Decimal = positions.iter().map(|p| p.cash_pnl).sum();
        let realized: Decimal = positions.iter().map(|p| p.realized_pnl).sum();
        // Forecasts recorded here, scored on markets whose outcome the
        // account's positions show as settled (price 1 or 0).
        let rows = sqlx::query("SELECT market, probability FROM pm_forecasts")
            .fetch_all(ctx.store.pool())
            .await?;
        let mut resolved: BTreeMap<String, bool> = BTreeMap::new();
        for p in &positions {
            if p.redeemable && (p.cur_price == Decimal::ONE || p.cur_price.is_zero()) {
                let yes_won =
                    (p.outcome.eq_ignore_ascii_case("yes")) == (p.cur_price == Decimal::ONE);
                resolved.insert(p.condition_id.to_ascii_lowercase(), yes_won);
            }
        }
        let mut pairs = Vec::new();
        for r in &rows {
            let market: String = r.try_get("market")?;
            let prob: String = r.try_get("probability")?;
            if let (Some(won), Ok(p)) = (
                resolved.get(&market.to_ascii_lowercase()),
                Decimal::from_str(prob.trim()),
            ) {
                pairs.push((p, *won));
            }
        }
        let brier = ensemble::brier(&pairs);
        Ok(ToolOutput::from_venue(
            crate::live::LIVE_VENUE,
            format!(
                "fills: {taker_n} taker ({taker_vol} pUSD), {maker_n} maker ({maker_vol} pUSD); unrealized {unrealized} realized {realized}; Brier score {} over {} resolved forecasts",
                brier.map_or_else(|| "none".to_string(), |b| b.to_string()),
                pairs.len()
            ),
            json!({ "fills": { "taker": taker_n, "maker": maker_n, "taker_volume": taker_vol, "maker_volume": maker_vol },
                    "unrealized_pnl": unrealized, "realized_pnl": realized, "positions": positions.len(),
                    "brier": brier, "resolved_forecasts": pairs.len(), "trades_read": list.len() }),
        ))
    }
}
