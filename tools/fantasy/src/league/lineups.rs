//! Team lineups: stored lineup rows, the best lineup by projection, setting
//! a lineup (refused once locked) and the weekly lock at game start.

use std::collections::{BTreeMap, BTreeSet};

use nt_mcp_core::Store;
use nt_mcp_core::bundle::CancellationToken;
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::*;
use crate::db::{Actor, audit};
use crate::error::{FantasyError, Result};
use crate::model::{Player, Slot};
use crate::optimizer::{Candidate, LineupRules, optimal_lineup_with_cancel};

/// One filled lineup slot as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LineupRow {
    /// Slot index in the league's slot list.
    pub slot_index: i64,
    /// Slot label.
    pub slot: String,
    /// Player.
    pub player_id: String,
    /// Locked at game start.
    pub locked: bool,
    /// When it locked (the player's kickoff), once locked.
    pub locked_ms: Option<i64>,
}

/// A team's lineup for a week.
pub async fn lineup(store: &Store, team_id: &str, week: i64) -> Result<Vec<LineupRow>> {
    let rows = sqlx::query("SELECT slot_index, slot, player_id, locked, locked_ms FROM fantasy_lineups WHERE team_id = $1 AND week = $2 ORDER BY slot_index")
        .bind(team_id)
        .bind(week)
        .fetch_all(store.pool())
        .await?;
    rows.iter()
        .map(|r| {
            Ok(LineupRow {
                slot_index: r.try_get("slot_index")?,
                slot: r.try_get("slot")?,
                player_id: r.try_get("player_id")?,
                locked: r.try_get::<i64, _>("locked")? != 0,
                locked_ms: r.try_get("locked_ms")?,
            })
        })
        .collect()
}

/// The best lineup a team can field from its roster (season) or from the
/// whole pool under the cap (daily), by projections for `week`.
pub async fn best_lineup(
    store: &Store,
    league: &League,
    team_id: &str,
    week: i64,
    now: i64,
) -> Result<Vec<(usize, String)>> {
    best_lineup_until(store, league, team_id, week, now, CancellationToken::new()).await
}

/// [`best_lineup`], whose search stops with [`FantasyError::Cancelled`]
/// once `cancel` is cancelled.
pub async fn best_lineup_until(
    store: &Store,
    league: &League,
    team_id: &str,
    week: i64,
    now: i64,
    cancel: CancellationToken,
) -> Result<Vec<(usize, String)>> {
    let all = data::players(store, league.sport).await?;
    let proj = projections(store, league, week, now).await?;
    // Players whose game has kicked off stay where they are; the others
    // fill the open slots.
    let kicks = kickoffs(store, league, week).await?;
    let started = |p: &Player| now >= kickoff_of(&kicks, league, week, &p.team);
    let by_id: BTreeMap<&str, &Player> = all.iter().map(|p| (p.id.as_str(), p)).collect();
    let mut fixed: BTreeMap<usize, String> = BTreeMap::new();
    let mut fixed_salary = Decimal::ZERO;
    for r in lineup(store, team_id, week).await? {
        if let Some(p) = by_id.get(r.player_id.as_str())
            && (r.locked || started(p))
            && let Ok(i) = usize::try_from(r.slot_index)
            && i < league.slots.len()
        {
            fixed_salary += p.salary.unwrap_or_default();
            fixed.insert(i, r.player_id);
        }
    }
    let open: Vec<usize> = (0..league.slots.len())
        .filter(|i| !fixed.contains_key(i))
        .collect();
    if open.is_empty() {
        return Ok(fixed.into_iter().collect());
    }
    let eligible: Vec<&Player> = match league.kind {
        LeagueKind::Season => {
            let ids: BTreeSet<String> = roster_ids(store, team_id).await?.into_iter().collect();
            all.iter().filter(|p| ids.contains(&p.id)).collect()
        }
        LeagueKind::Daily => all.iter().filter(|p| p.salary.is_some()).collect(),
    };
    let pool: Vec<Candidate> = eligible
        .iter()
        .filter(|p| !started(p))
        .map(|p| Candidate {
            id: p.id.clone(),
            team: p.team.clone(),
            positions: p.positions.clone(),
            salary: p.salary.unwrap_or_default(),
            projection: proj.get(&p.id).copied().unwrap_or_default(),
        })
        .collect();
    let rules = LineupRules {
        slots: open.iter().map(|i| league.slots[*i].clone()).collect(),
        salary_cap: if league.kind == LeagueKind::Daily {
            league.salary_cap.map(|cap| cap - fixed_salary)
        } else {
            None
        },
        ..Default::default()
    };
    // CPU-bound (up to the optimizer's node budget): off the async workers.
    let (best, _) = tokio::task::spawn_blocking(move || {
        optimal_lineup_with_cancel(&pool, &rules, &|| cancel.is_cancelled())
    })
    .await
    .map_err(|e| FantasyError::Corrupt(format!("lineup task failed: {e}")))??;
    let mut out: Vec<(usize, String)> = fixed.into_iter().collect();
    out.extend(
        open.into_iter()
            .zip(best.slots)
            .map(|(i, s)| (i, s.player_id)),
    );
    out.sort();
    Ok(out)
}

/// Sets a team's lineup for `week` (slot index -> player), audited. Refused
/// once the week has locked.
pub async fn set_lineup(
    store: &Store,
    actor: &Actor,
    team_id: &str,
    week: i64,
    assignment: Vec<(usize, String)>,
    now: i64,
) -> Result<Vec<LineupRow>> {
    let team = team(store, team_id).await?;
    authorize(&team, actor)?;
    let league = league(store, &team.league_id).await?;
    if week < league.current_week || week > league.weeks {
        return Err(FantasyError::invalid(
            "week",
            format!(
                "lineups can be set for weeks {}..={}",
                league.current_week, league.weeks
            ),
        ));
    }
    if assignment.len() != league.slots.len() {
        return Err(FantasyError::invalid(
            "lineup",
            format!(
                "{} players for {} slots ({})",
                assignment.len(),
                league.slots.len(),
                slot_names(&league.slots)
            ),
        ));
    }
    let roster: BTreeSet<String> = roster_ids(store, team_id).await?.into_iter().collect();
    let mut chosen: Vec<Player> = Vec::with_capacity(assignment.len());
    let mut seen = BTreeSet::new();
    let mut filled = BTreeSet::new();
    let mut salary = Decimal::ZERO;
    for (i, (slot_index, player_id)) in assignment.iter().enumerate() {
        let field = format!("lineup[{i}]");
        let Some(slot) = league.slots.get(*slot_index) else {
            return Err(FantasyError::invalid(
                format!("{field}.slot_index"),
                format!("the league has slots 0..{}", league.slots.len()),
            ));
        };
        if !filled.insert(*slot_index) {
            return Err(FantasyError::invalid(
                format!("{field}.slot_index"),
                "slot filled twice",
            ));
        }
        if !seen.insert(player_id.clone()) {
            return Err(FantasyError::invalid(
                format!("{field}.player_id"),
                format!("`{player_id}` appears twice"),
            ));
        }
        let p = data::player(store, player_id).await.map_err(|_| {
            FantasyError::invalid(
                format!("{field}.player_id"),
                format!("no player `{player_id}`"),
            )
        })?;
        if p.sport != league.sport {
            return Err(FantasyError::invalid(
                format!("{field}.player_id"),
                format!("`{player_id}` is not a {} player", league.sport),
            ));
        }
        if league.kind == LeagueKind::Season && !roster.contains(player_id) {
            return Err(FantasyError::invalid(
                format!("{field}.player_id"),
                format!("`{player_id}` is not on this roster"),
            ));
        }
        if !slot.accepts_any(&p.positions) {
            return Err(FantasyError::invalid(
                format!("{field}.player_id"),
                format!(
                    "`{player_id}` ({}) cannot play {} ({})",
                    p.positions.join("/"),
                    slot.name,
                    slot.accepts.join("/")
                ),
            ));
        }
        salary += p.salary.unwrap_or_default();
        chosen.push(p);
    }
    if let (LeagueKind::Daily, Some(cap)) = (league.kind, league.salary_cap)
        && salary > cap
    {
        return Err(FantasyError::invalid(
            "lineup",
            format!("salary {salary} is over the cap {cap}"),
        ));
    }
    // Lock at game start, player by player: a player whose game has kicked
    // off stays where he is (starting or not) until the week is scored.
    let kicks = kickoffs(store, &league, week).await?;
    let current = lineup(store, team_id, week).await?;
    let new_at: BTreeMap<usize, &str> =
        assignment.iter().map(|(i, id)| (*i, id.as_str())).collect();
    let refuse = |p: &Player, kickoff: i64, what: String| {
        FantasyError::Refused(format!(
            "{} ({}) {what}: his game kicked off at {} (week {week})",
            p.name,
            p.id,
            iso_utc(kickoff)
        ))
    };
    for r in &current {
        let p = data::player(store, &r.player_id).await?;
        let kickoff = r
            .locked_ms
            .unwrap_or_else(|| kickoff_of(&kicks, &league, week, &p.team));
        let slot = usize::try_from(r.slot_index).unwrap_or(usize::MAX);
        if (r.locked || now >= kickoff) && new_at.get(&slot) != Some(&r.player_id.as_str()) {
            return Err(refuse(
                &p,
                kickoff,
                format!("cannot be moved out of {}", r.slot),
            ));
        }
    }
    for ((slot_index, player_id), p) in assignment.iter().zip(&chosen) {
        let kickoff = kickoff_of(&kicks, &league, week, &p.team);
        let already = current
            .iter()
            .any(|r| r.slot_index == *slot_index as i64 && &r.player_id == player_id);
        if now >= kickoff && !already {
            return Err(refuse(
                p,
                kickoff,
                format!("cannot be moved into {}", league.slots[*slot_index].name),
            ));
        }
    }
    let mut tx = store.pool().begin().await?;
    sqlx::query("DELETE FROM fantasy_lineups WHERE team_id = $1 AND week = $2")
        .bind(team_id)
        .bind(week)
        .execute(&mut *tx)
        .await?;
    for ((slot_index, player_id), p) in assignment.iter().zip(&chosen) {
        let kickoff = kickoff_of(&kicks, &league, week, &p.team);
        let started = now >= kickoff;
        sqlx::query(
            "INSERT INTO fantasy_lineups (team_id, week, slot_index, slot, player_id, locked, set_ms, locked_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(team_id)
        .bind(week)
        .bind(*slot_index as i64)
        .bind(league.slots[*slot_index].name.as_str())
        .bind(player_id.as_str())
        .bind(i64::from(started))
        .bind(now)
        .bind(started.then_some(kickoff))
        .execute(&mut *tx)
        .await?;
    }
    audit(&mut tx, actor, "ok", &serde_json::json!({"event": "lineup_set", "team_id": team_id, "week": week, "lineup": assignment})).await?;
    tx.commit().await?;
    lineup(store, team_id, week).await
}

fn slot_names(slots: &[Slot]) -> String {
    slots
        .iter()
        .map(|s| s.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Locks every team's lineup for `week`, filling missing ones with the best
/// lineup by projection. Audited per team. Returns teams auto-filled.
pub async fn lock_week(
    store: &Store,
    actor: &Actor,
    league: &League,
    week: i64,
    now: i64,
) -> Result<Vec<String>> {
    let mut auto = Vec::new();
    for t in teams(store, &league.id).await? {
        let current = lineup(store, &t.id, week).await?;
        // Work out the lineup before taking the (single SQLite) connection.
        let fill = if current.len() != league.slots.len() {
            // The lineup the team would have fielded before the first kickoff.
            let before = league.lock_ms(week).min(now).saturating_sub(1);
            Some(best_lineup(store, league, &t.id, week, before).await?)
        } else {
            None
        };
        let mut tx = store.pool().begin().await?;
        if let Some(best) = fill {
            sqlx::query("DELETE FROM fantasy_lineups WHERE team_id = $1 AND week = $2")
                .bind(t.id.as_str())
                .bind(week)
                .execute(&mut *tx)
                .await?;
            for (slot_index, player_id) in &best {
                sqlx::query(
                    "INSERT INTO fantasy_lineups (team_id, week, slot_index, slot, player_id, locked, set_ms) VALUES ($1, $2, $3, $4, $5, 0, $6)",
                )
                .bind(t.id.as_str())
                .bind(week)
                .bind(*slot_index as i64)
                .bind(league.slots[*slot_index].name.as_str())
                .bind(player_id.as_str())
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            auto.push(t.id.clone());
        }
        sqlx::query("UPDATE fantasy_lineups SET locked = 1, locked_ms = COALESCE(locked_ms, $3) WHERE team_id = $1 AND week = $2")
            .bind(t.id.as_str())
            .bind(week)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        audit(&mut tx, actor, "ok", &serde_json::json!({"event": "lineup_lock", "team_id": t.id, "week": week, "auto_filled": current.len() != league.slots.len()})).await?;
        tx.commit().await?;
    }
    Ok(auto)
}
