//! The local CLOB: markets, books, price history and holders.

use std::str::FromStr;

use nt_mcp_core::bundle::{ToolCtx, ToolOutput};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use sqlx::Row;

use crate::engine::Level;
use crate::error::{PolymarketError, Result};
use crate::inputs::*;
use crate::local_view::*;
use crate::types::Outcome;
use crate::venues::LocalVenue;

impl LocalVenue<'_> {
    pub(crate) async fn markets(&self, input: MarketsInput, ctx: &ToolCtx) -> Result<ToolOutput> {
        let guard = self.engine(ctx).await?;
        let engine = guard
            .as_ref()
            .ok_or_else(|| PolymarketError::Config("not loaded".into()))?;
        let q = input.query.unwrap_or_default().to_lowercase();
        let limit = input.limit.unwrap_or(50).clamp(1, 500) as usize;
        let list: Vec<Value> = engine
            .markets()
            .filter(|m| input.include_resolved || m.resolved.is_none())
            .filter(|m| {
                q.is_empty()
                    || m.question.to_lowercase().contains(&q)
                    || m.slug.contains(&q)
                    || m.event_slug.contains(&q)
            })
            .take(limit)
            .map(|m| market_summary(engine, m))
            .collect();
        let lines: Vec<String> = list
            .iter()
            .map(|m| {
                format!(
                    "- {} [{}] bid {} ask {}",
                    m["question"].as_str().unwrap_or(""),
                    m["slug"].as_str().unwrap_or(""),
                    plain(&m["best_bid"]),
                    plain(&m["best_ask"])
                )
            })
            .collect();
        Ok(ToolOutput::from_venue(
            VENUE,
            format!("{} markets\n{}", list.len(), lines.join("\n")),
            json!({ "count": list.len(), "markets": list }),
        ))
    }

    pub(crate) async fn market(&self, input: MarketInput, ctx: &ToolCtx) -> Result<ToolOutput> {
        let guard = self.engine(ctx).await?;
        let engine = guard
            .as_ref()
            .ok_or_else(|| PolymarketError::Config("not loaded".into()))?;
        let (m, _) = find_market(engine, &input.market)?;
        let mut summary = market_summary(engine, m);
        summary["yes_book"] =
            serde_json::to_value(engine.book(&m.yes_token, 5)?).unwrap_or_default();
        summary["no_book"] = serde_json::to_value(engine.book(&m.no_token, 5)?).unwrap_or_default();
        Ok(ToolOutput::from_venue(
            VENUE,
            format!(
                "{} ({})\nYES mid {}",
                m.question,
                m.slug,
                plain(&summary["mid"])
            ),
            summary,
        ))
    }

    pub(crate) async fn orderbook(
        &self,
        input: OrderbookInput,
        ctx: &ToolCtx,
    ) -> Result<ToolOutput> {
        let guard = self.engine(ctx).await?;
        let engine = guard
            .as_ref()
            .ok_or_else(|| PolymarketError::Config("not loaded".into()))?;
        let token = match (&input.token_id, &input.market) {
            (Some(t), _) => t.clone(),
            (None, Some(m)) => {
                let (spec, _) = find_market(engine, m)?;
                spec.token(input.outcome.unwrap_or(Outcome::Yes))
                    .to_string()
            }
            (None, None) => {
                return Err(PolymarketError::invalid(
                    "token_id",
                    "give token_id, or market with outcome",
                ));
            }
        };
        let book = engine.book(&token, input.depth.unwrap_or(10).clamp(1, 100) as usize)?;
        let (bb, ba) = (
            book.bids.first().map(|l| l.price),
            book.asks.first().map(|l| l.price),
        );
        let mid = bb.zip(ba).map(|(b, a)| (b + a) / Decimal::TWO);
        let spread = bb.zip(ba).map(|(b, a)| a - b);
        let fmt = |ls: &[Level]| {
            ls.iter()
                .map(|l| format!("{}x{}", l.price, l.size))
                .collect::<Vec<_>>()
                .join(" ")
        };
        Ok(ToolOutput::from_venue(
            VENUE,
            format!(
                "token {token}\nbids {}\nasks {}",
                fmt(&book.bids),
                fmt(&book.asks)
            ),
            json!({ "token_id": token, "bids": book.bids, "asks": book.asks, "mid": mid, "spread": spread,
                    "last_trade_price": engine.last_trade(&token) }),
        ))
    }

    pub(crate) async fn history(&self, input: HistoryInput, ctx: &ToolCtx) -> Result<ToolOutput> {
        let (market, outcome) = {
            let guard = self.engine(ctx).await?;
            let engine = guard
                .as_ref()
                .ok_or_else(|| PolymarketError::Config("not loaded".into()))?;
            let (m, o) = engine
                .token(&input.token_id)
                .ok_or_else(|| PolymarketError::invalid("token_id", "unknown token"))?;
            (m.condition_id.clone(), o)
        };
        let limit = i64::from(input.limit.unwrap_or(100).clamp(1, 1000));
        let rows = sqlx::query("SELECT yes_price, size, at_ms FROM pm_fills WHERE market = $1 ORDER BY seq DESC LIMIT $2")
            .bind(&market)
            .bind(limit)
            .fetch_all(ctx.store.pool())
            .await?;
        let mut points = Vec::new();
        for r in rows {
            let p = Decimal::from_str(&r.try_get::<String, _>("yes_price")?).unwrap_or_default();
            let price = if outcome == Outcome::Yes {
                p
            } else {
                Decimal::ONE - p
            };
            points.push(json!({ "t": r.try_get::<i64, _>("at_ms")?, "p": price, "size": r.try_get::<String, _>("size")? }));
        }
        Ok(ToolOutput::from_venue(
            VENUE,
            history_text(
                &format!("{} prints for token {}", points.len(), input.token_id),
                &points,
                1,
            ),
            json!({ "token_id": input.token_id, "history": points }),
        ))
    }

    pub(crate) async fn holders(&self, input: HoldersInput, ctx: &ToolCtx) -> Result<ToolOutput> {
        let limit = input.limit.unwrap_or(10).clamp(1, 20) as usize;
        let guard = self.engine(ctx).await?;
        let engine = guard
            .as_ref()
            .ok_or_else(|| PolymarketError::Config("not loaded".into()))?;
        let (m, _) = find_market(engine, &input.market)?;
        let mut tokens = Vec::new();
        let mut lines = Vec::new();
        for (index, (outcome, token)) in [(Outcome::Yes, &m.yes_token), (Outcome::No, &m.no_token)]
            .into_iter()
            .enumerate()
        {
            let mut holders: Vec<(&String, Decimal)> = engine
                .accounts()
                .iter()
                .filter(|(name, _)| visible(ctx, name))
                .filter_map(|(name, a)| {
                    a.positions
                        .get(token.as_str())
                        .map(|p| (name, p.shares))
                        .filter(|(_, s)| *s > Decimal::ZERO)
                })
                .collect();
            holders.sort_by_key(|h| std::cmp::Reverse(h.1));
            holders.truncate(limit);
            lines.push(format!(
                "{} ({token}): {}",
                outcome.as_str(),
                holders
                    .iter()
                    .map(|(n, s)| format!("{n} {s}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            tokens.push(json!({ "token_id": token, "outcome": outcome, "holders": holders.iter().map(|(n, s)| json!({
                "proxy_wallet": n, "name": n, "amount": s, "outcome_index": index })).collect::<Vec<_>>() }));
        }
        Ok(ToolOutput::from_venue(
            VENUE,
            format!("{} ({})\n{}", m.question, m.condition_id, lines.join("\n")),
            json!({ "market": m.condition_id, "question": m.question, "tokens": tokens }),
        ))
    }

    /// The local CLOB has no book stream: its books are always current.
    pub(crate) fn refuse_stream_books(&self) -> Result<ToolOutput> {
        Err(PolymarketError::Refused(
            "streaming books needs the live venue (POLYMARKET_PRIVATE_KEY with API credentials); the local CLOB's books are always current".into(),
        ))
    }

    /// The local CLOB has no user channel.
    pub(crate) fn refuse_stream_orders(&self) -> Result<ToolOutput> {
        Err(PolymarketError::Refused(
            crate::venues::live::user_stream::LOCAL_REFUSAL.into(),
        ))
    }
}
