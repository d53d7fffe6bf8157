//! Waivers: claims on free agents, processed in waiver order by the weekly
//! cycle (winners move to the end of the order).

use nt_mcp_core::Store;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::*;
use crate::db::{Actor, audit, league_transaction};
use crate::error::{FantasyError, Result};

/// A waiver claim.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct WaiverClaim {
    /// Id.
    pub id: String,
    /// Team.
    pub team_id: String,
    /// Player to add.
    pub add_player: String,
    /// Player to drop.
    pub drop_player: Option<String>,
    /// pending | won | lost
    pub status: String,
    /// Why it was lost.
    pub note: Option<String>,
}

/// Files a waiver claim (processed in waiver order by the weekly cycle), audited.
pub async fn claim(
    store: &Store,
    actor: &Actor,
    team_id: &str,
    add: &str,
    drop: Option<&str>,
    now: i64,
) -> Result<WaiverClaim> {
    let team = league::team(store, team_id).await?;
    authorize(&team, actor)?;
    let league = season_league(store, &team).await?;
    let p = data::player(store, add)
        .await
        .map_err(|_| FantasyError::invalid("add_player", format!("no player `{add}`")))?;
    if p.sport != league.sport {
        return Err(FantasyError::invalid(
            "add_player",
            format!("`{add}` is not a {} player", league.sport),
        ));
    }
    let owners = league::owners(store, &league.id).await?;
    if owners.contains_key(add) {
        return Err(FantasyError::invalid(
            "add_player",
            format!("`{add}` is already on a roster"),
        ));
    }
    if let Some(d) = drop
        && owners.get(d) != Some(&team.id)
    {
        return Err(FantasyError::invalid(
            "drop_player",
            format!("`{d}` is not on {}", team.name),
        ));
    }
    let claim = WaiverClaim {
        id: uuid::Uuid::now_v7().to_string(),
        team_id: team.id.clone(),
        add_player: add.to_string(),
        drop_player: drop.map(str::to_string),
        status: "pending".into(),
        note: None,
    };
    let mut tx = store.pool().begin().await?;
    sqlx::query(
        "INSERT INTO fantasy_waiver_claims (id, league_id, team_id, add_player, drop_player, week, status, created_ms) VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7)",
    )
    .bind(claim.id.as_str())
    .bind(league.id.as_str())
    .bind(team.id.as_str())
    .bind(add)
    .bind(drop.map(str::to_string))
    .bind(league.current_week)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    audit(&mut tx, actor, "ok", &serde_json::json!({"event": "waiver_claim", "claim": claim, "priority": team.waiver_priority})).await?;
    tx.commit().await?;
    Ok(claim)
}

/// Processes pending claims in waiver order: the team with the best
/// priority gets its oldest claim, then drops to the end of the order.
/// Returns the claims with their outcome.
pub async fn process_waivers(
    store: &Store,
    actor: &Actor,
    league: &League,
    now: i64,
) -> Result<Vec<WaiverClaim>> {
    let rows = sqlx::query("SELECT * FROM fantasy_waiver_claims WHERE league_id = $1 AND status = 'pending' ORDER BY created_ms, id")
        .bind(league.id.as_str())
        .fetch_all(store.pool())
        .await?;
    let mut pending: Vec<WaiverClaim> = rows
        .iter()
        .map(|r| {
            Ok(WaiverClaim {
                id: r.try_get("id")?,
                team_id: r.try_get("team_id")?,
                add_player: r.try_get("add_player")?,
                drop_player: r.try_get("drop_player")?,
                status: "pending".into(),
                note: None,
            })
        })
        .collect::<Result<_>>()?;
    let mut done = Vec::new();
    while !pending.is_empty() {
        let order = league::teams(store, &league.id).await?;
        let Some((idx, team)) = order.iter().find_map(|t| {
            pending
                .iter()
                .position(|c| c.team_id == t.id)
                .map(|i| (i, t.clone()))
        }) else {
            break;
        };
        let mut c = pending.remove(idx);
        let owners = league::owners(store, &league.id).await?;
        let mut roster = roster_players(store, league, &team.id).await?;
        let verdict: std::result::Result<(), String> = if owners.contains_key(&c.add_player) {
            Err(format!(
                "{} was claimed first by a team with better priority",
                c.add_player
            ))
        } else if c
            .drop_player
            .as_ref()
            .is_some_and(|d| owners.get(d) != Some(&team.id))
        {
            Err("the player to drop is no longer on the roster".into())
        } else {
            let added = data::player(store, &c.add_player).await?;
            roster.retain(|p| Some(&p.id) != c.drop_player.as_ref());
            roster.push(added);
            check_roster(league, &roster, &team.name).map_err(|e| e.to_string())
        };
        let mut tx = store.pool().begin().await?;
        match verdict {
            Ok(()) => {
                if let Some(d) = &c.drop_player {
                    sqlx::query(
                        "DELETE FROM fantasy_rosters WHERE league_id = $1 AND player_id = $2",
                    )
                    .bind(league.id.as_str())
                    .bind(d.as_str())
                    .execute(&mut *tx)
                    .await?;
                    clear_from_lineups(&mut tx, &team.id, d, league.current_week).await?;
                }
                add_to_roster(&mut tx, &league.id, &team.id, &c.add_player, "waiver", now).await?;
                // The winner moves to the end of the order.
                sqlx::query("UPDATE fantasy_teams SET waiver_priority = waiver_priority - 1 WHERE league_id = $1 AND waiver_priority > $2")
                    .bind(league.id.as_str())
                    .bind(team.waiver_priority)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("UPDATE fantasy_teams SET waiver_priority = $2 WHERE id = $1")
                    .bind(team.id.as_str())
                    .bind(order.len() as i64)
                    .execute(&mut *tx)
                    .await?;
                c.status = "won".into();
            }
            Err(reason) => {
                c.status = "lost".into();
                c.note = Some(reason);
            }
        }
        sqlx::query("UPDATE fantasy_waiver_claims SET status = $2, note = $3, processed_ms = $4 WHERE id = $1")
            .bind(c.id.as_str())
            .bind(c.status.as_str())
            .bind(c.note.clone())
            .bind(now)
            .execute(&mut *tx)
            .await?;
        league_transaction(
            &mut tx,
            &league.id,
            Some(&team.id),
            &format!("waiver_{}", c.status),
            &c,
            now,
        )
        .await?;
        audit(
            &mut tx,
            actor,
            if c.status == "won" { "ok" } else { "refused" },
            &serde_json::json!({"event": "waiver_processed", "claim": c}),
        )
        .await?;
        tx.commit().await?;
        done.push(c);
    }
    Ok(done)
}
