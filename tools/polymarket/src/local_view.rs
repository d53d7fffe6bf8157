//! Views of the local CLOB shared by its tools: market lookup, marks, account views and texts.

/// The local CLOB's venue name in every answer.
pub(crate) const VENUE: &str = "simulated";

/// The local CLOB account this call acts for: the caller's own paper
/// wallet with per-caller accounts, else the shared `paper` account.
pub(crate) fn acct_of(ctx: &ToolCtx) -> &str {
    ctx.account_or(PAPER)
}

/// With per-caller accounts, a caller reads only its own wallet and the
/// house's (the liquidity everyone trades against), never another caller's;
/// `field` names the argument that asked.
pub(crate) fn check_visible(ctx: &ToolCtx, field: &str, name: &str) -> Result<()> {
    match ctx.account.as_deref() {
        Some(own) if !visible(ctx, name) => Err(PolymarketError::invalid(
            field,
            format!(
                "`{name}` is another caller's account: you can read your own (`{own}`) or `house`"
            ),
        )),
        _ => Ok(()),
    }
}

/// Whether this call may see account `name` (see [`check_visible`]).
pub(crate) fn visible(ctx: &ToolCtx, name: &str) -> bool {
    ctx.account
        .as_deref()
        .is_none_or(|own| name == own || name == crate::venue::HOUSE)
}

use std::collections::BTreeMap;

use nt_mcp_core::bundle::ToolCtx;
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::arb::{self, BinaryQuote, NegRiskEvent};
use crate::engine::{Engine, MarketSpec};
use crate::error::{PolymarketError, Result};
use crate::inputs::*;
use crate::live::Live;
use crate::types::{NumText, Outcome, Side, parse_decimal};
use crate::venue::PAPER;

// ---------------------------------------------------------------- helpers

pub(crate) fn dec_arg(field: &str, text: Option<&NumText>, default: Decimal) -> Result<Decimal> {
    match text {
        Some(t) => parse_decimal(field, t),
        None => Ok(default),
    }
}

pub(crate) fn find_market<'a>(
    engine: &'a Engine,
    key: &str,
) -> Result<(&'a MarketSpec, Option<Outcome>)> {
    let key = key.trim();
    if let Some(m) = engine.market(key) {
        return Ok((m, None));
    }
    if let Some((m, o)) = engine.token(key) {
        return Ok((m, Some(o)));
    }
    engine
        .markets()
        .find(|m| m.slug == key)
        .map(|m| (m, None))
        .ok_or_else(|| PolymarketError::invalid("market", format!("no market `{key}` (use a condition id, slug or token id from polymarket_markets)")))
}

pub(crate) fn yes_mid(engine: &Engine, market: &MarketSpec) -> Decimal {
    match engine.best_yes(&market.condition_id) {
        (Some(b), Some(a)) => (b + a) / Decimal::TWO,
        _ => engine
            .last_trade(&market.yes_token)
            .unwrap_or(Decimal::new(5, 1)),
    }
}

pub(crate) fn mark(engine: &Engine, token: &str) -> Decimal {
    match engine.token(token) {
        Some((m, Outcome::Yes)) => yes_mid(engine, m),
        Some((m, Outcome::No)) => Decimal::ONE - yes_mid(engine, m),
        None => Decimal::ZERO,
    }
}

pub(crate) fn r6(d: Decimal) -> Decimal {
    d.round_dp(6).normalize()
}

/// The token of `outcome` in a live market (condition id or slug), from
/// Gamma.
pub(crate) async fn live_token(live: &Live, market: &str, outcome: Outcome) -> Result<String> {
    let gm = live.gamma.market(market).await?;
    gm.token_for(outcome.as_str())
        .or_else(|| {
            gm.clob_token_ids
                .get(usize::from(outcome == Outcome::No))
                .map(String::as_str)
        })
        .map(str::to_string)
        .ok_or_else(|| PolymarketError::invalid("outcome", "the market has no such outcome"))
}

pub(crate) fn account_view(engine: &Engine, name: &str) -> Value {
    let Some(acct) = engine.account(name) else {
        return json!({ "account": name, "exists": false });
    };
    let mut positions = Vec::new();
    let (mut value, mut unrealized, mut realized) = (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO);
    for (token, p) in &acct.positions {
        realized += p.realized;
        if p.shares.is_zero() && p.realized.is_zero() {
            continue;
        }
        let Some((m, outcome)) = engine.token(token) else {
            continue;
        };
        let px = if m.resolved.is_some() {
            Decimal::ZERO
        } else {
            mark(engine, token)
        };
        let v = p.shares * px;
        value += v;
        unrealized += v - p.cost;
        positions.push(json!({
            "market": m.condition_id, "slug": m.slug, "question": m.question,
            "token_id": token, "outcome": outcome, "shares": p.shares, "reserved": p.reserved,
            "avg_cost": if p.shares.is_zero() { Decimal::ZERO } else { r6(p.cost / p.shares) },
            "mark": r6(px), "value": r6(v), "unrealized_pnl": r6(v - p.cost), "realized_pnl": r6(p.realized),
        }));
    }
    json!({
        "account": name, "venue": VENUE, "usdc": acct.cash, "usdc_reserved": acct.reserved,
        "usdc_available": acct.available_cash(), "positions_value": r6(value),
        "equity": r6(acct.cash + value), "unrealized_pnl": r6(unrealized), "realized_pnl": r6(realized),
        "positions": positions,
    })
}

/// A price history as text: `head`, then the newest points (at most 10),
/// newest first, as UTC time and price (and size for local prints).
/// `ms_per_t` is 1 when `t` is in ms (local fills), 1000 when in seconds
/// (Polymarket's prices-history).
pub(crate) fn history_text(head: &str, points: &[Value], ms_per_t: i64) -> String {
    let mut out = head.to_string();
    for pt in points.iter().take(10) {
        let t = pt["t"].as_i64().unwrap_or(0).saturating_mul(ms_per_t);
        out.push_str(&format!(
            "\n{} {}",
            nt_mcp_core::dates::format_iso_ms(t),
            plain(&pt["p"])
        ));
        if !pt["size"].is_null() {
            out.push_str(&format!(" x {}", plain(&pt["size"])));
        }
    }
    out
}

/// A JSON value as an agent should read it in text: strings and decimals
/// without quotes, `-` for null.
pub(crate) fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}

/// The text of an account view: cash and totals, then one line a position.
pub(crate) fn account_text(view: &Value) -> String {
    let mut out = format!(
        "pUSD {} (available {}) equity {} unrealized {} realized {}",
        plain(&view["usdc"]),
        plain(&view["usdc_available"]),
        plain(&view["equity"]),
        plain(&view["unrealized_pnl"]),
        plain(&view["realized_pnl"])
    );
    for p in view["positions"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "\n- {} {}: {} shares @ {} avg, mark {}, value {}, unrealized {}",
            plain(&p["slug"]),
            plain(&p["outcome"]),
            plain(&p["shares"]),
            plain(&p["avg_cost"]),
            plain(&p["mark"]),
            plain(&p["value"]),
            plain(&p["unrealized_pnl"])
        ));
    }
    out
}

pub(crate) fn equity(engine: &Engine, name: &str) -> Decimal {
    let Some(acct) = engine.account(name) else {
        return Decimal::ZERO;
    };
    acct.cash
        + acct
            .positions
            .iter()
            .map(|(t, p)| p.shares * mark(engine, t))
            .sum::<Decimal>()
}

pub(crate) fn exposures(engine: &Engine, name: &str, market: &str) -> (Decimal, Decimal) {
    let Some(acct) = engine.account(name) else {
        return (Decimal::ZERO, Decimal::ZERO);
    };
    let mut by_market: BTreeMap<String, Decimal> = BTreeMap::new();
    for (token, p) in &acct.positions {
        if let Some((m, _)) = engine.token(token) {
            *by_market.entry(m.condition_id.clone()).or_default() += p.cost;
        }
    }
    for o in engine.open_orders(name, None) {
        if o.side == Side::Buy {
            *by_market.entry(o.market.clone()).or_default() += o.price * o.remaining();
        }
    }
    let total = by_market.values().copied().sum();
    (by_market.get(market).copied().unwrap_or_default(), total)
}

/// The fee override of `polymarket_find_arbitrage`, if `fee_bps` is given.
pub(crate) fn arb_fee_override(input: &ArbInput) -> Result<Option<crate::fees::FeeSchedule>> {
    match &input.fee_bps {
        Some(bps) => Ok(Some(crate::fees::schedule_from_bps(
            parse_decimal("fee_bps", bps)?,
            input.fee_exponent,
        )?)),
        None if input.fee_exponent.is_some() => Err(PolymarketError::invalid(
            "fee_exponent",
            "give it with fee_bps (without, each market's own schedule applies)",
        )),
        None => Ok(None),
    }
}

pub(crate) fn skipped_json(events: &[NegRiskEvent]) -> Vec<Value> {
    arb::skipped(events)
        .into_iter()
        .map(|(event, reason)| json!({ "event": event, "reason": reason }))
        .collect()
}

pub(crate) fn quote_of(engine: &Engine, m: &MarketSpec) -> BinaryQuote {
    let top = |token: &str| {
        engine
            .book(token, 1)
            .map(|b| (b.bids.first().cloned(), b.asks.first().cloned()))
            .unwrap_or((None, None))
    };
    let (yes_bid, yes_ask) = top(&m.yes_token);
    let (no_bid, no_ask) = top(&m.no_token);
    BinaryQuote {
        market: m.condition_id.clone(),
        label: if m.group_label.is_empty() {
            m.slug.clone()
        } else {
            m.group_label.clone()
        },
        yes_bid,
        yes_ask,
        no_bid,
        no_ask,
    }
}

pub(crate) fn market_summary(engine: &Engine, m: &MarketSpec) -> Value {
    let (bid, ask) = engine.best_yes(&m.condition_id);
    json!({
        "condition_id": m.condition_id, "slug": m.slug, "question": m.question,
        "event": m.event_slug, "group_label": m.group_label,
        "tokens": [{"outcome": "YES", "token_id": m.yes_token}, {"outcome": "NO", "token_id": m.no_token}],
        "tick_size": m.tick, "min_order_size": m.min_size, "neg_risk": m.neg_risk,
        "end_ms": m.end_ms, "resolved": m.resolved,
        "best_bid": bid, "best_ask": ask, "mid": r6(yes_mid(engine, m)),
        "last_trade_price": engine.last_trade(&m.yes_token),
    })
}
