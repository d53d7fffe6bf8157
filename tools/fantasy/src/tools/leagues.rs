//! League tools: create and join leagues, read a league and a team's roster.

use nt_mcp_core::{Route, ToolCtx, ToolError, ToolOutput, route};
use std::collections::BTreeSet;
use std::sync::Arc;

use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::FantasyBundle;
use crate::data;
use crate::db::Actor;
use crate::league::{self, LeagueKind, NewLeague};
use crate::model::{Sport, parse_slots};
use crate::sample::{NBA_SAMPLE_WEEKS, NFL_SAMPLE_WEEKS};
use crate::tools::common::{ScoringInput, latest_season_or_sample, out, resolve_scoring};
use crate::trade;

/// The league tools.
pub(crate) fn routes() -> Vec<Route<FantasyBundle>> {
    vec![
        route("fantasy_create_league", "Create a fantasy league: season-long (rosters, head-to-head matchups, trades, waivers) or a daily salary-cap contest, with a scoring preset or custom rule set and lineup slots (FLEX/UTIL included).", create_league).writes().not_idempotent(),
        route("fantasy_join_league", "Add a team to a league. Without `players` the roster is drafted from the best available players by projection, slot by slot, then the bench.", join_league).writes().not_idempotent(),
        route("fantasy_league", "A league's settings, teams, current week, open trades and recent transactions; without league_id, the list of leagues.", league),
        route("fantasy_roster", "A team's roster with positions, status and projections for a week, and its lineup for that week.", roster),
    ]
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateLeagueInput {
    /// League name.
    name: String,
    /// nfl, nba, mlb or soccer (default: the bundle's default sport).
    sport: Option<Sport>,
    /// `season` (rosters, head-to-head, trades, waivers; default) or `daily` (salary-cap contest).
    kind: Option<LeagueKind>,
    /// Preset name or custom rule set (default: the sport's standard preset).
    scoring: Option<ScoringInput>,
    /// Starting slots (`QB`, `RB`, `FLEX`, `UTIL`, or `RB/WR`); default: the sport's usual lineup.
    slots: Option<Vec<String>>,
    /// Bench places (season leagues, default 4).
    bench_size: Option<u32>,
    /// Salary cap (daily contests; default 50000 there).
    salary_cap: Option<Decimal>,
    /// Most teams, 2..=32 (default 10).
    max_teams: Option<u32>,
    /// Entry fee per team (default 0).
    entry_fee: Option<Decimal>,
    /// Hours after acceptance in which other teams may veto a trade, 0..=168 (default 24).
    veto_window_hours: Option<u32>,
    /// Vetoes that cancel an accepted trade (default 2).
    veto_votes: Option<u32>,
    /// Weeks in the season (default: weeks with stats, 14 for the NFL sample).
    weeks: Option<u32>,
    /// Season (year) whose stats score the league (default: latest with stats).
    season: Option<i64>,
    /// Hours until week 1 locks (default 24); week w locks (w - 1) weeks later.
    first_lock_in_hours: Option<u32>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct JoinLeagueInput {
    /// League id.
    league_id: String,
    /// Team name (unique in the league).
    team_name: String,
    /// Owner id (default: the caller).
    owner: Option<String>,
    /// Player ids for the roster; omitted: draft the best available by projection.
    players: Option<Vec<String>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LeagueInput {
    /// League id; omitted: list leagues.
    league_id: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RosterInput {
    /// Team id.
    team_id: String,
    /// Week for lineup and projections (default: the league's current week).
    week: Option<i64>,
}

fn kind_name(kind: LeagueKind) -> &'static str {
    match kind {
        LeagueKind::Season => "season-long",
        LeagueKind::Daily => "daily",
    }
}

async fn create_league(
    b: Arc<FantasyBundle>,
    i: CreateLeagueInput,
    ctx: ToolCtx,
) -> std::result::Result<ToolOutput, ToolError> {
    let actor = Actor::of_call(&ctx);
    let now = ctx.clock.now_ms();
    let sport = i.sport.unwrap_or(b.default_sport);
    let kind = i.kind.unwrap_or(LeagueKind::Season);
    if i.name.trim().is_empty() || i.name.len() > 80 {
        return Err(ToolError::invalid("name", "1 to 80 characters"));
    }
    let scoring = resolve_scoring(i.scoring, sport)?;
    let labels: Vec<String> = match i.slots {
        Some(s) => s,
        None if kind == LeagueKind::Daily => sport
            .daily_slots()
            .0
            .iter()
            .map(|s| s.to_string())
            .collect(),
        None => sport
            .default_slots()
            .iter()
            .map(|s| s.to_string())
            .collect(),
    };
    let slots = parse_slots(sport, &labels, "slots")?;
    let max_teams = i.max_teams.unwrap_or(10);
    if !(2..=32).contains(&max_teams) {
        return Err(ToolError::invalid("max_teams", "must be 2..=32"));
    }
    let veto_hours = i.veto_window_hours.unwrap_or(24);
    if veto_hours > 168 {
        return Err(ToolError::invalid(
            "veto_window_hours",
            "at most 168 (a week)",
        ));
    }
    let entry_fee = i.entry_fee.unwrap_or_default();
    if entry_fee < Decimal::ZERO {
        return Err(ToolError::invalid("entry_fee", "must not be negative"));
    }
    let salary_cap = match (kind, i.salary_cap) {
        (_, Some(c)) if c <= Decimal::ZERO => {
            return Err(ToolError::invalid("salary_cap", "must be positive"));
        }
        (LeagueKind::Daily, None) => Some(Decimal::from(sport.daily_slots().1)),
        (_, c) => c,
    };
    let bench = i
        .bench_size
        .unwrap_or(if kind == LeagueKind::Season { 4 } else { 0 });
    if bench > 20 {
        return Err(ToolError::invalid("bench_size", "at most 20"));
    }
    let season = match i.season {
        Some(s) if !(1900..=2200).contains(&s) => {
            return Err(ToolError::invalid("season", "a year 1900..=2200"));
        }
        Some(s) => s,
        None => latest_season_or_sample(&ctx, sport).await?,
    };
    let default_weeks = match sport {
        Sport::Nfl => NFL_SAMPLE_WEEKS,
        Sport::Nba => NBA_SAMPLE_WEEKS,
        _ => 17,
    };
    let weeks = i64::from(i.weeks.unwrap_or(default_weeks as u32));
    if !(1..=60).contains(&weeks) {
        return Err(ToolError::invalid("weeks", "must be 1..=60"));
    }
    let lock_in = i64::from(i.first_lock_in_hours.unwrap_or(24));
    let lg = league::create_league(
        &ctx.store,
        &actor,
        NewLeague {
            name: i.name.trim().to_string(),
            sport,
            season,
            kind,
            scoring,
            slots,
            bench_size: i64::from(bench),
            salary_cap,
            max_teams: i64::from(max_teams),
            entry_fee,
            veto_window_ms: i64::from(veto_hours) * 3_600_000,
            veto_votes: i64::from(i.veto_votes.unwrap_or(2).max(1)),
            weeks,
            start_ms: now + lock_in * 3_600_000,
        },
        now,
    )
    .await?;
    out(
        format!(
            "Created {} league `{}` ({}) id {}: {} scoring, slots {}, {} weeks of season {}.",
            kind_name(lg.kind),
            lg.name,
            lg.sport,
            lg.id,
            lg.scoring.name,
            lg.slots
                .iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>()
                .join(" "),
            lg.weeks,
            lg.season
        ),
        json!({"league": lg}),
    )
}

async fn join_league(
    _b: Arc<FantasyBundle>,
    i: JoinLeagueInput,
    ctx: ToolCtx,
) -> std::result::Result<ToolOutput, ToolError> {
    let actor = Actor::of_call(&ctx);
    let now = ctx.clock.now_ms();
    if i.team_name.trim().is_empty() || i.team_name.len() > 60 {
        return Err(ToolError::invalid("team_name", "1 to 60 characters"));
    }
    let owner = i.owner.unwrap_or_else(|| actor.identity.clone());
    if owner != actor.identity && !actor.is_admin {
        return Err(ToolError::invalid(
            "owner",
            "only an operator (admin scope) may enter a team for someone else",
        ));
    }
    let (team, roster) = league::join_league(
        &ctx.store,
        &actor,
        &i.league_id,
        i.team_name.trim(),
        &owner,
        i.players,
        None,
        now,
    )
    .await?;
    out(
        format!(
            "Team `{}` (id {}) joined with {} players; waiver priority {}.",
            team.name,
            team.id,
            roster.len(),
            team.waiver_priority
        ),
        json!({"team": team, "roster": roster}),
    )
}

async fn league(
    _b: Arc<FantasyBundle>,
    i: LeagueInput,
    ctx: ToolCtx,
) -> std::result::Result<ToolOutput, ToolError> {
    match i.league_id {
        None => {
            use sqlx::Row;
            let rows = sqlx::query("SELECT id, name, sport, kind, current_week, weeks FROM fantasy_leagues ORDER BY created_ms DESC LIMIT 100")
                .fetch_all(ctx.store.pool())
                .await?;
            let list: Vec<Value> = rows
                .iter()
                .map(|r| {
                    json!({"id": r.get::<String, _>(0), "name": r.get::<String, _>(1), "sport": r.get::<String, _>(2), "kind": r.get::<String, _>(3), "current_week": r.get::<i64, _>(4), "weeks": r.get::<i64, _>(5)})
                })
                .collect();
            out(format!("{} leagues.", list.len()), json!({"leagues": list}))
        }
        Some(id) => {
            let lg = league::league(&ctx.store, &id).await?;
            let teams = league::teams(&ctx.store, &id).await?;
            let trades: Vec<trade::Trade> = trade::trades(&ctx.store, &id)
                .await?
                .into_iter()
                .filter(|t| t.status == "proposed" || t.status == "accepted")
                .collect();
            use sqlx::Row;
            let tx_rows = sqlx::query("SELECT kind, team_id, detail, at_ms FROM fantasy_transactions WHERE league_id = $1 ORDER BY at_ms DESC LIMIT 20")
                .bind(id.as_str())
                .fetch_all(ctx.store.pool())
                .await?;
            let transactions: Vec<Value> = tx_rows
                .iter()
                .map(|r| {
                    json!({"kind": r.get::<String, _>(0), "team_id": r.get::<Option<String>, _>(1), "detail": serde_json::from_str::<Value>(&r.get::<String, _>(2)).unwrap_or(Value::Null), "at_ms": r.get::<i64, _>(3)})
                })
                .collect();
            out(
                format!(
                    "`{}`: {} {} league, week {} of {}, {} teams ({}), {} open trades.",
                    lg.name,
                    lg.sport,
                    kind_name(lg.kind),
                    lg.current_week.min(lg.weeks),
                    lg.weeks,
                    teams.len(),
                    teams
                        .iter()
                        .map(|t| t.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                    trades.len()
                ),
                json!({"league": lg, "teams": teams, "open_trades": trades, "transactions": transactions, "week_locks_at_ms": lg.lock_ms(lg.current_week)}),
            )
        }
    }
}

async fn roster(
    _b: Arc<FantasyBundle>,
    i: RosterInput,
    ctx: ToolCtx,
) -> std::result::Result<ToolOutput, ToolError> {
    let now = ctx.clock.now_ms();
    let team = league::team(&ctx.store, &i.team_id).await?;
    let lg = league::league(&ctx.store, &team.league_id).await?;
    let week = i.week.unwrap_or(lg.current_week);
    let ids: BTreeSet<String> = league::roster_ids(&ctx.store, &team.id)
        .await?
        .into_iter()
        .collect();
    let proj = league::projections(&ctx.store, &lg, week, now).await?;
    let roster: Vec<crate::model::Player> = data::players(&ctx.store, lg.sport)
        .await?
        .into_iter()
        .filter(|p| ids.contains(&p.id))
        .collect();
    let players: Vec<Value> = roster
        .iter()
        .map(|p| json!({"id": p.id, "name": p.name, "team": p.team, "positions": p.positions, "status": p.status, "projection": proj.get(&p.id)}))
        .collect();
    let lineup = league::lineup(&ctx.store, &team.id, week).await?;
    // One line a player, best projection first.
    let points = |p: &crate::model::Player| proj.get(&p.id).copied().unwrap_or_default();
    let mut by_proj: Vec<&crate::model::Player> = roster.iter().collect();
    by_proj.sort_by_key(|p| std::cmp::Reverse(points(p)));
    let lines: String = by_proj
        .iter()
        .map(|p| {
            format!(
                "\n- {} ({}, {} {}) {}, week {week} projection {}",
                p.id,
                p.name,
                p.team,
                p.positions.join("/"),
                p.status.as_str(),
                proj.get(&p.id)
                    .map_or_else(|| "-".to_string(), |d| d.to_string()),
            )
        })
        .collect();
    out(
        format!(
            "{}: {} players; week {week} lineup {}.{lines}",
            team.name,
            players.len(),
            if lineup.is_empty() {
                "not set".to_string()
            } else {
                lineup
                    .iter()
                    .map(|r| format!("{} {}", r.slot, r.player_id))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        ),
        json!({"team": team, "week": week, "players": players, "lineup": lineup}),
    )
}
