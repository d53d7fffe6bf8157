//! The trade engine (propose, counter, accept, reject, veto window) and
//! waivers (claims processed in waiver order), plus fairness evaluation.

use std::collections::{BTreeMap, BTreeSet};

use nt_mcp_core::Store;
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::data;
use crate::db::{Actor, audit, json_col, league_transaction, to_json};
use crate::error::{FantasyError, Result};
use crate::league::{
    self, League, LeagueKind, Team, add_to_roster, authorize, check_roster, clear_from_lineups,
};
use crate::model::Player;
use crate::optimizer::{Candidate, LineupRules, optimal_lineup_with_cancel};

mod waivers;

pub use waivers::{WaiverClaim, claim, process_waivers};

/// A trade offer as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Trade {
    /// Id.
    pub id: String,
    /// League.
    pub league_id: String,
    /// Proposing team.
    pub from_team: String,
    /// Receiving team.
    pub to_team: String,
    /// Players `from_team` sends.
    pub give: Vec<String>,
    /// Players `from_team` gets.
    pub receive: Vec<String>,
    /// proposed | countered | accepted | rejected | cancelled | vetoed | executed | failed
    pub status: String,
    /// The offer this one counters.
    pub parent_id: Option<String>,
    /// Note from the proposer.
    pub message: Option<String>,
    /// End of the veto window once accepted.
    pub veto_until_ms: Option<i64>,
}

fn trade_from_row(row: &AnyRow) -> Result<Trade> {
    Ok(Trade {
        id: row.try_get("id")?,
        league_id: row.try_get("league_id")?,
        from_team: row.try_get("from_team")?,
        to_team: row.try_get("to_team")?,
        give: json_col(row, "give")?,
        receive: json_col(row, "receive")?,
        status: row.try_get("status")?,
        parent_id: row.try_get("parent_id")?,
        message: row.try_get("message")?,
        veto_until_ms: row.try_get("veto_until_ms")?,
    })
}

/// Loads a trade.
pub async fn trade(store: &Store, id: &str) -> Result<Trade> {
    let row = sqlx::query("SELECT * FROM fantasy_trades WHERE id = $1")
        .bind(id)
        .fetch_optional(store.pool())
        .await?
        .ok_or_else(|| FantasyError::NotFound(format!("no trade `{id}`")))?;
    trade_from_row(&row)
}

/// Trades of a league, newest first.
pub async fn trades(store: &Store, league_id: &str) -> Result<Vec<Trade>> {
    let rows = sqlx::query(
        "SELECT * FROM fantasy_trades WHERE league_id = $1 ORDER BY created_ms DESC, id DESC",
    )
    .bind(league_id)
    .fetch_all(store.pool())
    .await?;
    rows.iter().map(trade_from_row).collect()
}

async fn roster_players(store: &Store, league: &League, team_id: &str) -> Result<Vec<Player>> {
    let ids: BTreeSet<String> = league::roster_ids(store, team_id)
        .await?
        .into_iter()
        .collect();
    Ok(data::players(store, league.sport)
        .await?
        .into_iter()
        .filter(|p| ids.contains(&p.id))
        .collect())
}

/// Checks ownership and that both rosters stay legal after the swap.
async fn validate_swap(
    store: &Store,
    league: &League,
    from: &Team,
    to: &Team,
    give: &[String],
    receive: &[String],
) -> Result<()> {
    if from.id == to.id {
        return Err(FantasyError::invalid(
            "to_team",
            "a team cannot trade with itself",
        ));
    }
    if give.is_empty() && receive.is_empty() {
        return Err(FantasyError::invalid(
            "give",
            "a trade moves at least one player",
        ));
    }
    let owners = league::owners(store, &league.id).await?;
    let mut seen = BTreeSet::new();
    for (field, ids, team) in [("give", give, from), ("receive", receive, to)] {
        for (i, id) in ids.iter().enumerate() {
            if !seen.insert(id) {
                return Err(FantasyError::invalid(
                    format!("{field}[{i}]"),
                    format!("`{id}` listed twice"),
                ));
            }
            if owners.get(id) != Some(&team.id) {
                return Err(FantasyError::invalid(
                    format!("{field}[{i}]"),
                    format!("`{id}` is not on {}", team.name),
                ));
            }
        }
    }
    let mut from_after = roster_players(store, league, &from.id).await?;
    let mut to_after = roster_players(store, league, &to.id).await?;
    let moving: BTreeMap<String, Player> = from_after
        .iter()
        .chain(to_after.iter())
        .filter(|p| give.contains(&p.id) || receive.contains(&p.id))
        .map(|p| (p.id.clone(), p.clone()))
        .collect();
    from_after.retain(|p| !give.contains(&p.id));
    to_after.retain(|p| !receive.contains(&p.id));
    from_after.extend(receive.iter().filter_map(|id| moving.get(id).cloned()));
    to_after.extend(give.iter().filter_map(|id| moving.get(id).cloned()));
    check_roster(league, &from_after, &from.name)?;
    check_roster(league, &to_after, &to.name)?;
    Ok(())
}

async fn season_league(store: &Store, team: &Team) -> Result<League> {
    let league = league::league(store, &team.league_id).await?;
    if league.kind != LeagueKind::Season {
        return Err(FantasyError::Refused(
            "daily contests have no rosters to trade".into(),
        ));
    }
    Ok(league)
}

/// Proposes a trade, audited.
#[allow(clippy::too_many_arguments)]
pub async fn propose(
    store: &Store,
    actor: &Actor,
    from_team: &str,
    to_team: &str,
    give: Vec<String>,
    receive: Vec<String>,
    message: Option<String>,
    parent_id: Option<String>,
    now: i64,
) -> Result<Trade> {
    let from = league::team(store, from_team).await?;
    authorize(&from, actor)?;
    let to = league::team(store, to_team)
        .await
        .map_err(|_| FantasyError::invalid("to_team", format!("no team `{to_team}`")))?;
    if to.league_id != from.league_id {
        return Err(FantasyError::invalid(
            "to_team",
            "the teams are in different leagues",
        ));
    }
    let league = season_league(store, &from).await?;
    settle(store, actor, &league, now).await?;
    validate_swap(store, &league, &from, &to, &give, &receive).await?;
    let trade = Trade {
        id: uuid::Uuid::now_v7().to_string(),
        league_id: league.id.clone(),
        from_team: from.id.clone(),
        to_team: to.id.clone(),
        give,
        receive,
        status: "proposed".into(),
        parent_id,
        message,
        veto_until_ms: None,
    };
    let mut tx = store.pool().begin().await?;
    sqlx::query(
        "INSERT INTO fantasy_trades (id, league_id, from_team, to_team, give, receive, status, parent_id, message, created_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(trade.id.as_str())
    .bind(trade.league_id.as_str())
    .bind(trade.from_team.as_str())
    .bind(trade.to_team.as_str())
    .bind(to_json(&trade.give))
    .bind(to_json(&trade.receive))
    .bind("proposed")
    .bind(trade.parent_id.clone())
    .bind(trade.message.clone())
    .bind(now)
    .execute(&mut *tx)
    .await?;
    if let Some(parent) = &trade.parent_id {
        sqlx::query(
            "UPDATE fantasy_trades SET status = 'countered', responded_ms = $2 WHERE id = $1",
        )
        .bind(parent.as_str())
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    league_transaction(
        &mut tx,
        &league.id,
        Some(&from.id),
        "trade_proposed",
        &trade,
        now,
    )
    .await?;
    audit(
        &mut tx,
        actor,
        "ok",
        &serde_json::json!({"event": "trade_proposed", "trade": trade}),
    )
    .await?;
    tx.commit().await?;
    Ok(trade)
}

/// A response to a trade.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Response {
    /// The receiving team accepts (the veto window starts).
    Accept,
    /// The receiving team declines.
    Reject,
    /// The receiving team answers with its own offer.
    Counter,
    /// Another team of the league votes to veto an accepted trade.
    Veto,
    /// The proposer withdraws an open offer.
    Cancel,
}

/// Answers a trade as `team_id`. `counter` is (give, receive) from the
/// countering team's side. Returns the trade (or the counter-offer).
pub async fn respond(
    store: &Store,
    actor: &Actor,
    trade_id: &str,
    team_id: &str,
    response: Response,
    counter: Option<(Vec<String>, Vec<String>)>,
    now: i64,
) -> Result<Trade> {
    let t = trade(store, trade_id).await?;
    let team = league::team(store, team_id).await?;
    authorize(&team, actor)?;
    if team.league_id != t.league_id {
        return Err(FantasyError::invalid(
            "team_id",
            "the team is not in this trade's league",
        ));
    }
    let league = season_league(store, &team).await?;
    settle(store, actor, &league, now).await?;
    let t = trade(store, trade_id).await?;
    let need = |cond: bool, msg: &str| {
        if cond {
            Ok(())
        } else {
            Err(FantasyError::Refused(msg.to_string()))
        }
    };
    match response {
        Response::Accept | Response::Reject | Response::Counter => {
            need(
                t.to_team == team.id,
                "only the receiving team may accept, reject or counter",
            )?;
            need(
                t.status == "proposed",
                &format!("the trade is {}, not open", t.status),
            )?;
        }
        Response::Cancel => {
            need(t.from_team == team.id, "only the proposer may cancel")?;
            need(
                t.status == "proposed",
                &format!("the trade is {}, not open", t.status),
            )?;
        }
        Response::Veto => {
            need(
                t.from_team != team.id && t.to_team != team.id,
                "a party to the trade cannot veto it",
            )?;
            need(
                t.status == "accepted",
                "only an accepted trade inside its veto window can be vetoed",
            )?;
        }
    }
    match response {
        Response::Counter => {
            let (give, receive) = counter.ok_or_else(|| {
                FantasyError::invalid(
                    "counter",
                    "a counter needs `counter.give` and `counter.receive`",
                )
            })?;
            propose(
                store,
                actor,
                &team.id,
                &t.from_team,
                give,
                receive,
                Some(format!("counter to {}", t.id)),
                Some(t.id.clone()),
                now,
            )
            .await
        }
        Response::Accept => {
            let from = league::team(store, &t.from_team).await?;
            validate_swap(store, &league, &from, &team, &t.give, &t.receive).await?;
            let mut tx = store.pool().begin().await?;
            let until = now.saturating_add(league.veto_window_ms);
            sqlx::query("UPDATE fantasy_trades SET status = 'accepted', responded_ms = $2, veto_until_ms = $3 WHERE id = $1")
                .bind(t.id.as_str())
                .bind(now)
                .bind(until)
                .execute(&mut *tx)
                .await?;
            league_transaction(
                &mut tx,
                &league.id,
                Some(&team.id),
                "trade_accepted",
                &serde_json::json!({"trade_id": t.id, "veto_until_ms": until}),
                now,
            )
            .await?;
            audit(&mut tx, actor, "ok", &serde_json::json!({"event": "trade_accepted", "trade_id": t.id, "veto_until_ms": until})).await?;
            tx.commit().await?;
            settle(store, actor, &league, now).await?;
            trade(store, &t.id).await
        }
        Response::Reject | Response::Cancel => {
            let status = if response == Response::Reject {
                "rejected"
            } else {
                "cancelled"
            };
            let mut tx = store.pool().begin().await?;
            sqlx::query("UPDATE fantasy_trades SET status = $2, responded_ms = $3 WHERE id = $1")
                .bind(t.id.as_str())
                .bind(status)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            league_transaction(
                &mut tx,
                &league.id,
                Some(&team.id),
                &format!("trade_{status}"),
                &serde_json::json!({"trade_id": t.id}),
                now,
            )
            .await?;
            audit(
                &mut tx,
                actor,
                "ok",
                &serde_json::json!({"event": format!("trade_{status}"), "trade_id": t.id}),
            )
            .await?;
            tx.commit().await?;
            trade(store, &t.id).await
        }
        Response::Veto => {
            let mut tx = store.pool().begin().await?;
            sqlx::query("INSERT INTO fantasy_trade_vetoes (trade_id, team_id, at_ms) VALUES ($1, $2, $3) ON CONFLICT (trade_id, team_id) DO NOTHING")
                .bind(t.id.as_str())
                .bind(team.id.as_str())
                .bind(now)
                .execute(&mut *tx)
                .await?;
            let vetoes: i64 =
                sqlx::query("SELECT COUNT(*) FROM fantasy_trade_vetoes WHERE trade_id = $1")
                    .bind(t.id.as_str())
                    .fetch_one(&mut *tx)
                    .await?
                    .try_get(0)?;
            let vetoed = vetoes >= league.veto_votes;
            if vetoed {
                sqlx::query("UPDATE fantasy_trades SET status = 'vetoed' WHERE id = $1")
                    .bind(t.id.as_str())
                    .execute(&mut *tx)
                    .await?;
            }
            league_transaction(&mut tx, &league.id, Some(&team.id), "trade_veto_vote", &serde_json::json!({"trade_id": t.id, "vetoes": vetoes, "needed": league.veto_votes, "vetoed": vetoed}), now).await?;
            audit(&mut tx, actor, "ok", &serde_json::json!({"event": "trade_veto_vote", "trade_id": t.id, "vetoes": vetoes, "vetoed": vetoed})).await?;
            tx.commit().await?;
            trade(store, &t.id).await
        }
    }
}

/// Executes accepted trades whose veto window has passed (re-checking
/// ownership and rosters; a trade that no longer fits fails). Returns the
/// ids executed.
pub async fn settle(
    store: &Store,
    actor: &Actor,
    league: &League,
    now: i64,
) -> Result<Vec<String>> {
    let due: Vec<Trade> = trades(store, &league.id)
        .await?
        .into_iter()
        .filter(|t| t.status == "accepted" && t.veto_until_ms.is_some_and(|u| u <= now))
        .collect();
    let mut done = Vec::new();
    for t in due {
        let from = league::team(store, &t.from_team).await?;
        let to = league::team(store, &t.to_team).await?;
        let check = validate_swap(store, league, &from, &to, &t.give, &t.receive).await;
        let mut tx = store.pool().begin().await?;
        match check {
            Ok(()) => {
                for (ids, old, new) in [(&t.give, &from, &to), (&t.receive, &to, &from)] {
                    for id in ids {
                        sqlx::query("UPDATE fantasy_rosters SET team_id = $3, how = 'trade', acquired_ms = $4 WHERE league_id = $1 AND player_id = $2")
                            .bind(league.id.as_str())
                            .bind(id.as_str())
                            .bind(new.id.as_str())
                            .bind(now)
                            .execute(&mut *tx)
                            .await?;
                        clear_from_lineups(&mut tx, &old.id, id, league.current_week).await?;
                    }
                }
                sqlx::query("UPDATE fantasy_trades SET status = 'executed' WHERE id = $1")
                    .bind(t.id.as_str())
                    .execute(&mut *tx)
                    .await?;
                league_transaction(
                    &mut tx,
                    &league.id,
                    Some(&from.id),
                    "trade_executed",
                    &t,
                    now,
                )
                .await?;
                audit(
                    &mut tx,
                    actor,
                    "ok",
                    &serde_json::json!({"event": "trade_executed", "trade": t}),
                )
                .await?;
                done.push(t.id.clone());
            }
            Err(e) => {
                sqlx::query("UPDATE fantasy_trades SET status = 'failed' WHERE id = $1")
                    .bind(t.id.as_str())
                    .execute(&mut *tx)
                    .await?;
                audit(&mut tx, actor, "refused", &serde_json::json!({"event": "trade_failed", "trade_id": t.id, "reason": e.to_string()})).await?;
            }
        }
        tx.commit().await?;
    }
    Ok(done)
}

/// One side of a fairness evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SideValue {
    /// Team id.
    pub team_id: String,
    /// Rest-of-season projected points of the players it sends.
    pub sends_value: Decimal,
    /// Rest-of-season projected points of the players it gets.
    pub gets_value: Decimal,
    /// Projected starting-lineup points per week before the trade.
    pub lineup_before: Decimal,
    /// ... and after: the positional-need view.
    pub lineup_after: Decimal,
    /// Weekly lineup change × remaining weeks.
    pub season_gain: Decimal,
}

/// A fairness evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Evaluation {
    /// Weeks left in the season (rest-of-season horizon).
    pub weeks_left: i64,
    /// The proposing side.
    pub from: SideValue,
    /// The receiving side.
    pub to: SideValue,
    /// fair | favors_from | favors_to
    pub verdict: String,
    /// Why.
    pub reason: String,
}

async fn lineup_points(
    league: &League,
    players: &[Player],
    proj: &BTreeMap<String, Decimal>,
    cancelled: &(dyn Fn() -> bool + Sync),
) -> Result<Decimal> {
    let pool: Vec<Candidate> = players
        .iter()
        .map(|p| Candidate {
            id: p.id.clone(),
            team: p.team.clone(),
            positions: p.positions.clone(),
            salary: Decimal::ZERO,
            projection: proj.get(&p.id).copied().unwrap_or_default(),
        })
        .collect();
    let rules = LineupRules {
        slots: league.slots.clone(),
        ..Default::default()
    };
    match optimal_lineup_with_cancel(&pool, &rules, cancelled) {
        Ok((l, _)) => Ok(l.projection),
        Err(FantasyError::Cancelled) => Err(FantasyError::Cancelled),
        Err(_) => Ok(Decimal::ZERO),
    }
}

/// Evaluates a proposed swap: rest-of-season value of both sides and each
/// team's best lineup before and after (positional need). The lineup
/// searches poll `cancelled` and stop with [`FantasyError::Cancelled`].
pub async fn evaluate(
    store: &Store,
    from_team: &str,
    to_team: &str,
    give: &[String],
    receive: &[String],
    now: i64,
    cancelled: &(dyn Fn() -> bool + Sync),
) -> Result<Evaluation> {
    let from = league::team(store, from_team).await?;
    let to = league::team(store, to_team)
        .await
        .map_err(|_| FantasyError::invalid("to_team", format!("no team `{to_team}`")))?;
    if from.league_id != to.league_id {
        return Err(FantasyError::invalid(
            "to_team",
            "the teams are in different leagues",
        ));
    }
    let league = season_league(store, &from).await?;
    validate_swap(store, &league, &from, &to, give, receive).await?;
    let proj = league::projections(store, &league, league.current_week, now).await?;
    let weeks_left = (league.weeks - league.current_week + 1).max(0);
    let value = |ids: &[String]| {
        ids.iter()
            .map(|id| proj.get(id).copied().unwrap_or_default())
            .sum::<Decimal>()
            * Decimal::from(weeks_left)
    };
    let from_before = roster_players(store, &league, &from.id).await?;
    let to_before = roster_players(store, &league, &to.id).await?;
    let moving: BTreeMap<String, Player> = from_before
        .iter()
        .chain(to_before.iter())
        .map(|p| (p.id.clone(), p.clone()))
        .collect();
    let after = |before: &[Player], out: &[String], inn: &[String]| -> Vec<Player> {
        let mut v: Vec<Player> = before
            .iter()
            .filter(|p| !out.contains(&p.id))
            .cloned()
            .collect();
        v.extend(inn.iter().filter_map(|id| moving.get(id).cloned()));
        v
    };
    let side = |team: &Team, sends: &[String], gets: &[String], before: Decimal, after: Decimal| {
        SideValue {
            team_id: team.id.clone(),
            sends_value: value(sends),
            gets_value: value(gets),
            lineup_before: before,
            lineup_after: after,
            season_gain: (after - before) * Decimal::from(weeks_left),
        }
    };
    let fb = lineup_points(&league, &from_before, &proj, cancelled).await?;
    let fa = lineup_points(
        &league,
        &after(&from_before, give, receive),
        &proj,
        cancelled,
    )
    .await?;
    let tb = lineup_points(&league, &to_before, &proj, cancelled).await?;
    let ta = lineup_points(&league, &after(&to_before, receive, give), &proj, cancelled).await?;
    let from_side = side(&from, give, receive, fb, fa);
    let to_side = side(&to, receive, give, tb, ta);
    let diff = from_side.season_gain - to_side.season_gain;
    let scale = (fb + tb).max(Decimal::ONE) * Decimal::from(weeks_left.max(1));
    let threshold = scale * Decimal::new(2, 2); // 2% of both lineups' rest-of-season points
    let (verdict, reason) = if diff.abs() <= threshold {
        (
            "fair",
            format!(
                "lineup gains differ by {} points over {weeks_left} weeks (within 2%)",
                diff.round_dp(1)
            ),
        )
    } else if diff > Decimal::ZERO {
        (
            "favors_from",
            format!(
                "{} gains {} more rest-of-season lineup points than {}",
                from.name,
                diff.round_dp(1),
                to.name
            ),
        )
    } else {
        (
            "favors_to",
            format!(
                "{} gains {} more rest-of-season lineup points than {}",
                to.name,
                (-diff).round_dp(1),
                from.name
            ),
        )
    };
    Ok(Evaluation {
        weeks_left,
        from: from_side,
        to: to_side,
        verdict: verdict.into(),
        reason,
    })
}
