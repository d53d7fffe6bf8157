//! Bet tools: place (risk- and compliance-checked, idempotent by client
//! id, audited), list, settle, and the risk status.

use std::sync::Arc;

use nt_mcp_core::{Route, ToolCtx, ToolError, ToolOutput, route};
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use crate::SportsBundle;
use crate::bets::{self, Bet};
use crate::error::SportsError;
use crate::risk::{self, Proposed};
use crate::sim::SIM_NAME;

const SHARED: &str = "shared";

pub(crate) fn routes() -> Vec<Route<SportsBundle>> {
    vec![
        route(
            "bet_place",
            "Places a back bet: the selection's price must still be at least `odds`; every risk and compliance rule is checked first (a refusal names the rule). On the simulated book by default, on Betfair with venue=betfair. Placing the same client_id twice places it once.",
            place,
        )
        .trade(),
        route("bet_list", "Lists this account's bets, newest first, with their status and profit.", list),
        route(
            "bet_cancel",
            "Cancels the unmatched part of an open Betfair bet (cancelOrders): all of it voids the bet, part of it lowers the stake. Bets on the simulated book are matched in full and cannot be cancelled.",
            cancel,
        )
        .trade(),
        route(
            "bet_settle",
            "Settles an open bet as won, lost or void (operator), or from the feed's final score when `result` is absent. Audited.",
            settle,
        )
        .writes()
        .admin(),
        route(
            "betting_risk_status",
            "The risk and compliance rules in force, today's usage against each limit, open exposure by sport, the loss streak and whether a circuit breaker is open.",
            status,
        ),
    ]
}

/// Input of `bet_place`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PlaceInput {
    /// Your id for this bet (1-64 chars); placing it again returns the first.
    client_id: String,
    /// Sport key.
    sport: String,
    /// Event id (Betfair: the market id).
    event_id: String,
    /// Outcome to back (a side or `Draw`; Betfair: runner name or selection id).
    selection: String,
    /// Least decimal odds you accept.
    odds: Decimal,
    /// Stake.
    stake: Decimal,
    /// Book to take the price from (default: the best price).
    book: Option<String>,
    /// `sim` (default) or `betfair`.
    venue: Option<String>,
    /// Price feed for sim bets: `sim`, `the-odds-api` (default: configured feed).
    source: Option<String>,
}

fn money(field: &str, v: Decimal) -> Result<(), ToolError> {
    if v <= Decimal::ZERO {
        return Err(ToolError::invalid(field, "must be positive"));
    }
    if v.normalize().scale() > 2 {
        return Err(ToolError::invalid(field, "at most 2 decimal places"));
    }
    Ok(())
}

async fn place(
    b: Arc<SportsBundle>,
    input: PlaceInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    let cid = input.client_id.trim();
    if cid.is_empty() || cid.len() > 64 {
        return Err(ToolError::invalid("client_id", "1 to 64 characters"));
    }
    money("stake", input.stake)?;
    if input.odds <= Decimal::ONE {
        return Err(ToolError::invalid(
            "odds",
            "decimal odds must be greater than 1",
        ));
    }
    let account = ctx.account_or(SHARED).to_string();
    if let Some(first) = bets::by_client_id(&ctx, &account, cid).await? {
        return Ok(ToolOutput::from_venue(
            &first.venue,
            format!(
                "already placed as {} (client_id {cid}): {} @ {} stake {}",
                first.id, first.selection, first.odds, first.stake
            ),
            json!({"bet": first, "duplicate": true}),
        ));
    }
    let venue = input.venue.as_deref().unwrap_or("sim");
    let (feed, venue_name) = match venue {
        "sim" | SIM_NAME => (b.feed(input.source.as_deref())?, SIM_NAME),
        "betfair" => {
            if b.betfair.is_none() {
                return Err(ToolError::invalid(
                    "venue",
                    "Betfair is not configured (set BETFAIR_APP_KEY, BETFAIR_USERNAME, BETFAIR_PASSWORD)",
                ));
            }
            if !ctx.live_trading {
                return Err(ToolError::refused(
                    "venue=betfair bets real money and live trading is disabled",
                )
                .with_hint("enable live trading, or bet on venue=sim"));
            }
            (b.feed(Some("betfair"))?, crate::betfair::NAME)
        }
        other => {
            return Err(ToolError::invalid(
                "venue",
                format!("`{other}`: one of sim, betfair"),
            ));
        }
    };
    let ev = feed
        .event_odds(&input.sport, &input.event_id, &["h2h".to_string()])
        .await?;
    let offers: Vec<(String, Decimal, i64)> = ev
        .books
        .iter()
        .filter(|bk| input.book.as_deref().is_none_or(|want| want == bk.book))
        .flat_map(|bk| {
            bk.markets
                .iter()
                .filter(|m| m.key == "h2h")
                .flat_map(|m| m.outcomes.iter())
                .filter(|o| o.name.eq_ignore_ascii_case(input.selection.trim()))
                .map(|o| (bk.book.clone(), o.price, bk.last_update_ms))
        })
        .collect();
    let Some((book, price, at)) = offers.into_iter().max_by(|a, b| a.1.cmp(&b.1)) else {
        let names: Vec<String> = ev
            .books
            .first()
            .map(|bk| {
                bk.markets
                    .iter()
                    .flat_map(|m| m.outcomes.iter().map(|o| o.name.clone()))
                    .collect()
            })
            .unwrap_or_default();
        return Err(ToolError::invalid(
            if input.book.is_some() {
                "book"
            } else {
                "selection"
            },
            format!(
                "no price for `{}`{} in {} (outcomes: {})",
                input.selection,
                input
                    .book
                    .as_deref()
                    .map(|x| format!(" at {x}"))
                    .unwrap_or_default(),
                input.event_id,
                names.join(", ")
            ),
        ));
    };
    let now = ctx.clock.now_ms();
    if ev.event.commence_ms > 0 && ev.event.commence_ms <= now {
        return Err(SportsError::rule(
            "event_started",
            format!(
                "{} started at {}; in-play bets are not offered",
                input.event_id,
                nt_mcp_core::dates::format_iso_ms(ev.event.commence_ms)
            ),
        )
        .into());
    }
    if price < input.odds {
        return Err(ToolError::refused(format!(
            "price moved: {} is now {price} at {book}, below your {}",
            input.selection, input.odds
        ))
        .with_hint("bet again with odds at or below the current price"));
    }
    let usage = bets::usage(&ctx, &account, now).await?;
    risk::check(
        &b.risk,
        &usage,
        &Proposed {
            sport: &input.sport,
            event_id: &input.event_id,
            stake: input.stake,
            prices_at_ms: Some(at),
        },
        now,
    )?;
    let (venue_bet_id, taken) = match (venue_name, &b.betfair) {
        (crate::betfair::NAME, Some(bf)) => {
            let sel = bf.selection_id(&input.event_id, &input.selection).await?;
            let placed = bf
                .place_back(&input.event_id, sel, input.odds, input.stake, cid)
                .await?;
            let taken = if placed.size_matched > Decimal::ZERO {
                placed.average_price
            } else {
                input.odds
            };
            (Some(placed.bet_id), taken)
        }
        _ => (None, price),
    };
    let bet = Bet {
        id: uuid::Uuid::new_v4().to_string(),
        account: account.clone(),
        client_id: cid.to_string(),
        venue: venue_name.to_string(),
        venue_bet_id,
        sport: input.sport.clone(),
        event_id: input.event_id.clone(),
        event_name: format!("{} v {}", ev.event.home, ev.event.away),
        market: "h2h".into(),
        selection: input.selection.trim().to_string(),
        book,
        odds: taken,
        stake: input.stake,
        status: "open".into(),
        pnl: None,
        placed_ms: now,
        settled_ms: None,
    };
    let (bet, fresh) = bets::insert(&ctx, &bet).await?;
    Ok(ToolOutput::from_venue(
        &bet.venue,
        format!(
            "{} bet {}: {} @ {} stake {} ({}, {})",
            if fresh { "placed" } else { "already placed" },
            bet.id,
            bet.selection,
            bet.odds,
            bet.stake,
            bet.event_name,
            bet.book
        ),
        json!({"bet": bet, "duplicate": !fresh, "potential_return": (bet.stake * bet.odds).round_dp(2)}),
    ))
}

fn default_limit() -> i64 {
    50
}

/// Input of `bet_list`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListInput {
    /// Only bets with this status: open, won, lost, void.
    status: Option<String>,
    /// Most bets to list (1-500, default 50).
    #[serde(default = "default_limit")]
    limit: i64,
}

async fn list(
    _b: Arc<SportsBundle>,
    input: ListInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    if !(1..=500).contains(&input.limit) {
        return Err(ToolError::invalid("limit", "1 to 500"));
    }
    if let Some(s) = &input.status
        && !["open", "won", "lost", "void"].contains(&s.as_str())
    {
        return Err(ToolError::invalid("status", "one of open, won, lost, void"));
    }
    let account = ctx.account_or(SHARED).to_string();
    let list = bets::list(&ctx, &account, input.status.as_deref(), input.limit).await?;
    let pnl: Decimal = list.iter().filter_map(|b| b.pnl).sum();
    let open: Decimal = list
        .iter()
        .filter(|b| b.status == "open")
        .map(|b| b.stake)
        .sum();
    let text = list
        .iter()
        .map(|b| {
            format!(
                "{} {} {} @ {} stake {} {}",
                b.id, b.event_name, b.selection, b.odds, b.stake, b.status
            )
        })
        .collect::<Vec<_>>()
        .join("\n");
    Ok(ToolOutput::new(
        format!(
            "{} bets (open stake {open}, settled profit {pnl})\n{text}",
            list.len()
        ),
        json!({"bets": list, "open_stake": open, "settled_profit": pnl}),
    ))
}

/// Input of `bet_cancel`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CancelInput {
    /// Bet id (from `bet_place` or `bet_list`).
    bet_id: String,
}

async fn cancel(
    b: Arc<SportsBundle>,
    input: CancelInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    let account = ctx.account_or(SHARED).to_string();
    let bet = bets::get(&ctx, &account, &input.bet_id).await?;
    if bet.status != "open" {
        return Err(ToolError::refused(format!(
            "bet `{}` is {}, not open",
            bet.id, bet.status
        )));
    }
    if bet.venue != crate::betfair::NAME {
        return Err(ToolError::refused(format!(
            "bet `{}` was matched in full on {} when placed; there is nothing to cancel",
            bet.id, bet.venue
        )));
    }
    let (Some(bf), Some(venue_id)) = (&b.betfair, &bet.venue_bet_id) else {
        return Err(ToolError::refused(
            "Betfair is not configured on this server (set BETFAIR_APP_KEY, BETFAIR_USERNAME, BETFAIR_PASSWORD)",
        ));
    };
    if !ctx.live_trading {
        return Err(ToolError::refused(
            "cancelling on Betfair changes a real-money order and live trading is disabled",
        ));
    }
    let size = bf.cancel(&bet.event_id, venue_id).await?;
    let bet = bets::cancel(&ctx, &account, &bet.id, size).await?;
    Ok(ToolOutput::from_venue(
        crate::betfair::NAME,
        format!(
            "cancelled {size} of bet {}: now {} with stake {}",
            bet.id, bet.status, bet.stake
        ),
        json!({"bet": bet, "size_cancelled": size}),
    ))
}

/// Input of `bet_settle`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SettleInput {
    /// Bet id (from `bet_place` or `bet_list`).
    bet_id: String,
    /// `won`, `lost` or `void`; absent: from the feed's final score.
    result: Option<String>,
}

async fn settle(
    b: Arc<SportsBundle>,
    input: SettleInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    let account = ctx.account_or(SHARED).to_string();
    let result = match input.result {
        Some(r) => r,
        None => {
            let bet = bets::get(&ctx, &account, &input.bet_id).await?;
            let feed = b.feed(None)?;
            let scores = feed.scores(&bet.sport).await?;
            let s = scores
                .iter()
                .find(|s| s.event_id == bet.event_id && s.completed)
                .ok_or_else(|| {
                    SportsError::Refused(format!(
                        "{} has no final score for {} yet; give `result`",
                        feed.name(),
                        bet.event_id
                    ))
                })?;
            let (Some(h), Some(a)) = (s.home, s.away) else {
                return Err(SportsError::Refused(
                    "the final score has no numbers; give `result`".into(),
                )
                .into());
            };
            let (home, away) = bet.event_name.split_once(" v ").unwrap_or(("", ""));
            let winner = if h > a {
                home
            } else if a > h {
                away
            } else {
                "Draw"
            };
            if bet.selection.eq_ignore_ascii_case(winner) {
                "won".into()
            } else {
                "lost".into()
            }
        }
    };
    let bet = bets::settle(&ctx, &account, &input.bet_id, &result).await?;
    Ok(ToolOutput::new(
        format!(
            "bet {} settled {}: profit {}",
            bet.id,
            bet.status,
            bet.pnl.unwrap_or_default()
        ),
        json!({"bet": bet}),
    ))
}

/// Input of `betting_risk_status` (none).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct StatusInput {}

async fn status(
    b: Arc<SportsBundle>,
    _input: StatusInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    let account = ctx.account_or(SHARED).to_string();
    let now = ctx.clock.now_ms();
    let u = bets::usage(&ctx, &account, now).await?;
    let c = &b.risk;
    let breaker = risk::breaker_open_until(c, &u, now);
    let loss_today = (-u.settled_pnl_today).max(Decimal::ZERO);
    let excluded = c.self_excluded_until_ms.filter(|t| *t > now);
    let exposure: Vec<_> = u
        .open_by_sport
        .iter()
        .map(|(s, v)| json!({"sport": s, "open_stake": v, "limit": c.max_exposure_per_sport, "headroom": (c.max_exposure_per_sport - *v).max(Decimal::ZERO)}))
        .collect();
    let can_bet = excluded.is_none()
        && breaker.is_none()
        && loss_today < c.daily_loss_limit
        && u.staked_today < c.max_stake_per_day;
    Ok(ToolOutput::new(
        format!(
            "account {account}: {} | staked today {} of {} | settled loss today {} of {} | loss streak {}{}",
            if can_bet {
                "may bet"
            } else {
                "betting blocked"
            },
            u.staked_today,
            c.max_stake_per_day,
            loss_today,
            c.daily_loss_limit,
            u.loss_streak,
            breaker
                .map(|t| format!(
                    " | breaker open until {}",
                    nt_mcp_core::dates::format_iso_ms(t)
                ))
                .unwrap_or_default()
        ),
        json!({
            "account": account, "can_bet": can_bet, "rules": c, "usage": u,
            "headroom": {
                "max_stake_per_day": (c.max_stake_per_day - u.staked_today).max(Decimal::ZERO),
                "daily_loss_limit": (c.daily_loss_limit - loss_today).max(Decimal::ZERO),
            },
            "exposure_by_sport": exposure,
            "loss_streak_breaker_open_until": breaker.map(nt_mcp_core::dates::format_iso_ms),
            "self_excluded_until": excluded.map(nt_mcp_core::dates::format_iso_ms),
            "venues": b.venues_text(),
        }),
    ))
}

impl SportsBundle {
    fn venues_text(&self) -> Vec<String> {
        use nt_mcp_core::ToolBundle;
        self.venues()
            .into_iter()
            .map(|v| format!("{} ({:?})", v.name, v.mode).to_lowercase())
            .collect()
    }
}
