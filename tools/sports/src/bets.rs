//! The bet book in the database: placing (idempotent by client id, audited
//! in the same transaction), listing, settling, and the account's usage
//! the risk rules read.

use std::collections::BTreeMap;

use nt_mcp_core::{Migration, ToolCtx};
use rust_decimal::Decimal;
use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::error::{Result, SportsError};
use crate::risk::Usage;

/// The bundle's migrations (after the core ones).
pub fn migrations() -> Vec<Migration> {
    vec![Migration::portable(
        "sports/0001_sports_bets",
        include_str!("../../../migrations/sports/0001_sports_bets.sql"),
    )]
}

/// A bet as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bet {
    /// Our id.
    pub id: String,
    /// The account it belongs to.
    pub account: String,
    /// The caller's client id (idempotency key).
    pub client_id: String,
    /// Where it was placed (`sim-book`, `betfair`).
    pub venue: String,
    /// The venue's bet id.
    pub venue_bet_id: Option<String>,
    /// Sport key.
    pub sport: String,
    /// Event id.
    pub event_id: String,
    /// `Home v Away`.
    pub event_name: String,
    /// Market (`h2h`).
    pub market: String,
    /// Selection (outcome name).
    pub selection: String,
    /// Book that took it.
    pub book: String,
    /// Decimal odds taken.
    pub odds: Decimal,
    /// Stake.
    pub stake: Decimal,
    /// `open`, `won`, `lost`, `void`.
    pub status: String,
    /// Profit once settled.
    pub pnl: Option<Decimal>,
    /// Placed at (ms).
    pub placed_ms: i64,
    /// Settled at (ms).
    pub settled_ms: Option<i64>,
}

fn dec(row: &AnyRow, col: &str) -> Result<Decimal> {
    let t: String = row.try_get(col)?;
    t.parse()
        .map_err(|e| SportsError::Corrupt(format!("{col} `{t}`: {e}")))
}

fn from_row(row: &AnyRow) -> Result<Bet> {
    let pnl: Option<String> = row.try_get("pnl")?;
    Ok(Bet {
        id: row.try_get("id")?,
        account: row.try_get("account")?,
        client_id: row.try_get("client_id")?,
        venue: row.try_get("venue")?,
        venue_bet_id: row.try_get("venue_bet_id")?,
        sport: row.try_get("sport")?,
        event_id: row.try_get("event_id")?,
        event_name: row.try_get("event_name")?,
        market: row.try_get("market")?,
        selection: row.try_get("selection")?,
        book: row.try_get("book")?,
        odds: dec(row, "odds")?,
        stake: dec(row, "stake")?,
        status: row.try_get("status")?,
        pnl: pnl
            .map(|p| {
                p.parse()
                    .map_err(|e| SportsError::Corrupt(format!("pnl `{p}`: {e}")))
            })
            .transpose()?,
        placed_ms: row.try_get("placed_ms")?,
        settled_ms: row.try_get("settled_ms")?,
    })
}

const COLS: &str = "id, account, client_id, venue, venue_bet_id, sport, event_id, event_name, market, selection, book, odds, stake, status, pnl, placed_ms, settled_ms";

/// The bet of `account` with `client_id`, if placed.
pub async fn by_client_id(ctx: &ToolCtx, account: &str, client_id: &str) -> Result<Option<Bet>> {
    let row = sqlx::query(&format!(
        "SELECT {COLS} FROM sports_bets WHERE account = $1 AND client_id = $2"
    ))
    .bind(account)
    .bind(client_id)
    .fetch_optional(ctx.store.pool())
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// One bet of `account`.
pub async fn get(ctx: &ToolCtx, account: &str, id: &str) -> Result<Bet> {
    let row = sqlx::query(&format!(
        "SELECT {COLS} FROM sports_bets WHERE account = $1 AND id = $2"
    ))
    .bind(account)
    .bind(id)
    .fetch_optional(ctx.store.pool())
    .await?;
    row.as_ref().map(from_row).transpose()?.ok_or_else(|| {
        SportsError::NotFound(format!("no bet `{id}` in this account (see bet_list)"))
    })
}

/// Bets of `account`, newest first, optionally only those with `status`.
pub async fn list(
    ctx: &ToolCtx,
    account: &str,
    status: Option<&str>,
    limit: i64,
) -> Result<Vec<Bet>> {
    let rows = match status {
        Some(s) => {
            sqlx::query(&format!("SELECT {COLS} FROM sports_bets WHERE account = $1 AND status = $2 ORDER BY placed_ms DESC, id LIMIT $3"))
                .bind(account)
                .bind(s)
                .bind(limit)
                .fetch_all(ctx.store.pool())
                .await?
        }
        None => {
            sqlx::query(&format!("SELECT {COLS} FROM sports_bets WHERE account = $1 ORDER BY placed_ms DESC, id LIMIT $2"))
                .bind(account)
                .bind(limit)
                .fetch_all(ctx.store.pool())
                .await?
        }
    };
    rows.iter().map(from_row).collect()
}

/// Records a placed bet and its audit row in one transaction. A second
/// insert of the same (account, client id) returns the first bet.
pub async fn insert(ctx: &ToolCtx, bet: &Bet) -> Result<(Bet, bool)> {
    let mut tx = ctx.store.pool().begin().await?;
    let inserted = sqlx::query(&format!(
        "INSERT INTO sports_bets ({COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)"
    ))
    .bind(&bet.id)
    .bind(&bet.account)
    .bind(&bet.client_id)
    .bind(&bet.venue)
    .bind(&bet.venue_bet_id)
    .bind(&bet.sport)
    .bind(&bet.event_id)
    .bind(&bet.event_name)
    .bind(&bet.market)
    .bind(&bet.selection)
    .bind(&bet.book)
    .bind(bet.odds.to_string())
    .bind(bet.stake.to_string())
    .bind(&bet.status)
    .bind(bet.pnl.map(|p| p.to_string()))
    .bind(bet.placed_ms)
    .bind(bet.settled_ms)
    .execute(&mut *tx)
    .await;
    match inserted {
        Ok(_) => {
            ctx.audit(&mut *tx, "bet_placed", bet).await?;
            tx.commit().await?;
            Ok((bet.clone(), true))
        }
        Err(e) => {
            drop(tx);
            match by_client_id(ctx, &bet.account, &bet.client_id).await? {
                Some(first) => Ok((first, false)),
                None => Err(e.into()),
            }
        }
    }
}

/// Settles an open bet: `won` pays `stake × (odds − 1)`, `lost` costs the
/// stake, `void` returns it. Audited in the same transaction; a bet
/// already settled is refused.
pub async fn settle(ctx: &ToolCtx, account: &str, id: &str, result: &str) -> Result<Bet> {
    let mut bet = get(ctx, account, id).await?;
    if bet.status != "open" {
        return Err(SportsError::Refused(format!(
            "bet `{id}` is already settled ({})",
            bet.status
        )));
    }
    let pnl = match result {
        "won" => (bet.stake * (bet.odds - Decimal::ONE)).round_dp(2),
        "lost" => -bet.stake,
        "void" => Decimal::ZERO,
        other => {
            return Err(SportsError::invalid(
                "result",
                format!("`{other}`: one of won, lost, void"),
            ));
        }
    };
    let now = ctx.clock.now_ms();
    let mut tx = ctx.store.pool().begin().await?;
    let done = sqlx::query("UPDATE sports_bets SET status = $1, pnl = $2, settled_ms = $3 WHERE account = $4 AND id = $5 AND status = 'open'")
        .bind(result)
        .bind(pnl.to_string())
        .bind(now)
        .bind(account)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    if done.rows_affected() != 1 {
        return Err(SportsError::Refused(format!(
            "bet `{id}` was settled by another call"
        )));
    }
    bet.status = result.to_string();
    bet.pnl = Some(pnl);
    bet.settled_ms = Some(now);
    ctx.audit(&mut *tx, "bet_settled", &bet).await?;
    tx.commit().await?;
    Ok(bet)
}

/// Records `cancelled` of an open bet's stake as cancelled at the venue:
/// the whole stake makes it `void` (no profit), less reduces the stake.
/// Audited in the same transaction.
pub async fn cancel(ctx: &ToolCtx, account: &str, id: &str, cancelled: Decimal) -> Result<Bet> {
    let mut bet = get(ctx, account, id).await?;
    if bet.status != "open" {
        return Err(SportsError::Refused(format!(
            "bet `{id}` is {}, not open",
            bet.status
        )));
    }
    let now = ctx.clock.now_ms();
    let mut tx = ctx.store.pool().begin().await?;
    if cancelled >= bet.stake {
        bet.status = "void".into();
        bet.pnl = Some(Decimal::ZERO);
        bet.settled_ms = Some(now);
    } else {
        bet.stake -= cancelled;
    }
    let done = sqlx::query("UPDATE sports_bets SET status = $1, pnl = $2, settled_ms = $3, stake = $4 WHERE account = $5 AND id = $6 AND status = 'open'")
        .bind(&bet.status)
        .bind(bet.pnl.map(|p| p.to_string()))
        .bind(bet.settled_ms)
        .bind(bet.stake.to_string())
        .bind(account)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    if done.rows_affected() != 1 {
        return Err(SportsError::Refused(format!(
            "bet `{id}` was settled by another call"
        )));
    }
    ctx.audit(
        &mut *tx,
        "bet_cancelled",
        &serde_json::json!({"bet": bet, "size_cancelled": cancelled}),
    )
    .await?;
    tx.commit().await?;
    Ok(bet)
}

/// The account's usage for the risk rules at `now_ms` (UTC day).
pub async fn usage(ctx: &ToolCtx, account: &str, now_ms: i64) -> Result<Usage> {
    let day_start = now_ms - now_ms.rem_euclid(86_400_000);
    let rows = sqlx::query(&format!(
        "SELECT {COLS} FROM sports_bets WHERE account = $1 ORDER BY placed_ms"
    ))
    .bind(account)
    .fetch_all(ctx.store.pool())
    .await?;
    let bets: Vec<Bet> = rows.iter().map(from_row).collect::<Result<_>>()?;
    let mut u = Usage {
        staked_by_event: BTreeMap::new(),
        open_by_sport: BTreeMap::new(),
        ..Usage::default()
    };
    for b in &bets {
        if b.placed_ms >= day_start {
            u.staked_today += b.stake;
        }
        *u.staked_by_event.entry(b.event_id.clone()).or_default() += b.stake;
        if b.status == "open" {
            *u.open_by_sport.entry(b.sport.clone()).or_default() += b.stake;
        }
        if b.settled_ms.is_some_and(|t| t >= day_start) {
            u.settled_pnl_today += b.pnl.unwrap_or_default();
        }
    }
    let mut settled: Vec<&Bet> = bets
        .iter()
        .filter(|b| b.settled_ms.is_some() && b.status != "void")
        .collect();
    settled.sort_by_key(|b| std::cmp::Reverse(b.settled_ms));
    for b in settled {
        if b.status != "lost" {
            break;
        }
        u.loss_streak += 1;
        u.last_loss_ms = u.last_loss_ms.max(b.settled_ms);
    }
    Ok(u)
}
