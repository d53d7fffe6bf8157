//! The weekly cycle: settle trades, lock lineups at game start, score every
//! team, decide matchups, process waivers, advance the week; and standings.

use std::collections::BTreeMap;

use nt_mcp_core::Store;
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::data;
use crate::db::{Actor, audit, dec_col, league_transaction, to_json};
use crate::error::{FantasyError, Result};
use crate::league::{self, League, LeagueKind};
use crate::model::StatLine;
use crate::scoring::{self, MatchupResult, Side, StandingRow, TeamWeek, sum_lines};
use crate::trade::{self, WaiverClaim};

/// Round-robin pairs (home, away) for `week` (circle method); a team with
/// no opponent on an odd count sits out.
pub fn schedule(team_ids: &[String], week: i64) -> Vec<(String, String)> {
    let mut ids: Vec<Option<&String>> = team_ids.iter().map(Some).collect();
    if ids.len() % 2 == 1 {
        ids.push(None);
    }
    let n = ids.len();
    if n < 2 {
        return Vec::new();
    }
    let rounds = n - 1;
    let r = usize::try_from((week - 1).rem_euclid(rounds as i64)).unwrap_or(0);
    // Fix the first, rotate the rest r times.
    let mut rot: Vec<Option<&String>> = ids[1..].to_vec();
    rot.rotate_right(r);
    let mut order = vec![ids[0]];
    order.extend(rot);
    (0..n / 2)
        .filter_map(|i| match (order[i], order[n - 1 - i]) {
            (Some(a), Some(b)) => Some(if (week + i as i64) % 2 == 0 {
                (a.clone(), b.clone())
            } else {
                (b.clone(), a.clone())
            }),
            _ => None,
        })
        .collect()
}

/// What one week's cycle did.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct WeekReport {
    /// Week scored.
    pub week: i64,
    /// Trades executed as their veto window ended.
    pub trades_executed: Vec<String>,
    /// Teams whose lineup was filled automatically at lock.
    pub auto_lineups: Vec<String>,
    /// Points per team.
    pub team_points: BTreeMap<String, Decimal>,
    /// Matchups decided (season leagues).
    pub matchups: Vec<MatchupResult>,
    /// Waiver claims processed.
    pub waivers: Vec<WaiverClaim>,
    /// Stat lines found for the week.
    pub stat_lines: usize,
}

/// Runs the cycle for the league's current week. `progress(step, total,
/// message)` is called between steps; `cancelled()` is checked between
/// steps and teams (a cancelled cycle leaves lineups locked but the week
/// unscored, so it can run again).
pub async fn run_week(
    store: &Store,
    actor: &Actor,
    league_id: &str,
    now: i64,
    progress: &mut (dyn FnMut(f64, f64, String) + Send),
    cancelled: &(dyn Fn() -> bool + Sync),
) -> Result<WeekReport> {
    let league = league::league(store, league_id).await?;
    let week = league.current_week;
    if week > league.weeks {
        return Err(FantasyError::Refused(format!(
            "the season is over ({} weeks scored)",
            league.weeks
        )));
    }
    let check = || {
        if cancelled() {
            Err(FantasyError::Cancelled)
        } else {
            Ok(())
        }
    };
    let total = 5.0;
    progress(0.0, total, format!("week {week}: settling trades"));
    let trades_executed = if league.kind == LeagueKind::Season {
        trade::settle(store, actor, &league, now).await?
    } else {
        Vec::new()
    };
    check()?;
    progress(1.0, total, format!("week {week}: locking lineups"));
    data::ensure_data(store, league.sport, now).await?;
    let auto_lineups = league::lock_week(store, actor, &league, week, now).await?;
    check()?;
    progress(2.0, total, format!("week {week}: scoring teams"));
    let teams = league::teams(store, &league.id).await?;
    let lines = data::season_stats(store, league.sport, league.season, Some(week)).await?;
    let by_player: BTreeMap<&str, &StatLine> = lines
        .iter()
        .map(|l| (l.player_id.as_str(), &l.stats))
        .collect();
    let players: BTreeMap<String, String> = data::players(store, league.sport)
        .await?
        .into_iter()
        .filter_map(|p| p.positions.first().cloned().map(|pos| (p.id, pos)))
        .collect();
    let mut weeks: BTreeMap<String, TeamWeek> = BTreeMap::new();
    for t in &teams {
        check()?;
        let rows = league::lineup(store, &t.id, week).await?;
        let mut points = Decimal::ZERO;
        let mut starters = Vec::new();
        for r in &rows {
            if let Some(line) = by_player.get(r.player_id.as_str()) {
                let pos = players.get(&r.player_id).map(String::as_str).unwrap_or("");
                points += league.scoring.score_game(line, pos);
                starters.push(*line);
            }
        }
        weeks.insert(
            t.id.clone(),
            TeamWeek {
                team: t.id.clone(),
                points,
                totals: sum_lines(starters),
            },
        );
    }
    progress(3.0, total, format!("week {week}: matchups"));
    let ids: Vec<String> = teams.iter().map(|t| t.id.clone()).collect();
    let matchups: Vec<MatchupResult> = if league.kind == LeagueKind::Season {
        schedule(&ids, week)
            .into_iter()
            .filter_map(|(h, a)| {
                Some(scoring::score_matchup(
                    &league.scoring,
                    weeks.get(&h)?,
                    weeks.get(&a)?,
                ))
            })
            .collect()
    } else {
        Vec::new()
    };
    check()?;
    let mut tx = store.pool().begin().await?;
    for w in weeks.values() {
        sqlx::query(
            "INSERT INTO fantasy_team_weeks (league_id, team_id, week, points, totals, scored_ms) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (team_id, week) DO UPDATE SET points = excluded.points, totals = excluded.totals, scored_ms = excluded.scored_ms",
        )
        .bind(league.id.as_str())
        .bind(w.team.as_str())
        .bind(week)
        .bind(w.points.to_string())
        .bind(to_json(&w.totals))
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    for m in &matchups {
        let winner = match m.winner {
            Side::Home => "home",
            Side::Away => "away",
            Side::Tie => "tie",
        };
        sqlx::query(
            "INSERT INTO fantasy_matchups (league_id, week, home_team, away_team, home_score, away_score, winner, detail) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (league_id, week, home_team) DO UPDATE SET \
             away_team = excluded.away_team, home_score = excluded.home_score, away_score = excluded.away_score, winner = excluded.winner, detail = excluded.detail",
        )
        .bind(league.id.as_str())
        .bind(week)
        .bind(m.home.as_str())
        .bind(m.away.as_str())
        .bind(m.home_score.to_string())
        .bind(m.away_score.to_string())
        .bind(winner)
        .bind(to_json(&m.categories))
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query("UPDATE fantasy_leagues SET current_week = $2 WHERE id = $1")
        .bind(league.id.as_str())
        .bind(week + 1)
        .execute(&mut *tx)
        .await?;
    let team_points: BTreeMap<String, Decimal> =
        weeks.iter().map(|(k, v)| (k.clone(), v.points)).collect();
    league_transaction(
        &mut tx,
        &league.id,
        None,
        "week_scored",
        &serde_json::json!({"week": week, "points": team_points}),
        now,
    )
    .await?;
    audit(&mut tx, actor, "ok", &serde_json::json!({"event": "week_scored", "league_id": league.id, "week": week, "points": team_points})).await?;
    tx.commit().await?;
    progress(4.0, total, format!("week {week}: processing waivers"));
    let waivers = if league.kind == LeagueKind::Season {
        let league = League {
            current_week: week + 1,
            ..league.clone()
        };
        trade::process_waivers(store, actor, &league, now).await?
    } else {
        Vec::new()
    };
    progress(total, total, format!("week {week} done"));
    Ok(WeekReport {
        week,
        trades_executed,
        auto_lineups,
        team_points,
        matchups,
        waivers,
        stat_lines: lines.len(),
    })
}

/// Standings of a league: head-to-head results (season) or total points (daily).
pub async fn standings(store: &Store, league: &League) -> Result<Vec<StandingRow>> {
    let teams = league::teams(store, &league.id).await?;
    let ids: Vec<String> = teams.iter().map(|t| t.id.clone()).collect();
    if league.kind == LeagueKind::Daily {
        let rows =
            sqlx::query("SELECT team_id, points FROM fantasy_team_weeks WHERE league_id = $1")
                .bind(league.id.as_str())
                .fetch_all(store.pool())
                .await?;
        let mut totals: BTreeMap<String, Decimal> =
            ids.iter().map(|i| (i.clone(), Decimal::ZERO)).collect();
        for r in &rows {
            *totals
                .entry(r.try_get::<String, _>("team_id")?)
                .or_default() += dec_col(r, "points")?;
        }
        let mut out: Vec<StandingRow> = totals
            .into_iter()
            .map(|(team, pf)| StandingRow {
                rank: 0,
                team,
                wins: 0,
                losses: 0,
                ties: 0,
                win_pct: Decimal::ZERO,
                points_for: pf,
                points_against: Decimal::ZERO,
                head_to_head_wins: 0,
            })
            .collect();
        out.sort_by(|a, b| b.points_for.cmp(&a.points_for).then(a.team.cmp(&b.team)));
        for (i, r) in out.iter_mut().enumerate() {
            r.rank = u32::try_from(i + 1).unwrap_or(u32::MAX);
        }
        return Ok(out);
    }
    let rows = sqlx::query(
        "SELECT * FROM fantasy_matchups WHERE league_id = $1 AND winner IS NOT NULL ORDER BY week",
    )
    .bind(league.id.as_str())
    .fetch_all(store.pool())
    .await?;
    let results: Vec<MatchupResult> = rows
        .iter()
        .map(|r| {
            let winner: String = r.try_get("winner")?;
            Ok(MatchupResult {
                home: r.try_get("home_team")?,
                away: r.try_get("away_team")?,
                home_score: dec_col(r, "home_score")?,
                away_score: dec_col(r, "away_score")?,
                winner: match winner.as_str() {
                    "home" => Side::Home,
                    "away" => Side::Away,
                    _ => Side::Tie,
                },
                categories: Vec::new(),
            })
        })
        .collect::<Result<_>>()?;
    Ok(scoring::standings(&ids, &results))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_robin_meets_everyone_once() {
        let ids: Vec<String> = (0..6).map(|i| format!("t{i}")).collect();
        let mut met = std::collections::BTreeSet::new();
        for week in 1..=5 {
            let pairs = schedule(&ids, week);
            assert_eq!(pairs.len(), 3);
            let mut playing = std::collections::BTreeSet::new();
            for (h, a) in pairs {
                assert!(playing.insert(h.clone()) && playing.insert(a.clone()));
                let key = if h < a { (h, a) } else { (a, h) };
                assert!(met.insert(key), "week {week} repeats a pairing");
            }
        }
        assert_eq!(met.len(), 15);
        // Odd count: one team sits out.
        assert_eq!(schedule(&ids[..5], 1).len(), 2);
    }
}
