//! Leagues, teams, rosters and lineups in the database.

use std::collections::{BTreeMap, BTreeSet};

use nt_mcp_core::Store;
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use crate::data;
use crate::db::{Actor, audit, dec_col, json_col, league_transaction, opt_dec_col, to_json};
use crate::error::{FantasyError, Result};
use crate::model::{Player, PlayerStatus, Slot, Sport};
use crate::optimizer::{Candidate, LineupRules, optimal_lineup};
use crate::scoring::RuleSet;

mod lineups;

pub use lineups::{LineupRow, best_lineup, best_lineup_until, lineup, lock_week, set_lineup};

/// A week in milliseconds.
pub const WEEK_MS: i64 = 7 * 24 * 3600 * 1000;

/// Season-long league or daily contest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LeagueKind {
    /// Rosters, head-to-head matchups, trades and waivers over a season.
    Season,
    /// Salary-cap contest: each entry picks any players under the cap each week.
    Daily,
}

impl LeagueKind {
    fn as_str(self) -> &'static str {
        match self {
            LeagueKind::Season => "season",
            LeagueKind::Daily => "daily",
        }
    }
}

/// A league as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct League {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Sport.
    pub sport: Sport,
    /// Season (year) whose stats score it.
    pub season: i64,
    /// Kind.
    pub kind: LeagueKind,
    /// Scoring rules.
    pub scoring: RuleSet,
    /// Starting slots.
    pub slots: Vec<Slot>,
    /// Bench places (season leagues).
    pub bench_size: i64,
    /// Salary cap (daily contests).
    pub salary_cap: Option<Decimal>,
    /// Most teams.
    pub max_teams: i64,
    /// Entry fee per team.
    pub entry_fee: Decimal,
    /// Time after acceptance during which other teams may veto a trade.
    pub veto_window_ms: i64,
    /// Vetoes that cancel an accepted trade.
    pub veto_votes: i64,
    /// Weeks in the season.
    pub weeks: i64,
    /// Next week to score.
    pub current_week: i64,
    /// Week 1 kick-off (ms); week w locks at start + (w - 1) weeks.
    pub start_ms: i64,
    /// Who created it.
    pub commissioner: String,
}

impl League {
    /// Players on a full roster.
    pub fn roster_size(&self) -> usize {
        self.slots.len() + usize::try_from(self.bench_size).unwrap_or(0)
    }

    /// When `week`'s lineups lock (first game).
    pub fn lock_ms(&self, week: i64) -> i64 {
        self.start_ms
            .saturating_add((week - 1).saturating_mul(WEEK_MS))
    }
}

/// `ms` since the epoch as `YYYY-MM-DDTHH:MM:SSZ` (UTC).
pub fn iso_utc(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let rem = secs.rem_euclid(86_400);
    let (year, month, day) = nt_mcp_core::dates::civil_from_days(secs.div_euclid(86_400));
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// When each real team's game of `week` kicks off on the league's timeline
/// (ms): the league's week starts at [`League::lock_ms`], which is the first
/// kickoff of the stats week; every other game keeps its offset from that
/// first kickoff (`fantasy_games.start_ms`). A league whose `start_ms` is the
/// real first kickoff therefore locks at the real kickoff times. Teams with
/// no scheduled time are absent (see [`kickoff_of`]).
pub async fn kickoffs(store: &Store, league: &League, week: i64) -> Result<BTreeMap<String, i64>> {
    let rows = sqlx::query(
        "SELECT team, start_ms FROM fantasy_games WHERE sport = $1 AND season = $2 AND week = $3 AND start_ms IS NOT NULL",
    )
    .bind(league.sport.as_str())
    .bind(league.season)
    .bind(week)
    .fetch_all(store.pool())
    .await?;
    let games: Vec<(String, i64)> = rows
        .iter()
        .map(|r| Ok((r.try_get("team")?, r.try_get("start_ms")?)))
        .collect::<Result<_>>()?;
    let Some(first) = games.iter().map(|g| g.1).min() else {
        return Ok(BTreeMap::new());
    };
    let start = league.lock_ms(week);
    Ok(games
        .into_iter()
        .map(|(team, at)| (team, start.saturating_add(at - first)))
        .collect())
}

/// A player's kickoff in `week`: his real team's game, or the week's lock
/// time when the team has no scheduled game time.
pub fn kickoff_of(kickoffs: &BTreeMap<String, i64>, league: &League, week: i64, team: &str) -> i64 {
    kickoffs
        .get(team)
        .copied()
        .unwrap_or_else(|| league.lock_ms(week))
}

/// A fantasy team.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Team {
    /// Id.
    pub id: String,
    /// League id.
    pub league_id: String,
    /// Name (unique in the league).
    pub name: String,
    /// Owner (caller id, or `collective:<id>`).
    pub owner: String,
    /// Collective owning it, if any.
    pub collective_id: Option<String>,
    /// Waiver priority, 1 first.
    pub waiver_priority: i64,
}

/// What [`create_league`] needs.
#[derive(Debug, Clone)]
pub struct NewLeague {
    /// Name.
    pub name: String,
    /// Sport.
    pub sport: Sport,
    /// Season whose stats score it.
    pub season: i64,
    /// Kind.
    pub kind: LeagueKind,
    /// Rules.
    pub scoring: RuleSet,
    /// Slots.
    pub slots: Vec<Slot>,
    /// Bench size.
    pub bench_size: i64,
    /// Cap.
    pub salary_cap: Option<Decimal>,
    /// Most teams.
    pub max_teams: i64,
    /// Entry fee.
    pub entry_fee: Decimal,
    /// Veto window.
    pub veto_window_ms: i64,
    /// Vetoes needed.
    pub veto_votes: i64,
    /// Weeks.
    pub weeks: i64,
    /// Week-1 lock time.
    pub start_ms: i64,
}

/// Creates a league, audited.
pub async fn create_league(
    store: &Store,
    actor: &Actor,
    new: NewLeague,
    now: i64,
) -> Result<League> {
    if new.scoring.sport != new.sport {
        return Err(FantasyError::invalid(
            "scoring.sport",
            format!(
                "rule set is for {} but the league is {}",
                new.scoring.sport, new.sport
            ),
        ));
    }
    // The entry fee is paid from collective pools, kept in whole cents.
    crate::collective::whole_cents("entry_fee", new.entry_fee)?;
    if new.kind == LeagueKind::Daily && new.salary_cap.is_none() {
        return Err(FantasyError::invalid(
            "salary_cap",
            "a daily contest needs a salary cap",
        ));
    }
    let league = League {
        id: uuid::Uuid::now_v7().to_string(),
        name: new.name,
        sport: new.sport,
        season: new.season,
        kind: new.kind,
        scoring: new.scoring,
        slots: new.slots,
        bench_size: new.bench_size,
        salary_cap: new.salary_cap,
        max_teams: new.max_teams,
        entry_fee: new.entry_fee,
        veto_window_ms: new.veto_window_ms,
        veto_votes: new.veto_votes,
        weeks: new.weeks,
        current_week: 1,
        start_ms: new.start_ms,
        commissioner: actor.identity.clone(),
    };
    let mut tx = store.pool().begin().await?;
    sqlx::query(
        "INSERT INTO fantasy_leagues (id, name, sport, season, kind, scoring, slots, bench_size, salary_cap, max_teams, \
         entry_fee, veto_window_ms, veto_votes, weeks, current_week, start_ms, commissioner, created_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)",
    )
    .bind(league.id.as_str())
    .bind(league.name.as_str())
    .bind(league.sport.as_str())
    .bind(league.season)
    .bind(league.kind.as_str())
    .bind(to_json(&league.scoring))
    .bind(to_json(&league.slots))
    .bind(league.bench_size)
    .bind(league.salary_cap.map(|c| c.to_string()))
    .bind(league.max_teams)
    .bind(league.entry_fee.to_string())
    .bind(league.veto_window_ms)
    .bind(league.veto_votes)
    .bind(league.weeks)
    .bind(league.current_week)
    .bind(league.start_ms)
    .bind(league.commissioner.as_str())
    .bind(now)
    .execute(&mut *tx)
    .await?;
    league_transaction(
        &mut tx,
        &league.id,
        None,
        "league_created",
        &serde_json::json!({"name": league.name}),
        now,
    )
    .await?;
    audit(
        &mut tx,
        actor,
        "ok",
        &serde_json::json!({"event": "league_created", "league_id": league.id}),
    )
    .await?;
    tx.commit().await?;
    Ok(league)
}

fn league_from_row(row: &AnyRow) -> Result<League> {
    let sport: String = row.try_get("sport")?;
    let kind: String = row.try_get("kind")?;
    Ok(League {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        sport: sport
            .parse()
            .map_err(|_| FantasyError::Corrupt(format!("sport {sport}")))?,
        season: row.try_get("season")?,
        kind: if kind == "daily" {
            LeagueKind::Daily
        } else {
            LeagueKind::Season
        },
        scoring: json_col(row, "scoring")?,
        slots: json_col(row, "slots")?,
        bench_size: row.try_get("bench_size")?,
        salary_cap: opt_dec_col(row, "salary_cap")?,
        max_teams: row.try_get("max_teams")?,
        entry_fee: dec_col(row, "entry_fee")?,
        veto_window_ms: row.try_get("veto_window_ms")?,
        veto_votes: row.try_get("veto_votes")?,
        weeks: row.try_get("weeks")?,
        current_week: row.try_get("current_week")?,
        start_ms: row.try_get("start_ms")?,
        commissioner: row.try_get("commissioner")?,
    })
}

/// Loads a league.
pub async fn league(store: &Store, id: &str) -> Result<League> {
    let row = sqlx::query("SELECT * FROM fantasy_leagues WHERE id = $1")
        .bind(id)
        .fetch_optional(store.pool())
        .await?
        .ok_or_else(|| FantasyError::NotFound(format!("no league `{id}`")))?;
    league_from_row(&row)
}

fn team_from_row(row: &AnyRow) -> Result<Team> {
    Ok(Team {
        id: row.try_get("id")?,
        league_id: row.try_get("league_id")?,
        name: row.try_get("name")?,
        owner: row.try_get("owner")?,
        collective_id: row.try_get("collective_id")?,
        waiver_priority: row.try_get("waiver_priority")?,
    })
}

/// Loads a team.
pub async fn team(store: &Store, id: &str) -> Result<Team> {
    let row = sqlx::query("SELECT * FROM fantasy_teams WHERE id = $1")
        .bind(id)
        .fetch_optional(store.pool())
        .await?
        .ok_or_else(|| FantasyError::NotFound(format!("no team `{id}`")))?;
    team_from_row(&row)
}

/// Teams of a league by waiver priority.
pub async fn teams(store: &Store, league_id: &str) -> Result<Vec<Team>> {
    let rows = sqlx::query(
        "SELECT * FROM fantasy_teams WHERE league_id = $1 ORDER BY waiver_priority, id",
    )
    .bind(league_id)
    .fetch_all(store.pool())
    .await?;
    rows.iter().map(team_from_row).collect()
}

/// Fails unless the actor owns the team (or is an operator).
pub fn authorize(team: &Team, actor: &Actor) -> Result<()> {
    if actor.is_admin || team.owner == actor.identity {
        Ok(())
    } else {
        Err(FantasyError::Refused(format!(
            "team `{}` belongs to `{}`; `{}` may not act for it",
            team.name, team.owner, actor.identity
        )))
    }
}

/// Player ids on a team's roster.
pub async fn roster_ids(store: &Store, team_id: &str) -> Result<Vec<String>> {
    let rows =
        sqlx::query("SELECT player_id FROM fantasy_rosters WHERE team_id = $1 ORDER BY player_id")
            .bind(team_id)
            .fetch_all(store.pool())
            .await?;
    Ok(rows.iter().map(|r| r.get::<String, _>(0)).collect())
}

/// Which team of the league holds each rostered player.
pub async fn owners(store: &Store, league_id: &str) -> Result<BTreeMap<String, String>> {
    let rows = sqlx::query("SELECT player_id, team_id FROM fantasy_rosters WHERE league_id = $1")
        .bind(league_id)
        .fetch_all(store.pool())
        .await?;
    Ok(rows
        .iter()
        .map(|r| (r.get::<String, _>(0), r.get::<String, _>(1)))
        .collect())
}

/// Whether `players` can fill every starting slot.
pub fn can_fill(slots: &[Slot], players: &[Player]) -> bool {
    let pool: Vec<Candidate> = players
        .iter()
        .map(|p| Candidate {
            id: p.id.clone(),
            team: p.team.clone(),
            positions: p.positions.clone(),
            salary: Decimal::ZERO,
            projection: Decimal::ZERO,
        })
        .collect();
    let rules = LineupRules {
        slots: slots.to_vec(),
        ..Default::default()
    };
    optimal_lineup(&pool, &rules).is_ok()
}

/// Checks that a roster is legal: size within the limit and able to field a lineup.
pub fn check_roster(league: &League, players: &[Player], who: &str) -> Result<()> {
    if players.len() > league.roster_size() {
        return Err(FantasyError::Refused(format!(
            "{who} would hold {} players; the roster limit is {}",
            players.len(),
            league.roster_size()
        )));
    }
    if !can_fill(&league.slots, players) {
        return Err(FantasyError::Refused(format!(
            "{who} could no longer fill every starting slot ({})",
            league
                .slots
                .iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    Ok(())
}

/// Projections (points) of a league's players for `week`, by player id.
pub async fn projections(
    store: &Store,
    league: &League,
    week: i64,
    now: i64,
) -> Result<BTreeMap<String, Decimal>> {
    let (_, list) = data::project_players(
        store,
        league.sport,
        &league.scoring,
        league.season,
        week,
        None,
        now,
    )
    .await?;
    Ok(list.into_iter().map(|p| (p.player_id, p.points)).collect())
}

/// Adds a team. Season leagues fill its roster from `players` or, when
/// none are given, by drafting the best available projected players for
/// each slot and then the bench, no position held more than once beyond
/// the slots that can start it while others are left (salary breaks
/// ties, as in week 1 when nothing has been played).
#[allow(clippy::too_many_arguments)]
pub async fn join_league(
    store: &Store,
    actor: &Actor,
    league_id: &str,
    name: &str,
    owner: &str,
    players: Option<Vec<String>>,
    collective_id: Option<&str>,
    now: i64,
) -> Result<(Team, Vec<String>)> {
    let league = league(store, league_id).await?;
    let existing = teams(store, league_id).await?;
    if existing.len() as i64 >= league.max_teams {
        return Err(FantasyError::Refused(format!(
            "league `{}` is full ({} teams)",
            league.name, league.max_teams
        )));
    }
    if existing.iter().any(|t| t.name.eq_ignore_ascii_case(name)) {
        return Err(FantasyError::invalid(
            "team_name",
            format!("`{name}` is taken in this league"),
        ));
    }
    let mut roster = Vec::new();
    if league.kind == LeagueKind::Season {
        data::ensure_data(store, league.sport, now).await?;
        let all = data::players(store, league.sport).await?;
        let by_id: BTreeMap<&str, &Player> = all.iter().map(|p| (p.id.as_str(), p)).collect();
        let taken = owners(store, league_id).await?;
        match players {
            Some(ids) => {
                let mut seen = BTreeSet::new();
                for (i, id) in ids.iter().enumerate() {
                    let field = format!("players[{i}]");
                    if !by_id.contains_key(id.as_str()) {
                        return Err(FantasyError::invalid(
                            field,
                            format!("no {} player `{id}`", league.sport),
                        ));
                    }
                    if taken.contains_key(id) {
                        return Err(FantasyError::invalid(
                            field,
                            format!("`{id}` is already on a team in this league"),
                        ));
                    }
                    if !seen.insert(id.clone()) {
                        return Err(FantasyError::invalid(field, format!("`{id}` listed twice")));
                    }
                }
                let chosen: Vec<Player> = ids
                    .iter()
                    .filter_map(|id| by_id.get(id.as_str()).map(|p| (*p).clone()))
                    .collect();
                check_roster(&league, &chosen, "the roster").map_err(|e| match e {
                    FantasyError::Refused(rule) => FantasyError::invalid("players", rule),
                    other => other,
                })?;
                roster = ids;
            }
            None => {
                let proj = projections(store, &league, league.current_week, now).await?;
                let mut avail: Vec<&Player> = all
                    .iter()
                    .filter(|p| {
                        !taken.contains_key(&p.id) && p.status != PlayerStatus::InjuredReserve
                    })
                    .collect();
                // Equal projections (no games yet in week 1) fall back on
                // salary, the market's preseason valuation, not on id order
                // (which would hand each team one real team's depth chart).
                avail.sort_by(|a, b| {
                    let pa = proj.get(&a.id).copied().unwrap_or_default();
                    let pb = proj.get(&b.id).copied().unwrap_or_default();
                    pb.cmp(&pa)
                        .then(b.salary.cmp(&a.salary))
                        .then(a.id.cmp(&b.id))
                });
                let mut slots: Vec<&Slot> = league.slots.iter().collect();
                slots.sort_by_key(|s| s.accepts.len());
                let mut held: BTreeMap<String, usize> = BTreeMap::new();
                let take =
                    |p: &Player, roster: &mut Vec<String>, held: &mut BTreeMap<String, usize>| {
                        if let Some(pos) = p.positions.first() {
                            *held.entry(pos.clone()).or_default() += 1;
                        }
                        roster.push(p.id.clone());
                    };
                for slot in slots {
                    if let Some(i) = avail.iter().position(|p| slot.accepts_any(&p.positions)) {
                        take(avail.remove(i), &mut roster, &mut held);
                    }
                }
                // The bench: the best available whose position is not
                // already held once more than the slots that can start it
                // (no seven receivers), else the best available.
                let cap = |pos: &str| {
                    let one = [pos.to_string()];
                    league.slots.iter().filter(|s| s.accepts_any(&one)).count() + 1
                };
                while roster.len() < league.roster_size() && !avail.is_empty() {
                    let i = avail
                        .iter()
                        .position(|p| {
                            p.positions
                                .first()
                                .is_some_and(|pos| held.get(pos).copied().unwrap_or(0) < cap(pos))
                        })
                        .unwrap_or(0);
                    take(avail.remove(i), &mut roster, &mut held);
                }
                if roster.len() < league.slots.len() {
                    return Err(FantasyError::Refused(
                        "not enough free players to fill a roster".into(),
                    ));
                }
            }
        }
    }
    let team = Team {
        id: uuid::Uuid::now_v7().to_string(),
        league_id: league_id.to_string(),
        name: name.to_string(),
        owner: owner.to_string(),
        collective_id: collective_id.map(str::to_string),
        waiver_priority: existing.len() as i64 + 1,
    };
    let mut tx = store.pool().begin().await?;
    sqlx::query(
        "INSERT INTO fantasy_teams (id, league_id, name, owner, collective_id, waiver_priority, created_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(team.id.as_str())
    .bind(league_id)
    .bind(name)
    .bind(owner)
    .bind(team.collective_id.clone())
    .bind(team.waiver_priority)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    for id in &roster {
        add_to_roster(&mut tx, league_id, &team.id, id, "draft", now).await?;
    }
    league_transaction(
        &mut tx,
        league_id,
        Some(&team.id),
        "team_joined",
        &serde_json::json!({"name": name, "owner": owner, "roster": roster}),
        now,
    )
    .await?;
    audit(&mut tx, actor, "ok", &serde_json::json!({"event": "team_joined", "league_id": league_id, "team_id": team.id, "entry_fee": league.entry_fee, "roster": roster})).await?;
    tx.commit().await?;
    Ok((team, roster))
}

/// Puts a player on a roster (inside a transaction).
pub async fn add_to_roster(
    tx: &mut Transaction<'_, Any>,
    league_id: &str,
    team_id: &str,
    player_id: &str,
    how: &str,
    now: i64,
) -> Result<()> {
    sqlx::query("INSERT INTO fantasy_rosters (league_id, player_id, team_id, acquired_ms, how) VALUES ($1, $2, $3, $4, $5)")
        .bind(league_id)
        .bind(player_id)
        .bind(team_id)
        .bind(now)
        .bind(how)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Removes a player from every unlocked future lineup of a team.
pub async fn clear_from_lineups(
    tx: &mut Transaction<'_, Any>,
    team_id: &str,
    player_id: &str,
    from_week: i64,
) -> Result<()> {
    sqlx::query("DELETE FROM fantasy_lineups WHERE team_id = $1 AND player_id = $2 AND week >= $3 AND locked = 0")
        .bind(team_id)
        .bind(player_id)
        .bind(from_week)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
