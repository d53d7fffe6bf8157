//! Odds tools: convert, remove the margin, find arbitrage and middles, list
//! events, read one event's prices.

use std::sync::Arc;

use nt_mcp_core::{Route, ToolCtx, ToolError, ToolOutput, route};
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use crate::SportsBundle;
use crate::odds::{self, LineMarket, MarginMethod, OddsFormat, Quote};
use crate::tools::f64_of;

pub(crate) fn routes() -> Vec<Route<SportsBundle>> {
    vec![
        route(
            "odds_convert",
            "Converts a price between decimal, fractional, American and implied probability.",
            convert,
        ),
        route(
            "odds_remove_margin",
            "Takes the bookmaker's margin out of one market's prices: overround, and fair probabilities and odds by the proportional, power and Shin methods (or one of them).",
            remove_margin,
        ),
        route(
            "odds_find_arbitrage",
            "Finds sure bets (best prices across books summing below 1, with stakes) and middles (over/under or handicap lines across books that can both win) in given quotes or in a sport's events from the feed.",
            find_arbitrage,
        ),
        route(
            "odds_events",
            "Lists the feed's sports, or a sport's upcoming events. The feed is the simulated book unless The Odds API or Betfair is configured and chosen.",
            events,
        ),
        route(
            "odds_for_event",
            "One event's prices from every book, with each book's overround, margin-free probabilities, the best price per outcome and the consensus fair probability.",
            for_event,
        ),
    ]
}

fn default_format() -> OddsFormat {
    OddsFormat::Decimal
}

/// Input of `odds_convert`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConvertInput {
    /// The price as written: `2.5`, `3/2`, `+150`, `-200`, `0.4`, `40%`.
    odds: String,
    /// How `odds` is written (default decimal).
    #[serde(default = "default_format")]
    format: OddsFormat,
}

async fn convert(
    _b: Arc<SportsBundle>,
    input: ConvertInput,
    _ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    let d = odds::to_decimal(input.format, &input.odds, "odds")?;
    let c = odds::convert(d);
    Ok(ToolOutput::new(
        format!(
            "{} = decimal {} = fractional {} = American {} = implied {:.2}%",
            input.odds,
            c.decimal,
            c.fractional,
            c.american,
            c.implied * 100.0
        ),
        c,
    ))
}

/// Input of `odds_remove_margin`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RemoveMarginInput {
    /// Every outcome's price of one market (at least two).
    odds: Vec<String>,
    /// How the prices are written (default decimal).
    #[serde(default = "default_format")]
    format: OddsFormat,
    /// One method; all three when absent.
    method: Option<MarginMethod>,
}

async fn remove_margin(
    _b: Arc<SportsBundle>,
    input: RemoveMarginInput,
    _ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    let ds = input
        .odds
        .iter()
        .enumerate()
        .map(|(i, t)| odds::to_decimal(input.format, t, &format!("odds[{i}]")))
        .collect::<Result<Vec<_>, _>>()?;
    let methods = match input.method {
        Some(m) => vec![m],
        None => vec![
            MarginMethod::Proportional,
            MarginMethod::Power,
            MarginMethod::Shin,
        ],
    };
    let mut body = serde_json::Map::new();
    let mut text = format!("overround {:.4}%", odds::overround(&ds) * 100.0);
    for m in methods {
        let fair = odds::remove_margin(&ds, m)?;
        let name = serde_json::to_value(m)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        text.push_str(&format!(
            "\n{name}: {}",
            fair.probabilities
                .iter()
                .map(|p| format!("{:.4}", p))
                .collect::<Vec<_>>()
                .join(" / ")
        ));
        body.insert(name, serde_json::to_value(&fair).unwrap_or_default());
    }
    body.insert("decimal_odds".into(), json!(ds));
    body.insert("overround".into(), json!(odds::overround(&ds)));
    Ok(ToolOutput::new(text, body))
}

fn default_stake() -> Decimal {
    Decimal::from(100)
}

fn default_true() -> bool {
    true
}

/// Input of `odds_find_arbitrage`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ArbitrageInput {
    /// Quotes to search (one h2h market across books); when absent, the
    /// feed's events of `sport` are searched.
    quotes: Option<Vec<Quote>>,
    /// The market's outcomes (default: every outcome named in `quotes`).
    outcomes: Option<Vec<String>>,
    /// Sport to scan in the feed (with no `quotes`).
    sport: Option<String>,
    /// Feed: `sim`, `the-odds-api`, `betfair` (default: configured feed).
    source: Option<String>,
    /// Total stake to split across legs (default 100).
    #[serde(default = "default_stake")]
    total_stake: Decimal,
    /// Also look for middles in spreads and totals (default true).
    #[serde(default = "default_true")]
    middles: bool,
}

async fn find_arbitrage(
    b: Arc<SportsBundle>,
    input: ArbitrageInput,
    _ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    if input.total_stake <= Decimal::ZERO {
        return Err(ToolError::invalid("total_stake", "must be positive"));
    }
    if let Some(quotes) = &input.quotes {
        let mut names: Vec<String> = Vec::new();
        for q in quotes {
            if !names.contains(&q.outcome) {
                names.push(q.outcome.clone());
            }
        }
        let outcomes = input.outcomes.clone().unwrap_or(names);
        let arb = odds::find_arbitrage(quotes, &outcomes, input.total_stake);
        let totals = odds::find_middles(LineMarket::Totals, quotes, input.total_stake);
        let spreads = odds::find_middles(LineMarket::Spreads, quotes, input.total_stake);
        let text = match &arb {
            Some(a) => format!(
                "arbitrage: {:.3}% guaranteed ({} on {})",
                a.profit_pct * 100.0,
                a.guaranteed_profit,
                a.total_stake
            ),
            None => "no arbitrage in these quotes".into(),
        };
        return Ok(ToolOutput::new(
            format!("{text}; {} middle(s)", totals.len() + spreads.len()),
            json!({"arbitrage": arb, "middles": {"totals": totals, "spreads": spreads}}),
        ));
    }
    let sport = input
        .sport
        .as_deref()
        .ok_or_else(|| ToolError::invalid("sport", "give `quotes` or a `sport` to scan"))?;
    let feed = b.feed(input.source.as_deref())?;
    let markets: Vec<String> = if input.middles {
        vec!["h2h".into(), "spreads".into(), "totals".into()]
    } else {
        vec!["h2h".into()]
    };
    let events = feed.odds(sport, &markets).await?;
    let mut found = Vec::new();
    let mut middles = Vec::new();
    for e in &events {
        let h2h = e.quotes("h2h");
        let mut names: Vec<String> = Vec::new();
        for q in &h2h {
            if !names.contains(&q.outcome) {
                names.push(q.outcome.clone());
            }
        }
        if let Some(a) = odds::find_arbitrage(&h2h, &names, input.total_stake) {
            found.push(json!({"event": e.event, "arbitrage": a}));
        }
        if input.middles {
            for (key, m) in [
                ("totals", LineMarket::Totals),
                ("spreads", LineMarket::Spreads),
            ] {
                for mid in odds::find_middles(m, &e.quotes(key), input.total_stake) {
                    middles.push(json!({"event": e.event, "market": key, "middle": mid}));
                }
            }
        }
    }
    Ok(ToolOutput::from_venue(
        feed.name(),
        format!(
            "{} events scanned in {sport}: {} arbitrage(s), {} middle(s)",
            events.len(),
            found.len(),
            middles.len()
        ),
        json!({"sport": sport, "events_scanned": events.len(), "arbitrages": found, "middles": middles}),
    ))
}

/// Input of `odds_events`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct EventsInput {
    /// Sport key; absent lists the sports.
    sport: Option<String>,
    /// Feed: `sim`, `the-odds-api`, `betfair` (default: configured feed).
    source: Option<String>,
}

async fn events(
    b: Arc<SportsBundle>,
    input: EventsInput,
    _ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    let feed = b.feed(input.source.as_deref())?;
    match input.sport {
        None => {
            let sports = feed.sports().await?;
            let text = sports
                .iter()
                .map(|s| format!("{} ({})", s.key, s.title))
                .collect::<Vec<_>>()
                .join(", ");
            Ok(ToolOutput::from_venue(
                feed.name(),
                format!("{} sports: {text}", sports.len()),
                json!({"sports": sports}),
            ))
        }
        Some(sport) => {
            let evs = feed.odds(&sport, &["h2h".to_string()]).await?;
            let list: Vec<_> = evs
                .iter()
                .map(|e| {
                    json!({
                        "id": e.event.id, "sport": e.event.sport, "home": e.event.home, "away": e.event.away,
                        "commence_time": nt_mcp_core::dates::format_iso_ms(e.event.commence_ms), "books": e.books.len(),
                    })
                })
                .collect();
            let text = evs
                .iter()
                .map(|e| format!("{}: {} v {}", e.event.id, e.event.home, e.event.away))
                .collect::<Vec<_>>()
                .join("\n");
            Ok(ToolOutput::from_venue(
                feed.name(),
                format!("{} events in {sport}\n{text}", evs.len()),
                json!({"sport": sport, "events": list}),
            ))
        }
    }
}

fn default_method() -> MarginMethod {
    MarginMethod::Shin
}

/// Input of `odds_for_event`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ForEventInput {
    /// Sport key.
    sport: String,
    /// Event id (from `odds_events`).
    event_id: String,
    /// Markets: `h2h`, `spreads`, `totals` (default h2h).
    #[serde(default)]
    markets: Vec<String>,
    /// Feed: `sim`, `the-odds-api`, `betfair` (default: configured feed).
    source: Option<String>,
    /// Margin removal for the fair probabilities (default shin).
    #[serde(default = "default_method")]
    method: MarginMethod,
}

async fn for_event(
    b: Arc<SportsBundle>,
    input: ForEventInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    let feed = b.feed(input.source.as_deref())?;
    let e = feed
        .event_odds(&input.sport, &input.event_id, &input.markets)
        .await?;
    let mut books = Vec::new();
    let mut fair_sum: Vec<(String, f64, usize)> = Vec::new();
    for bk in &e.books {
        for m in bk.markets.iter().filter(|m| m.key == "h2h") {
            let ds: Vec<f64> = m.outcomes.iter().map(|o| f64_of(o.price)).collect();
            let fair = odds::remove_margin(&ds, input.method).ok();
            if let Some(f) = &fair {
                for (o, p) in m.outcomes.iter().zip(&f.probabilities) {
                    match fair_sum.iter_mut().find(|x| x.0 == o.name) {
                        Some(x) => {
                            x.1 += p;
                            x.2 += 1;
                        }
                        None => fair_sum.push((o.name.clone(), *p, 1)),
                    }
                }
            }
            books.push(json!({"book": bk.book, "last_update": nt_mcp_core::dates::format_iso_ms(bk.last_update_ms), "outcomes": m.outcomes, "fair": fair}));
        }
    }
    let quotes = e.quotes("h2h");
    let best: Vec<_> = fair_sum
        .iter()
        .map(|(name, p, n)| {
            let top = quotes.iter().filter(|q| &q.outcome == name).max_by(|a, b| a.odds.cmp(&b.odds));
            let consensus = p / *n as f64;
            json!({
                "outcome": name,
                "consensus_probability": odds::round(consensus, 6),
                "fair_odds": odds::round(1.0 / consensus, 4),
                "best_odds": top.map(|q| q.odds),
                "best_book": top.map(|q| q.book.clone()),
                "best_ev_per_unit": top.map(|q| odds::round(odds::expected_value(consensus, f64_of(q.odds)), 6)),
            })
        })
        .collect();
    let age_s = e.freshest_ms().map(|t| (ctx.clock.now_ms() - t) / 1000);
    let text = best
        .iter()
        .map(|x| {
            format!(
                "{}: fair {} best {} @ {}",
                x["outcome"].as_str().unwrap_or(""),
                x["fair_odds"],
                x["best_odds"],
                x["best_book"].as_str().unwrap_or("")
            )
        })
        .collect::<Vec<_>>()
        .join("\n");
    Ok(ToolOutput::from_venue(
        feed.name(),
        format!(
            "{} v {} ({})\n{text}",
            e.event.home, e.event.away, e.event.id
        ),
        json!({"event": e.event, "books": books, "h2h": best, "markets": e.books, "prices_age_s": age_s}),
    ))
}
