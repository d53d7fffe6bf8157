//! The live venue: markets, books (streamed or REST), history, arbitrage and holders.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use nt_mcp_core::bundle::ToolOutput;
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::arb::{self, ArbParams, BinaryQuote, NegRiskEvent};
use crate::book::{BookSet, L2Book};
use crate::engine::Level;
use crate::error::{PolymarketError, Result};
use crate::inputs::*;
use crate::live::{self as livepath, LIVE_VENUE, Live};
use crate::local_view::*;
use crate::stream::Lookup;
use crate::types::Outcome;
use crate::venues::LiveVenue;

impl LiveVenue<'_> {
    pub(crate) async fn live_markets(
        &self,
        live: &Live,
        input: MarketsInput,
    ) -> Result<ToolOutput> {
        let limit = input.limit.unwrap_or(50).clamp(1, 500) as usize;
        let list =
            livepath::markets(live, input.query.as_deref(), input.include_resolved, limit).await?;
        let lines: Vec<String> = list
            .iter()
            .map(|m| {
                format!(
                    "- {} [{}]",
                    m["question"].as_str().unwrap_or(""),
                    m["slug"].as_str().unwrap_or("")
                )
            })
            .collect();
        Ok(ToolOutput::from_venue(
            LIVE_VENUE,
            format!("{} markets\n{}", list.len(), lines.join("\n")),
            json!({ "count": list.len(), "markets": list }),
        ))
    }

    pub(crate) async fn live_market(&self, live: &Live, input: MarketInput) -> Result<ToolOutput> {
        let m = live.gamma.market(&input.market).await?;
        let mut view = livepath::market_view(&m);
        let mut sources = std::collections::BTreeSet::new();
        for (outcome, token) in m.outcomes.iter().zip(&m.clob_token_ids).take(2) {
            let key = format!("{}_book", outcome.to_lowercase());
            let book = self.live_book(live, token, 5, None).await?;
            sources.insert(book["book_source"].as_str().unwrap_or("rest").to_string());
            view[key] = book;
        }
        view["book_source"] = json!(match sources.len() {
            1 => sources.iter().next().cloned().unwrap_or_default(),
            0 => "rest".to_string(),
            _ => "mixed".to_string(),
        });
        Ok(ToolOutput::from_venue(
            LIVE_VENUE,
            format!("{} ({})", m.question, m.slug),
            view,
        ))
    }

    pub(crate) async fn live_orderbook(
        &self,
        live: &Live,
        input: OrderbookInput,
    ) -> Result<ToolOutput> {
        let token = match (&input.token_id, &input.market) {
            (Some(t), _) => t.clone(),
            (None, Some(m)) => live_token(live, m, input.outcome.unwrap_or(Outcome::Yes)).await?,
            (None, None) => {
                return Err(PolymarketError::invalid(
                    "token_id",
                    "give token_id, or market with outcome",
                ));
            }
        };
        let depth = input.depth.unwrap_or(10).clamp(1, 100) as usize;
        let v = self
            .live_book(live, &token, depth, input.max_age_ms)
            .await?;
        let fmt = |side: &Value| {
            side.as_array()
                .map(|ls| {
                    ls.iter()
                        .map(|l| {
                            format!(
                                "{}x{}",
                                l["price"].as_str().unwrap_or(""),
                                l["size"].as_str().unwrap_or("")
                            )
                        })
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .unwrap_or_default()
        };
        Ok(ToolOutput::from_venue(
            LIVE_VENUE,
            format!(
                "token {token} (book_source: {}{})\nbids {}\nasks {}",
                v["book_source"].as_str().unwrap_or("rest"),
                v["age_ms"]
                    .as_u64()
                    .map(|a| format!(", {a} ms since last update"))
                    .unwrap_or_default(),
                fmt(&v["bids"]),
                fmt(&v["asks"])
            ),
            v,
        ))
    }

    pub(crate) async fn live_history(
        &self,
        live: &Live,
        input: HistoryInput,
    ) -> Result<ToolOutput> {
        let interval = input.interval.unwrap_or_else(|| "1d".into());
        if !["1m", "1h", "6h", "1d", "1w", "max"].contains(&interval.as_str()) {
            return Err(PolymarketError::invalid(
                "interval",
                "must be 1m, 1h, 6h, 1d, 1w or max",
            ));
        }
        let clob = live.clob().await?;
        let v = clob
            .price_history(&input.token_id, &interval, input.fidelity)
            .await?;
        let limit = input.limit.unwrap_or(100).clamp(1, 1000) as usize;
        let mut points: Vec<Value> = v
            .get("history")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        points.reverse();
        points.truncate(limit);
        Ok(ToolOutput::from_venue(
            LIVE_VENUE,
            history_text(
                &format!(
                    "{} points for token {} ({interval})",
                    points.len(),
                    input.token_id
                ),
                &points,
                1000,
            ),
            json!({ "token_id": input.token_id, "interval": interval, "history": points }),
        ))
    }
}

pub(crate) fn top_of(book: Option<&L2Book>) -> (Option<Level>, Option<Level>) {
    book.map(|b| (b.best_bid(), b.best_ask()))
        .unwrap_or((None, None))
}

/// A streamed book in the shape of [`livepath::book`], plus its source and age.
pub(crate) fn stream_book_json(book: &L2Book, depth: usize, age_ms: u64) -> Value {
    let (bids, asks) = book.levels(depth);
    let (bb, ba) = (bids.first().map(|l| l.price), asks.first().map(|l| l.price));
    json!({
        "venue": livepath::LIVE_VENUE, "token_id": book.asset_id, "market": book.market,
        "bids": bids, "asks": asks,
        "mid": bb.zip(ba).map(|(b, a)| (b + a) / Decimal::TWO), "spread": bb.zip(ba).map(|(b, a)| a - b),
        "timestamp": book.timestamp_ms.to_string(), "hash": book.hash,
        "tick_size": book.tick.map(|t| t.as_str()), "last_trade_price": book.last_trade,
        "book_source": "stream", "age_ms": age_ms,
    })
}

impl LiveVenue<'_> {
    /// One token's book: from the stream when subscribed, in sync and at
    /// most `max_age_ms` old; else a REST snapshot saying why.
    pub(crate) async fn live_book(
        &self,
        live: &Live,
        token: &str,
        depth: usize,
        max_age_ms: Option<u64>,
    ) -> Result<Value> {
        let mut miss = None;
        if let Some((cache, _)) = &self.books {
            let max_age = max_age_ms.map_or(cache.max_age(), Duration::from_millis);
            match cache.lookup(token, max_age) {
                Lookup::Fresh { book, age_ms } => {
                    return Ok(stream_book_json(&book, depth, age_ms));
                }
                Lookup::Miss { reason, age_ms } => miss = Some((reason, age_ms)),
            }
        }
        let mut v = livepath::book(live, token, depth).await?;
        v["book_source"] = json!("rest");
        if let Some((reason, age_ms)) = miss {
            v["stream_miss"] = json!(reason);
            v["stream_age_ms"] = json!(age_ms);
        }
        Ok(v)
    }

    pub(crate) async fn live_stream(&self, live: &Live, input: StreamInput) -> Result<ToolOutput> {
        let (cache, _) = self
            .books
            .as_ref()
            .ok_or_else(|| PolymarketError::Config("no book stream configured".into()))?;
        let mut add = input.subscribe.clone();
        for m in &input.markets {
            let gm = live.gamma.market(m).await.map_err(|e| match e {
                PolymarketError::NotFound(msg) => PolymarketError::invalid("markets", msg),
                other => other,
            })?;
            add.extend(gm.clob_token_ids.iter().cloned());
        }
        let subscribed = cache.update(&add, &input.unsubscribe)?;
        let status = cache.status();
        let lines: Vec<String> = status
            .tokens
            .iter()
            .map(|t| {
                format!(
                    "- {} {}{}",
                    t.token_id,
                    if t.synced {
                        "in sync"
                    } else {
                        "awaiting snapshot"
                    },
                    t.age_ms
                        .map(|a| format!(", last update {a} ms ago"))
                        .unwrap_or_default()
                )
            })
            .collect();
        Ok(ToolOutput::from_venue(
            LIVE_VENUE,
            format!(
                "streaming {} token(s) over one market-channel connection ({}); stale after {} ms\n{}",
                subscribed.len(),
                if status.stats.connected {
                    "connected"
                } else {
                    "connecting"
                },
                cache.max_age().as_millis(),
                lines.join("\n")
            ),
            json!({ "subscribed": subscribed, "stream": status,
                    "max_age_ms": u64::try_from(cache.max_age().as_millis()).unwrap_or(u64::MAX) }),
        ))
    }

    /// Top of book for `tokens`: streamed books where fresh, the rest from
    /// REST `POST /books` in batches. Returns the tops and how many came
    /// from each source.
    pub(crate) async fn live_tops(
        &self,
        tokens: &[String],
    ) -> Result<(
        HashMap<String, (Option<Level>, Option<Level>)>,
        usize,
        usize,
    )> {
        let Some((cache, public)) = &self.books else {
            return Err(PolymarketError::Config("no live book source".into()));
        };
        let mut tops = HashMap::new();
        let mut need = Vec::new();
        for t in tokens {
            match cache.lookup(t, cache.max_age()) {
                Lookup::Fresh { book, .. } => {
                    tops.insert(t.clone(), top_of(Some(&book)));
                }
                Lookup::Miss { .. } => need.push(t.clone()),
            }
        }
        let from_stream = tops.len();
        let mut set = BookSet::new();
        for msg in public.books(&need).await? {
            set.apply_book(&msg)?;
        }
        for t in &need {
            tops.insert(t.clone(), top_of(set.get(t)));
        }
        Ok((tops, from_stream, need.len()))
    }

    pub(crate) async fn live_arb(
        &self,
        live: &Live,
        input: ArbInput,
        now_ms: i64,
    ) -> Result<ToolOutput> {
        let fee_override = arb_fee_override(&input)?;
        let mut params = ArbParams {
            fees: arb::FeeBook::flat(fee_override.unwrap_or(crate::fees::FeeSchedule::ZERO)),
            min_edge: dec_arg("min_edge", input.min_edge.as_ref(), Decimal::new(1, 4))?,
        };
        let limit = input.limit.unwrap_or(100).clamp(1, MAX_ARB_EVENTS);
        let events = live
            .gamma
            .events_paged(Some(false), limit, GAMMA_PAGE)
            .await?;
        // (event slug, neg-risk event, market, yes token, no token)
        let mut markets = Vec::new();
        for e in &events {
            for m in e.markets.iter().filter(|m| !m.closed) {
                let yes = m
                    .token_for("Yes")
                    .or(m.clob_token_ids.first().map(String::as_str));
                let no = m
                    .token_for("No")
                    .or(m.clob_token_ids.get(1).map(String::as_str));
                if let (Some(y), Some(n)) = (yes, no)
                    && m.clob_token_ids.len() == 2
                {
                    markets.push((e, m, y.to_string(), n.to_string()));
                }
            }
        }
        let tokens: Vec<String> = markets
            .iter()
            .flat_map(|(_, _, y, n)| [y.clone(), n.clone()])
            .collect();
        let (tops, from_stream, from_rest) = self.live_tops(&tokens).await?;
        let quote = |m: &crate::gamma::GammaMarket, y: &str, n: &str| {
            let (yes_bid, yes_ask) = tops.get(y).cloned().unwrap_or((None, None));
            let (no_bid, no_ask) = tops.get(n).cloned().unwrap_or((None, None));
            BinaryQuote {
                market: m.condition_id.clone(),
                label: if m.question.is_empty() {
                    m.slug.clone()
                } else {
                    m.question.clone()
                },
                yes_bid,
                yes_ask,
                no_bid,
                no_ask,
            }
        };
        let binaries: Vec<BinaryQuote> =
            markets.iter().map(|(_, m, y, n)| quote(m, y, n)).collect();
        let mut neg: BTreeMap<String, NegRiskEvent> = BTreeMap::new();
        for (e, m, y, n) in markets.iter().filter(|(e, ..)| e.neg_risk) {
            neg.entry(e.slug.clone())
                .or_insert_with(|| NegRiskEvent {
                    event: e.slug.clone(),
                    outcomes: Vec::new(),
                    augmented: e.neg_risk_augmented,
                })
                .outcomes
                .push(quote(m, y, n));
        }
        let neg: Vec<NegRiskEvent> = neg.into_values().collect();
        let mut found = arb::scan(&binaries, &neg, &params);
        let mut fee_sources = 0usize;
        if fee_override.is_none() && !found.is_empty() {
            // Fees only lower an edge, so the fee-free scan finds every
            // candidate; read the schedules of their markets and scan again.
            let clob = live.clob().await?;
            let mut ids: Vec<String> = found
                .iter()
                .flat_map(|o| o.legs.iter().map(|l| l.market.clone()))
                .collect();
            ids.sort();
            ids.dedup();
            for id in ids {
                let (schedule, _) =
                    crate::fees::venue_schedule(&clob, &self.fee_cache, &id, now_ms).await?;
                params.fees.per_market.insert(id, schedule);
                fee_sources += 1;
            }
            found = arb::scan(&binaries, &neg, &params);
        }
        let skipped = skipped_json(&neg);
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
            LIVE_VENUE,
            format!(
                "scanned {} markets in {} events ({} neg-risk, {} skipped as incomplete sets): {} opportunities net of taker fees ({}); books: {from_stream} streamed, {from_rest} from REST /books\n{}",
                binaries.len(),
                events.len(),
                neg.len(),
                skipped.len(),
                found.len(),
                if fee_override.is_some() {
                    "fee schedule given in the call".to_string()
                } else {
                    format!("{fee_sources} market fee schedules read from GET /clob-markets")
                },
                lines.join("\n")
            ),
            json!({ "events_fetched": events.len(), "markets_scanned": binaries.len(), "events_scanned": neg.len(),
                    "skipped_events": skipped, "fee_schedules_read": fee_sources,
                    "books": { "stream": from_stream, "rest": from_rest }, "opportunities": found }),
        ))
    }

    pub(crate) async fn live_holders(
        &self,
        live: &Live,
        input: HoldersInput,
    ) -> Result<ToolOutput> {
        let limit = input.limit.unwrap_or(10).clamp(1, 20);
        let m = live
            .gamma
            .market(&input.market)
            .await
            .map_err(|e| match e {
                PolymarketError::NotFound(msg) => PolymarketError::invalid("market", msg),
                other => other,
            })?;
        let groups = live.data.holders(&m.condition_id, limit).await?;
        let mut tokens = Vec::new();
        let mut lines = Vec::new();
        for g in groups {
            let outcome = m
                .clob_token_ids
                .iter()
                .position(|t| *t == g.token)
                .or_else(|| {
                    g.holders
                        .first()
                        .and_then(|h| usize::try_from(h.outcome_index).ok())
                })
                .and_then(|i| m.outcomes.get(i))
                .cloned()
                .unwrap_or_default();
            let mut holders = g.holders;
            holders.sort_by_key(|h| std::cmp::Reverse(h.amount));
            holders.truncate(limit as usize);
            lines.push(format!(
                "{outcome} ({}): {}",
                g.token,
                holders
                    .iter()
                    .map(|h| format!(
                        "{} {}",
                        if h.name.is_empty() {
                            &h.proxy_wallet
                        } else {
                            &h.name
                        },
                        h.amount
                    ))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            tokens.push(json!({ "token_id": g.token, "outcome": outcome, "holders": holders }));
        }
        Ok(ToolOutput::from_venue(
            LIVE_VENUE,
            format!("{} ({})\n{}", m.question, m.condition_id, lines.join("\n")),
            json!({ "market": m.condition_id, "question": m.question, "tokens": tokens }),
        ))
    }
}
