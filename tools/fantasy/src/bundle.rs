//! The MCP face of the bundle: [`FantasyBundle`] and its tools.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use nt_mcp_core::bundle::{
    BundleSettings, ResourceSpec, ResourceText, Scope, ToolBundle, ToolCtx, ToolOutput, ToolSpec,
    VenueMode, VenueStatus, parse_args,
};
use nt_mcp_core::{Migration, ToolError};
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::collective::{self, Motion};
use crate::data::{self, SampleProvider, StatsProvider, StatsQuery};
use crate::db::{self, Actor};
use crate::engine;
use crate::error::{FantasyError, Result};
use crate::league::{self, LeagueKind, NewLeague};
use crate::model::{Sport, parse_slots};
use crate::optimizer::{self, Candidate, DiverseOptions, LineupRules, StackRule};
use crate::provider::{BallDontLie, BallDontLieConfig};
use crate::sample::{NBA_SAMPLE_WEEKS, NFL_SAMPLE_WEEKS, SAMPLE_SEASON};
use crate::scoring::{PRESETS, RuleSet, TIEBREAKERS};
use crate::stats;
use crate::trade::{self, Response};

/// The Fantasy Collective bundle (`fantasy`).
#[derive(Clone)]
pub struct FantasyBundle {
    default_sport: Sport,
    provider: Option<Arc<dyn StatsProvider>>,
}

impl std::fmt::Debug for FantasyBundle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FantasyBundle")
            .field("default_sport", &self.default_sport)
            .field(
                "provider",
                &self.provider.as_ref().map(|p| p.name().to_string()),
            )
            .finish()
    }
}

const SETTINGS: &str = "default_sport, balldontlie_base_url, balldontlie_requests_per_minute";

impl FantasyBundle {
    /// Builds the bundle from its manifest table. Known keys:
    /// `default_sport` (`nfl`, `nba`, `mlb`, `soccer`; default `nfl`),
    /// `balldontlie_base_url` and `balldontlie_requests_per_minute` (used
    /// when `BALLDONTLIE_API_KEY` is set; the environment variables
    /// `BALLDONTLIE_BASE_URL` and `BALLDONTLIE_REQUESTS_PER_MINUTE` win over
    /// them).
    pub fn new(settings: &BundleSettings) -> Result<Self, FantasyError> {
        let default_sport = match settings.table.get("default_sport") {
            None => Sport::Nfl,
            Some(toml::Value::String(s)) => s.parse().map_err(|_| {
                FantasyError::invalid(
                    "bundle_config.fantasy.default_sport",
                    format!("unknown sport `{s}`"),
                )
            })?,
            Some(other) => {
                return Err(FantasyError::invalid(
                    "bundle_config.fantasy.default_sport",
                    format!("expected a string, got {}", other.type_str()),
                ));
            }
        };
        for key in settings.table.keys() {
            if !SETTINGS.split(", ").any(|k| k == key) {
                return Err(FantasyError::invalid(
                    format!("bundle_config.fantasy.{key}"),
                    format!("unknown setting (known: {SETTINGS})"),
                ));
            }
        }
        let base_url = match settings.table.get("balldontlie_base_url") {
            None => None,
            Some(toml::Value::String(s)) => Some(s.as_str()),
            Some(other) => {
                return Err(FantasyError::invalid(
                    "bundle_config.fantasy.balldontlie_base_url",
                    format!("expected a string, got {}", other.type_str()),
                ));
            }
        };
        let rpm = match settings.table.get("balldontlie_requests_per_minute") {
            None => None,
            Some(toml::Value::Integer(n)) => Some(u32::try_from(*n).map_err(|_| {
                FantasyError::invalid(
                    "bundle_config.fantasy.balldontlie_requests_per_minute",
                    "must be 1..=60000",
                )
            })?),
            Some(other) => {
                return Err(FantasyError::invalid(
                    "bundle_config.fantasy.balldontlie_requests_per_minute",
                    format!("expected an integer, got {}", other.type_str()),
                ));
            }
        };
        let provider = match BallDontLieConfig::resolve(|k| std::env::var(k).ok(), base_url, rpm)? {
            Some(cfg) => Some(Arc::new(BallDontLie::new(cfg)?) as Arc<dyn StatsProvider>),
            None => None,
        };
        Ok(Self {
            default_sport,
            provider,
        })
    }

    /// Uses `provider` for `fantasy_import_stats` with `format = "provider"`
    /// (instead of the one configured from the environment).
    pub fn with_stats_provider(mut self, provider: Arc<dyn StatsProvider>) -> Self {
        self.provider = Some(provider);
        self
    }
}

/// The bundle's migrations, to apply after the core ones.
pub fn migrations() -> Vec<Migration> {
    db::migrations()
}

// ---------------------------------------------------------------- inputs

/// A scoring rule set: a preset name or a full rule set.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum ScoringInput {
    /// Preset: nfl_standard, nfl_half_ppr, nfl_ppr (ESPN standard), nfl_draftkings, nfl_fanduel, nba_points, nba_draftkings, nba_fanduel, nba_9cat, mlb_points, soccer_points.
    Preset(String),
    /// A custom rule set (see resource fantasy://scoring-presets for examples).
    Custom(RuleSet),
}

fn resolve_scoring(input: Option<ScoringInput>, sport: Sport) -> Result<RuleSet> {
    let rules = match input {
        None => RuleSet::default_for(sport),
        Some(ScoringInput::Preset(name)) => RuleSet::preset(&name).ok_or_else(|| {
            FantasyError::invalid(
                "scoring",
                format!("unknown preset `{name}`; presets: {}", PRESETS.join(", ")),
            )
        })?,
        Some(ScoringInput::Custom(rules)) => {
            rules.validate().map_err(|e| e.under("scoring"))?;
            rules
        }
    };
    if rules.sport != sport {
        return Err(FantasyError::invalid(
            "scoring",
            format!(
                "rule set `{}` is for {}, not {sport}",
                rules.name, rules.sport
            ),
        ));
    }
    Ok(rules)
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct CreateLeagueIn {
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
struct JoinLeagueIn {
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
struct LeagueIn {
    /// League id; omitted: list leagues.
    league_id: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RosterIn {
    /// Team id.
    team_id: String,
    /// Week for lineup and projections (default: the league's current week).
    week: Option<i64>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct LineupEntry {
    /// Index into the league's slot list (0-based).
    slot_index: usize,
    /// Player id.
    player_id: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct SetLineupIn {
    /// Team id.
    team_id: String,
    /// Week (default: the league's current week).
    week: Option<i64>,
    /// One entry per slot; omitted: the best lineup by projection.
    lineup: Option<Vec<LineupEntry>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct PlayerStatsIn {
    /// Player id (`nfl-kc-wr1`).
    player_id: String,
    /// Season (default: latest with stats).
    season: Option<i64>,
    /// Games in the rolling window, 1..=17 (default 4).
    window: Option<u32>,
    /// Preset or rule set for points (default: the sport's standard).
    scoring: Option<ScoringInput>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ProjectIn {
    /// Player id.
    player_id: String,
    /// Week to project (default: the week after the last with stats).
    week: Option<i64>,
    /// Preset or rule set (default: the sport's standard).
    scoring: Option<ScoringInput>,
    /// Train a new model version first.
    #[serde(default)]
    retrain: bool,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct LineupIn {
    /// Use this league's slots, cap and scoring.
    league_id: Option<String>,
    /// With a season league: build from this team's roster (the team's
    /// league is used when `league_id` is not given).
    team_id: Option<String>,
    /// Sport when no league is given (default: the bundle's default).
    sport: Option<Sport>,
    /// Slots when no league is given (default: the sport's daily-contest slots).
    slots: Option<Vec<String>>,
    /// Salary cap when no league is given (default 50000; 0 for none).
    salary_cap: Option<Decimal>,
    /// Scoring when no league is given.
    scoring: Option<ScoringInput>,
    /// Week whose projections rank players (default: the next week).
    week: Option<i64>,
    /// Players who must be in the lineup.
    #[serde(default)]
    locked: Vec<String>,
    /// Players who must not be picked.
    #[serde(default)]
    excluded: Vec<String>,
    /// At most this many players from one real team.
    max_per_team: Option<u32>,
    /// Stacking rules, e.g. {"anchor":"QB","with":["WR","TE"],"count":1}.
    #[serde(default)]
    stacks: Vec<StackRule>,
    /// Your own player pool (id, team, positions, salary, projection) instead of stored players.
    pool: Option<Vec<Candidate>>,
    /// Exclude players whose status is out or injured reserve (default true).
    skip_injured: Option<bool>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct DiverseIn {
    #[serde(flatten)]
    base: LineupIn,
    /// Lineups wanted, 1..=500 (default 20).
    count: Option<usize>,
    /// Largest share of lineups one unlocked player may be in, (0, 1] (default 0.5).
    max_exposure: Option<Decimal>,
    /// Each lineup differs from every earlier one in at least this many players (default 2).
    min_unique: Option<usize>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct TradeIn {
    /// Proposing team id.
    from_team: String,
    /// Receiving team id.
    to_team: String,
    /// Players the proposing team sends.
    #[serde(default)]
    give: Vec<String>,
    /// Players it gets.
    #[serde(default)]
    receive: Vec<String>,
    /// Note to the other team.
    message: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct EvaluateIn {
    /// Proposing team id.
    from_team: String,
    /// Receiving team id.
    to_team: String,
    /// Players the proposing team sends.
    #[serde(default)]
    give: Vec<String>,
    /// Players it gets.
    #[serde(default)]
    receive: Vec<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct CounterIn {
    /// Players the countering team sends.
    give: Vec<String>,
    /// Players it wants.
    receive: Vec<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RespondIn {
    /// Trade id.
    trade_id: String,
    /// The team answering.
    team_id: String,
    /// accept | reject | counter | veto | cancel.
    action: Response,
    /// For `counter`: the new offer from the answering team's side.
    counter: Option<CounterIn>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct WaiverIn {
    /// Claiming team id.
    team_id: String,
    /// Free agent to add.
    add_player: String,
    /// Player to drop (needed when the roster is full).
    drop_player: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ScoreWeekIn {
    /// League id.
    league_id: String,
    /// Consecutive weeks to run from the current one, 1..=60 (default 1).
    weeks: Option<u32>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct StandingsIn {
    /// League id.
    league_id: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(tag = "action", rename_all = "lowercase", deny_unknown_fields)]
enum CollectiveIn {
    /// Found a collective with its own team in a league.
    Create {
        /// League id.
        league_id: String,
        /// Collective (and team) name.
        name: String,
        /// Founding member id.
        member: String,
        /// Founder's stake.
        stake: Decimal,
        /// Share of total stake that must vote, (0, 1] (default 0.5).
        quorum_pct: Option<Decimal>,
        /// Share of voting stake that must approve, (0, 1] (default 0.5).
        approve_pct: Option<Decimal>,
        /// Entry fee every member (founder included) pays into the pool on
        /// joining, out of their stake money (default 0).
        member_fee: Option<Decimal>,
    },
    /// Join (paying the member entry fee; the rest is stake), or add to a stake.
    Join {
        /// Collective id.
        collective_id: String,
        /// Member id.
        member: String,
        /// Money paid in: the member entry fee (new members) plus stake.
        stake: Decimal,
        /// cash (new money, the default) or credit (from your credit in the
        /// collective; refused when short).
        funding: Option<collective::Funding>,
    },
    /// Credit cash to a member's account in the collective (not the pool).
    Deposit {
        /// Collective id.
        collective_id: String,
        /// Member id.
        member: String,
        /// Amount, positive.
        amount: Decimal,
    },
    /// Withdraw from your available balance: credit first, then stake out
    /// of the pool. Refused while a payout motion is open, or when it would
    /// leave the pool below the league's entry fee.
    Withdraw {
        /// Collective id.
        collective_id: String,
        /// Member id.
        member: String,
        /// Amount, positive.
        amount: Decimal,
    },
    /// Pool and member balances (derived from the ledger), with the ledger.
    Balance {
        /// Collective id.
        collective_id: String,
        /// Only this member's balances.
        member: Option<String>,
    },
    /// Credit league winnings to the pool (operator, admin scope).
    Winnings {
        /// Collective id.
        collective_id: String,
        /// Amount won, positive.
        amount: Decimal,
        /// What the prize was for (league, week), recorded on the ledger.
        reference: Option<String>,
    },
    /// Put a motion to the vote (the proposer's stake approves it).
    Propose {
        /// Collective id.
        collective_id: String,
        /// Proposing member.
        member: String,
        /// lineup {week, lineup}, trade {to_team, give, receive} or payout {amount}.
        motion: Motion,
    },
    /// Vote on an open proposal.
    Vote {
        /// Proposal id.
        proposal_id: String,
        /// Voting member.
        member: String,
        /// Approve or not.
        approve: bool,
    },
    /// Show members, stakes and pool.
    Status {
        /// Collective id.
        collective_id: String,
    },
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
enum ImportFormat {
    /// CSV text, header row first.
    Csv,
    /// JSON array of row objects.
    Json,
    /// The bundled seeded sample season.
    Sample,
    /// The configured stats provider (BALLDONTLIE, when BALLDONTLIE_API_KEY is set): `dates` and `week` say what to pull.
    Provider,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ImportIn {
    /// Sport of the rows.
    sport: Sport,
    /// csv, json, sample or provider.
    format: ImportFormat,
    /// The CSV or JSON text (see resource fantasy://import-format): stat
    /// rows, plus optional games (home, away, season, week, start as RFC 3339
    /// or ms) after a `[games]` line in CSV or under `games` in JSON.
    data: Option<String>,
    /// provider: game dates (YYYY-MM-DD, at most 14) whose stats make up the week.
    dates: Option<Vec<String>>,
    /// provider: fantasy week (1..=60) the lines are filed under; sample: only this week.
    week: Option<i64>,
    /// provider or sample: keep only this season (year).
    season: Option<i64>,
}

// ---------------------------------------------------------------- helpers

fn actor(ctx: &ToolCtx, tool: &str, args: &Value) -> Actor {
    Actor {
        variant: ctx.variant.to_string(),
        caller: ctx.caller.id.clone(),
        tool: tool.to_string(),
        args_digest: db::digest(args),
        is_admin: ctx.caller.has(Scope::Admin),
    }
}

fn out(text: String, structured: impl Serialize) -> std::result::Result<ToolOutput, ToolError> {
    Ok(ToolOutput::new(text, structured))
}

async fn latest_season_or_sample(ctx: &ToolCtx, sport: Sport) -> Result<i64> {
    data::ensure_data(&ctx.store, sport, ctx.clock.now_ms()).await?;
    Ok(data::latest_season(&ctx.store, sport)
        .await?
        .unwrap_or(SAMPLE_SEASON))
}

async fn sport_of_player(ctx: &ToolCtx, id: &str) -> Result<crate::model::Player> {
    if let Ok(p) = data::player(&ctx.store, id).await {
        return Ok(p);
    }
    // The sample seasons load on first use.
    for sport in [Sport::Nfl, Sport::Nba] {
        data::ensure_data(&ctx.store, sport, ctx.clock.now_ms()).await?;
    }
    data::player(&ctx.store, id).await.map_err(|_| {
        FantasyError::invalid(
            "player_id",
            format!("no player `{id}`; ids look like nfl-kc-wr1 or nba-bos-1"),
        )
    })
}

async fn last_week(ctx: &ToolCtx, sport: Sport, season: i64) -> Result<i64> {
    use sqlx::Row;
    let row = sqlx::query(
        "SELECT MAX(s.week) FROM fantasy_player_stats s JOIN fantasy_players p ON p.id = s.player_id WHERE p.sport = $1 AND s.season = $2",
    )
    .bind(sport.as_str())
    .bind(season)
    .fetch_one(ctx.store.pool())
    .await?;
    Ok(row.try_get::<Option<i64>, _>(0)?.unwrap_or(0))
}

/// Pool and rules for the lineup tools.
async fn lineup_setup(
    ctx: &ToolCtx,
    input: &LineupIn,
) -> Result<(Vec<Candidate>, LineupRules, String)> {
    let now = ctx.clock.now_ms();
    // A team alone stands for its league.
    let league_id = match (&input.league_id, &input.team_id) {
        (Some(id), _) => Some(id.clone()),
        (None, Some(t)) => Some(league::team(&ctx.store, t).await?.league_id),
        (None, None) => None,
    };
    let (sport, slots, cap, rules, week, roster, season) = match &league_id {
        Some(id) => {
            let lg = league::league(&ctx.store, id).await?;
            let roster = match (&input.team_id, lg.kind) {
                (Some(t), LeagueKind::Season) => {
                    let team = league::team(&ctx.store, t).await?;
                    if team.league_id != lg.id {
                        return Err(FantasyError::invalid(
                            "team_id",
                            "the team is not in this league",
                        ));
                    }
                    Some(
                        league::roster_ids(&ctx.store, t)
                            .await?
                            .into_iter()
                            .collect::<BTreeSet<_>>(),
                    )
                }
                _ => None,
            };
            let cap = if lg.kind == LeagueKind::Daily {
                lg.salary_cap
            } else {
                None
            };
            (
                lg.sport,
                lg.slots.clone(),
                cap,
                lg.scoring.clone(),
                input.week.unwrap_or(lg.current_week),
                roster,
                lg.season,
            )
        }
        None => {
            let sport = input.sport.unwrap_or(Sport::Nfl);
            let (default_slots, default_cap) = sport.daily_slots();
            let labels: Vec<String> = match &input.slots {
                Some(s) => s.clone(),
                None => default_slots.iter().map(|s| s.to_string()).collect(),
            };
            let slots = parse_slots(sport, &labels, "slots")?;
            let cap = match input.salary_cap {
                Some(c) if c.is_zero() => None,
                Some(c) if c < Decimal::ZERO => {
                    return Err(FantasyError::invalid("salary_cap", "must not be negative"));
                }
                Some(c) => Some(c),
                None => Some(Decimal::from(default_cap)),
            };
            let rules = resolve_scoring(input.scoring.clone(), sport)?;
            let (season, week) = if input.pool.is_some() {
                (SAMPLE_SEASON, input.week.unwrap_or(1))
            } else {
                let season = latest_season_or_sample(ctx, sport).await?;
                (
                    season,
                    input
                        .week
                        .unwrap_or(last_week(ctx, sport, season).await? + 1),
                )
            };
            (sport, slots, cap, rules, week, None, season)
        }
    };
    let source;
    let pool: Vec<Candidate> = match &input.pool {
        Some(pool) => {
            if pool.len() > 5000 {
                return Err(FantasyError::invalid("pool", "at most 5000 players"));
            }
            source = "your pool".to_string();
            pool.clone()
        }
        None => {
            data::ensure_data(&ctx.store, sport, now).await?;
            let players = data::players(&ctx.store, sport).await?;
            let (version, proj) =
                data::project_players(&ctx.store, sport, &rules, season, week, None, now).await?;
            let proj: BTreeMap<String, Decimal> =
                proj.into_iter().map(|p| (p.player_id, p.points)).collect();
            let skip = input.skip_injured.unwrap_or(true);
            source = format!(
                "stored players, {} projections for week {week} (model v{version})",
                rules.name
            );
            players
                .into_iter()
                .filter(|p| roster.as_ref().is_none_or(|r| r.contains(&p.id)))
                .filter(|p| {
                    !skip
                        || matches!(
                            p.status,
                            crate::model::PlayerStatus::Active
                                | crate::model::PlayerStatus::Questionable
                        )
                })
                .filter(|p| cap.is_none() || p.salary.is_some())
                .map(|p| Candidate {
                    projection: proj.get(&p.id).copied().unwrap_or_default(),
                    salary: p.salary.unwrap_or_default(),
                    id: p.id,
                    team: p.team,
                    positions: p.positions,
                })
                .collect()
        }
    };
    let rules = LineupRules {
        slots,
        salary_cap: cap,
        locked: input.locked.clone(),
        excluded: input.excluded.clone(),
        max_per_team: input.max_per_team,
        stacks: input.stacks.clone(),
    };
    Ok((pool, rules, source))
}

fn lineup_text(l: &optimizer::Lineup) -> String {
    l.slots
        .iter()
        .map(|s| format!("{} {}", s.slot, s.player_id))
        .collect::<Vec<_>>()
        .join(", ")
}

// ---------------------------------------------------------------- tools

const IMPORT_FORMAT: &str = include_str!("../README.md");

#[async_trait]
impl ToolBundle for FantasyBundle {
    fn name(&self) -> &'static str {
        "fantasy"
    }

    fn tools(&self) -> Vec<ToolSpec> {
        vec![
            ToolSpec::new::<CreateLeagueIn>("fantasy_create_league", "Create a fantasy league: season-long (rosters, head-to-head matchups, trades, waivers) or a daily salary-cap contest, with a scoring preset or custom rule set and lineup slots (FLEX/UTIL included).").writes().not_idempotent(),
            ToolSpec::new::<JoinLeagueIn>("fantasy_join_league", "Add a team to a league. Without `players` the roster is drafted from the best available players by projection, slot by slot, then the bench.").writes().not_idempotent(),
            ToolSpec::new::<LeagueIn>("fantasy_league", "A league's settings, teams, current week, open trades and recent transactions; without league_id, the list of leagues."),
            ToolSpec::new::<RosterIn>("fantasy_roster", "A team's roster with positions, status and projections for a week, and its lineup for that week."),
            ToolSpec::new::<SetLineupIn>("fantasy_set_lineup", "Set a team's lineup for a week (refused once the week locks at game start). Without `lineup`, sets the best lineup by projection.").writes(),
            ToolSpec::new::<PlayerStatsIn>("fantasy_player_stats", "A player's season: fantasy points per week, rolling average, consistency (standard deviation, floor, ceiling) and usage trend."),
            ToolSpec::new::<ProjectIn>("fantasy_project_player", "Project a player's fantasy points for a week with an 80% interval and the drivers (recent form, season average, usage, status), from a per-position least-squares model; projections and models are stored and versioned.").writes(),
            ToolSpec::new::<LineupIn>("fantasy_optimal_lineup", "The lineup with the most projected points under the salary cap and position slots (FLEX/UTIL), with locked/excluded players, team limits and stacking. Exact (branch-and-bound), not greedy.").deadline(Duration::from_secs(30)),
            ToolSpec::new::<DiverseIn>("fantasy_lineups_diverse", "N diverse lineups for daily contests, each optimal given the earlier ones: exposure cap per player, minimum unique players between lineups, stacking. Reports progress; cancellable.").deadline(Duration::from_secs(30)),
            ToolSpec::new::<TradeIn>("fantasy_propose_trade", "Propose a trade between two teams of a season league; refused when either roster would become invalid. Audited.").writes().not_idempotent(),
            ToolSpec::new::<EvaluateIn>("fantasy_evaluate_trade", "Fairness of a trade: rest-of-season projected value of both sides and each team's best lineup before and after (positional need), with a verdict."),
            ToolSpec::new::<RespondIn>("fantasy_respond_trade", "Answer a trade: accept (starts the veto window), reject, counter (a new offer back), veto (other teams; enough vetoes cancel it) or cancel (proposer). Audited.").writes().not_idempotent(),
            ToolSpec::new::<WaiverIn>("fantasy_waiver_claim", "Claim a free agent (optionally dropping a player); claims are processed in waiver order by the weekly cycle, winners move to the end of the order. Audited.").writes().not_idempotent(),
            ToolSpec::new::<ScoreWeekIn>("fantasy_score_week", "Run the weekly cycle for the current week: execute trades past their veto window, lock lineups (auto-filling missing ones), score every team, decide matchups, update standings, process waivers. Long: reports progress, cancellable.").writes().not_idempotent().deadline(Duration::from_secs(60)),
            ToolSpec::new::<StandingsIn>("fantasy_standings", "League standings: wins, losses, ties, win percentage, points for/against, with tiebreakers (head-to-head, points for)."),
            ToolSpec::new::<CollectiveIn>("fantasy_collective_vote", "Collectives (syndicate-owned teams): create (the pool pays the league entry fee), join paying the member entry fee plus a stake, deposit, withdraw, balance (from the money ledger), winnings (operator), propose a motion (lineup, trade, payout), vote with stake-weighted quorum, status. Passed motions execute; payouts split the pool by stake to the cent. Every money movement is a ledger row and an audit row.").writes().not_idempotent(),
            ToolSpec::new::<ImportIn>("fantasy_import_stats", "Import players, weekly stats and optional games with kickoff times (which lock lineup slots) from CSV or JSON (format in resource fantasy://import-format), or load the bundled seeded sample season (nfl, nba). Audited.").writes().deadline(Duration::from_secs(60)),
        ]
    }

    fn migrations(&self) -> Vec<Migration> {
        db::migrations()
    }

    fn venues(&self) -> Vec<VenueStatus> {
        let mut out = vec![VenueStatus {
            name: SampleProvider::default().name().to_string(),
            mode: VenueMode::Simulated,
        }];
        if let Some(p) = &self.provider {
            out.push(VenueStatus {
                name: p.name().to_string(),
                mode: VenueMode::Live,
            });
        }
        out
    }

    fn resources(&self) -> Vec<ResourceSpec> {
        vec![
            ResourceSpec {
                uri: "fantasy://scoring-presets".into(),
                name: "scoring-presets".into(),
                description:
                    "Every built-in scoring rule set as JSON (copy one to make a custom rule set)."
                        .into(),
                mime_type: "application/json".into(),
            },
            ResourceSpec {
                uri: "fantasy://import-format".into(),
                name: "import-format".into(),
                description: "The CSV/JSON stats import format and the bundle's README.".into(),
                mime_type: "text/markdown".into(),
            },
        ]
    }

    async fn read_resource(
        &self,
        uri: &str,
        _ctx: ToolCtx,
    ) -> std::result::Result<ResourceText, ToolError> {
        match uri {
            "fantasy://scoring-presets" => {
                let presets: Vec<RuleSet> =
                    PRESETS.iter().filter_map(|p| RuleSet::preset(p)).collect();
                Ok(ResourceText {
                    mime_type: "application/json".into(),
                    text: serde_json::to_string_pretty(&presets).unwrap_or_default(),
                })
            }
            "fantasy://import-format" => Ok(ResourceText {
                mime_type: "text/markdown".into(),
                text: IMPORT_FORMAT.to_string(),
            }),
            _ => Err(ToolError::not_found(format!("no resource {uri}"))),
        }
    }

    fn prompts(&self) -> Vec<nt_mcp_core::bundle::PromptSpec> {
        use nt_mcp_core::bundle::{PromptArg, PromptSpec};
        vec![PromptSpec {
            name: "fantasy_manage_week".into(),
            description: "Run a season-long team's week: lineup by projection, waiver targets, one fair trade idea.".into(),
            arguments: vec![PromptArg {
                name: "team_id".into(),
                description: "The team to manage.".into(),
                required: true,
            }],
        }]
    }

    fn render_prompt(
        &self,
        name: &str,
        args: &BTreeMap<String, String>,
    ) -> std::result::Result<String, ToolError> {
        if name != "fantasy_manage_week" {
            return Err(ToolError::not_found(format!("no prompt {name}")));
        }
        let team = nt_mcp_core::bundle::prompt_arg(args, "team_id")?;
        Ok(format!(
            "Manage fantasy team `{team}` for its league's current week.\n\
             1. Call fantasy_roster with team_id=\"{team}\" to see the players, the week and whether the lineup is set or locked.\n\
             2. Call fantasy_optimal_lineup with team_id=\"{team}\"; for doubtful picks call fantasy_project_player (interval and drivers) and fantasy_player_stats (form, consistency).\n\
             3. Set the lineup with fantasy_set_lineup before the first game locks it.\n\
             4. Look for a free agent who beats your weakest bench player by projection; if one does, file fantasy_waiver_claim with that drop.\n\
             5. Find one trade that helps both sides: check it with fantasy_evaluate_trade and propose it with fantasy_propose_trade only if it is rated fair.\n\
             Report the lineup and its projected points, any claim or trade made, and why."
        ))
    }

    async fn call(
        &self,
        tool: &str,
        args: Value,
        ctx: ToolCtx,
    ) -> std::result::Result<ToolOutput, ToolError> {
        let actor = actor(&ctx, tool, &args);
        let now = ctx.clock.now_ms();
        match tool {
            "fantasy_create_league" => {
                let i: CreateLeagueIn = parse_args(args)?;
                let sport = i.sport.unwrap_or(self.default_sport);
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
            "fantasy_join_league" => {
                let i: JoinLeagueIn = parse_args(args)?;
                if i.team_name.trim().is_empty() || i.team_name.len() > 60 {
                    return Err(ToolError::invalid("team_name", "1 to 60 characters"));
                }
                let owner = i.owner.unwrap_or_else(|| ctx.caller.id.clone());
                if owner != ctx.caller.id && !actor.is_admin {
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
            "fantasy_league" => {
                let i: LeagueIn = parse_args(args)?;
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
            "fantasy_roster" => {
                let i: RosterIn = parse_args(args)?;
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
                let points =
                    |p: &crate::model::Player| proj.get(&p.id).copied().unwrap_or_default();
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
            "fantasy_set_lineup" => {
                let i: SetLineupIn = parse_args(args)?;
                let team = league::team(&ctx.store, &i.team_id).await?;
                let lg = league::league(&ctx.store, &team.league_id).await?;
                let week = i.week.unwrap_or(lg.current_week);
                let auto = i.lineup.is_none();
                let assignment = match i.lineup {
                    Some(entries) => entries
                        .into_iter()
                        .map(|e| (e.slot_index, e.player_id))
                        .collect(),
                    None => league::best_lineup(&ctx.store, &lg, &team.id, week, now).await?,
                };
                let rows =
                    league::set_lineup(&ctx.store, &actor, &team.id, week, assignment, now).await?;
                out(
                    format!(
                        "{} week {week} lineup set{}: {}.",
                        team.name,
                        if auto { " (best by projection)" } else { "" },
                        rows.iter()
                            .map(|r| format!("{} {}", r.slot, r.player_id))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    json!({"team_id": team.id, "week": week, "lineup": rows, "locks_at_ms": lg.lock_ms(week)}),
                )
            }
            "fantasy_player_stats" => {
                let i: PlayerStatsIn = parse_args(args)?;
                let p = sport_of_player(&ctx, &i.player_id).await?;
                let rules = resolve_scoring(i.scoring, p.sport)?;
                let season = match i.season {
                    Some(s) => s,
                    None => latest_season_or_sample(&ctx, p.sport).await?,
                };
                let window = i.window.unwrap_or(4);
                if !(1..=17).contains(&window) {
                    return Err(ToolError::invalid("window", "must be 1..=17"));
                }
                let lines = data::player_stats(&ctx.store, &p.id, season).await?;
                let pos = p.positions.first().cloned().unwrap_or_default();
                let summary = stats::summarize(p.sport, &rules, &pos, &lines, window as usize);
                out(
                    format!(
                        "{} ({} {}) {season}: {} games, {} pts/game ({}), last {}: {}; sd {}, floor {}, ceiling {}, consistency {}/100, usage trend {:+}/week.",
                        p.name,
                        p.team,
                        pos,
                        summary.games,
                        summary.mean,
                        rules.name,
                        summary.window,
                        summary.rolling_mean,
                        summary.std_dev,
                        summary.floor,
                        summary.ceiling,
                        summary.consistency,
                        summary.usage_trend
                    ),
                    json!({"player": p, "season": season, "scoring": rules.name, "summary": summary}),
                )
            }
            "fantasy_project_player" => {
                let i: ProjectIn = parse_args(args)?;
                let p = sport_of_player(&ctx, &i.player_id).await?;
                let rules = resolve_scoring(i.scoring, p.sport)?;
                let season = latest_season_or_sample(&ctx, p.sport).await?;
                let week = match i.week {
                    Some(w) if !(1..=60).contains(&w) => {
                        return Err(ToolError::invalid("week", "must be 1..=60"));
                    }
                    Some(w) => w,
                    None => last_week(&ctx, p.sport, season).await? + 1,
                };
                if i.retrain {
                    data::train_models(&ctx.store, p.sport, &rules, season, now).await?;
                }
                let (version, mut list) = data::project_players(
                    &ctx.store,
                    p.sport,
                    &rules,
                    season,
                    week,
                    Some(std::slice::from_ref(&p.id)),
                    now,
                )
                .await?;
                let (_, models) = data::models(&ctx.store, p.sport, &rules, season, now).await?;
                let pos = p.positions.first().cloned().unwrap_or_default();
                let model = models.get(&pos).cloned();
                let Some(proj) = list.pop() else {
                    return Err(ToolError::refused(format!(
                        "no model for position {pos}: import stats first"
                    )));
                };
                out(
                    format!(
                        "{} week {week}: {} pts (80% interval {} to {}), model v{version} ({} {pos}, R² {:.2}). Drivers: {}.",
                        p.name,
                        proj.points,
                        proj.low,
                        proj.high,
                        rules.name,
                        model.as_ref().map_or(0.0, |m| m.r_squared),
                        proj.drivers
                            .iter()
                            .take(3)
                            .map(|d| format!("{} {:+}", d.name, d.contribution))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    json!({"projection": proj, "model_version": version, "model": model, "scoring": rules.name, "season": season}),
                )
            }
            "fantasy_optimal_lineup" => {
                let i: LineupIn = parse_args(args)?;
                let (pool, rules, source) = lineup_setup(&ctx, &i).await?;
                let cancel = ctx.cancel.clone();
                let started = std::time::Instant::now();
                let (lineup, stats) = tokio::task::spawn_blocking(move || {
                    optimizer::optimal_lineup_with_cancel(&pool, &rules, &|| cancel.is_cancelled())
                })
                .await
                .map_err(|e| ToolError::internal(format!("optimizer task failed: {e}")))??;
                let ms = started.elapsed().as_secs_f64() * 1000.0;
                let how = if stats.proven {
                    format!("proven optimal in {ms:.1} ms, {} nodes", stats.nodes)
                } else {
                    format!(
                        "best found in {ms:.1} ms; the search stopped at {} nodes before proving it optimal (many lineups nearly tie)",
                        stats.nodes
                    )
                };
                let title = if stats.proven {
                    "Optimal lineup"
                } else {
                    "Best lineup found"
                };
                out(
                    format!(
                        "{title}: {} projected points, salary {}: {}. ({source}; {how}.)",
                        lineup.projection,
                        lineup.salary,
                        lineup_text(&lineup),
                    ),
                    json!({"lineup": lineup, "stats": stats, "source": source, "exact": stats.proven, "elapsed_ms": ms}),
                )
            }
            "fantasy_lineups_diverse" => {
                let i: DiverseIn = parse_args(args)?;
                let opts = DiverseOptions {
                    count: i.count.unwrap_or(20),
                    max_exposure: i.max_exposure.unwrap_or(Decimal::new(5, 1)),
                    min_unique: i.min_unique.unwrap_or(2),
                };
                let wanted = opts.count;
                let (pool, rules, source) = lineup_setup(&ctx, &i.base).await?;
                let cancel = ctx.cancel.clone();
                let (ptx, mut prx) = tokio::sync::mpsc::unbounded_channel::<(usize, usize)>();
                let progress = ctx.progress.clone();
                let forward = tokio::spawn(async move {
                    while let Some((done, total)) = prx.recv().await {
                        progress
                            .report(
                                done as f64,
                                Some(total as f64),
                                format!("{done}/{total} lineups"),
                            )
                            .await;
                    }
                });
                let started = std::time::Instant::now();
                let result = tokio::task::spawn_blocking(move || {
                    optimizer::diverse_lineups(
                        &pool,
                        &rules,
                        &opts,
                        &|| cancel.is_cancelled(),
                        &mut |d, t| {
                            let _ = ptx.send((d, t));
                        },
                    )
                })
                .await
                .map_err(|e| ToolError::internal(format!("optimizer task failed: {e}")))?;
                let _ = forward.await;
                let (lineups, stats) = result?;
                let secs = started.elapsed().as_secs_f64();
                let mut exposure: BTreeMap<&str, usize> = BTreeMap::new();
                for l in &lineups {
                    for id in l.player_ids() {
                        *exposure.entry(id).or_default() += 1;
                    }
                }
                let mut top: Vec<(&str, usize)> = exposure.into_iter().collect();
                top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
                let n = lineups.len();
                let mut short = if n < wanted && stats.proven {
                    format!(
                        " Only {n} of {wanted}: no further lineup satisfies the exposure, uniqueness and lineup rules."
                    )
                } else if n < wanted {
                    format!(" Only {n} of {wanted}: the search budget ran out.")
                } else {
                    String::new()
                };
                if !stats.proven {
                    short.push_str(
                        " Some lineups are the best found, not proven optimal (many lineups nearly tie).",
                    );
                }
                out(
                    format!(
                        "{n} lineups in {secs:.2} s ({:.0}/s); best {} pts, last {} pts. Most used: {}.{short} ({source})",
                        n as f64 / secs.max(1e-9),
                        lineups.first().map(|l| l.projection).unwrap_or_default(),
                        lineups.last().map(|l| l.projection).unwrap_or_default(),
                        top.iter()
                            .take(5)
                            .map(|(id, c)| format!("{id} {c}/{n}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    json!({"lineups": lineups, "exposure": top.iter().map(|(id, c)| json!({"player_id": id, "lineups": c})).collect::<Vec<_>>(), "stats": stats, "source": source, "elapsed_ms": secs * 1000.0}),
                )
            }
            "fantasy_propose_trade" => {
                let i: TradeIn = parse_args(args)?;
                let t = trade::propose(
                    &ctx.store,
                    &actor,
                    &i.from_team,
                    &i.to_team,
                    i.give,
                    i.receive,
                    i.message,
                    None,
                    now,
                )
                .await?;
                let from = league::team(&ctx.store, &t.from_team).await?;
                let to = league::team(&ctx.store, &t.to_team).await?;
                out(
                    format!(
                        "Trade {} proposed: {} sends [{}] to {} for [{}]; {} answers with fantasy_respond_trade.",
                        t.id,
                        from.name,
                        t.give.join(", "),
                        to.name,
                        t.receive.join(", "),
                        to.name
                    ),
                    json!({"trade": t}),
                )
            }
            "fantasy_evaluate_trade" => {
                let i: EvaluateIn = parse_args(args)?;
                let e = trade::evaluate(
                    &ctx.store,
                    &i.from_team,
                    &i.to_team,
                    &i.give,
                    &i.receive,
                    now,
                )
                .await?;
                out(
                    format!(
                        "{}: {}. Proposer lineup {} -> {} per week, receiver {} -> {} ({} weeks left).",
                        e.verdict,
                        e.reason,
                        e.from.lineup_before,
                        e.from.lineup_after,
                        e.to.lineup_before,
                        e.to.lineup_after,
                        e.weeks_left
                    ),
                    json!({"evaluation": e}),
                )
            }
            "fantasy_respond_trade" => {
                let i: RespondIn = parse_args(args)?;
                let counter = i.counter.map(|c| (c.give, c.receive));
                let t = trade::respond(
                    &ctx.store,
                    &actor,
                    &i.trade_id,
                    &i.team_id,
                    i.action,
                    counter,
                    now,
                )
                .await?;
                let from = league::team(&ctx.store, &t.from_team).await?.name;
                let to = league::team(&ctx.store, &t.to_team).await?.name;
                let text = match (i.action, t.status.as_str()) {
                    (Response::Counter, _) => format!(
                        "Counter-offer {} sent: {from} gives [{}] to {to} for [{}]; {to} answers.",
                        t.id,
                        t.give.join(", "),
                        t.receive.join(", ")
                    ),
                    (_, "accepted") => format!(
                        "Trade {} between {from} and {to} accepted; the veto window ends {}.",
                        t.id,
                        league::iso_utc(t.veto_until_ms.unwrap_or_default())
                    ),
                    (_, status) => {
                        format!("Trade {} between {from} and {to} is now {status}.", t.id)
                    }
                };
                out(text, json!({"trade": t}))
            }
            "fantasy_waiver_claim" => {
                let i: WaiverIn = parse_args(args)?;
                let c = trade::claim(
                    &ctx.store,
                    &actor,
                    &i.team_id,
                    &i.add_player,
                    i.drop_player.as_deref(),
                    now,
                )
                .await?;
                out(
                    format!(
                        "Waiver claim {} filed for {}; processed in waiver order at the next weekly cycle.",
                        c.id, c.add_player
                    ),
                    json!({"claim": c}),
                )
            }
            "fantasy_score_week" => {
                let i: ScoreWeekIn = parse_args(args)?;
                let weeks = i.weeks.unwrap_or(1);
                if !(1..=60).contains(&weeks) {
                    return Err(ToolError::invalid("weeks", "must be 1..=60"));
                }
                let (ptx, mut prx) = tokio::sync::mpsc::unbounded_channel::<(f64, f64, String)>();
                let progress = ctx.progress.clone();
                let forward = tokio::spawn(async move {
                    while let Some((p, t, m)) = prx.recv().await {
                        progress.report(p, Some(t), m).await;
                    }
                });
                let mut reports = Vec::new();
                let mut failure = None;
                for k in 0..weeks {
                    let ptx = ptx.clone();
                    let offset = f64::from(k) * 5.0;
                    let total = f64::from(weeks) * 5.0;
                    let cancel = ctx.cancel.clone();
                    let r = engine::run_week(
                        &ctx.store,
                        &actor,
                        &i.league_id,
                        ctx.clock.now_ms(),
                        &mut move |p, _, m| {
                            let _ = ptx.send((offset + p, total, m));
                        },
                        &move || cancel.is_cancelled(),
                    )
                    .await;
                    match r {
                        Ok(r) => reports.push(r),
                        Err(e) => {
                            failure = Some(e);
                            break;
                        }
                    }
                }
                drop(ptx);
                let _ = forward.await;
                let stopped = match failure {
                    Some(e) if reports.is_empty() => return Err(e.into()),
                    Some(e) => Some(e.to_string()),
                    None => None,
                };
                let lg = league::league(&ctx.store, &i.league_id).await?;
                let table = engine::standings(&ctx.store, &lg).await?;
                let names: BTreeMap<String, String> = league::teams(&ctx.store, &lg.id)
                    .await?
                    .into_iter()
                    .map(|t| (t.id, t.name))
                    .collect();
                let name = |id: &str| names.get(id).cloned().unwrap_or_else(|| id.to_string());
                let mut text = String::new();
                for r in &reports {
                    text.push_str(&format!("Week {}: ", r.week));
                    if r.matchups.is_empty() {
                        let mut pts: Vec<_> = r.team_points.iter().collect();
                        pts.sort_by(|a, b| b.1.cmp(a.1));
                        text.push_str(
                            &pts.iter()
                                .map(|(t, p)| format!("{} {p}", name(t)))
                                .collect::<Vec<_>>()
                                .join(", "),
                        );
                    } else {
                        text.push_str(
                            &r.matchups
                                .iter()
                                .map(|m| {
                                    format!(
                                        "{} {} - {} {}",
                                        name(&m.home),
                                        m.home_score,
                                        m.away_score,
                                        name(&m.away)
                                    )
                                })
                                .collect::<Vec<_>>()
                                .join("; "),
                        );
                    }
                    if !r.trades_executed.is_empty() {
                        text.push_str(&format!("; {} trades executed", r.trades_executed.len()));
                    }
                    if !r.waivers.is_empty() {
                        text.push_str(&format!(
                            "; waivers {} won / {} lost",
                            r.waivers.iter().filter(|w| w.status == "won").count(),
                            r.waivers.iter().filter(|w| w.status != "won").count()
                        ));
                    }
                    text.push_str(".\n");
                }
                if let Some(reason) = &stopped {
                    text.push_str(&format!("Stopped early: {reason}.\n"));
                }
                text.push_str(&format!(
                    "Leader: {}.",
                    table
                        .first()
                        .map(|r| format!(
                            "{} ({}-{}-{}, {} pts)",
                            name(&r.team),
                            r.wins,
                            r.losses,
                            r.ties,
                            r.points_for
                        ))
                        .unwrap_or_default()
                ));
                out(
                    text,
                    json!({"weeks": reports, "standings": table, "next_week": lg.current_week, "stopped_early": stopped}),
                )
            }
            "fantasy_standings" => {
                let i: StandingsIn = parse_args(args)?;
                let lg = league::league(&ctx.store, &i.league_id).await?;
                let table = engine::standings(&ctx.store, &lg).await?;
                let names: BTreeMap<String, String> = league::teams(&ctx.store, &lg.id)
                    .await?
                    .into_iter()
                    .map(|t| (t.id, t.name))
                    .collect();
                let text = table
                    .iter()
                    .map(|r| {
                        format!(
                            "{}. {} {}-{}-{} ({:.3}) PF {} PA {}",
                            r.rank,
                            names.get(&r.team).cloned().unwrap_or_default(),
                            r.wins,
                            r.losses,
                            r.ties,
                            r.win_pct,
                            r.points_for,
                            r.points_against
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n");
                out(
                    format!("{} after week {}:\n{text}", lg.name, lg.current_week - 1),
                    json!({"league_id": lg.id, "weeks_scored": lg.current_week - 1, "standings": table, "team_names": names, "tiebreakers": TIEBREAKERS}),
                )
            }
            "fantasy_collective_vote" => {
                let i: CollectiveIn = parse_args(args)?;
                let member = match &i {
                    CollectiveIn::Create { member, .. }
                    | CollectiveIn::Join { member, .. }
                    | CollectiveIn::Deposit { member, .. }
                    | CollectiveIn::Withdraw { member, .. }
                    | CollectiveIn::Propose { member, .. }
                    | CollectiveIn::Vote { member, .. } => Some(member.as_str()),
                    CollectiveIn::Status { .. }
                    | CollectiveIn::Balance { .. }
                    | CollectiveIn::Winnings { .. } => None,
                };
                if matches!(i, CollectiveIn::Winnings { .. }) && !actor.is_admin {
                    return Err(ToolError::refused(
                        "only an operator (admin scope) may credit winnings to a collective",
                    ));
                }
                if let Some(member) = member
                    && member != ctx.caller.id
                    && !actor.is_admin
                {
                    return Err(ToolError::invalid(
                        "member",
                        format!(
                            "you are `{}`; only an operator (admin scope) may act as another member",
                            ctx.caller.id
                        ),
                    ));
                }
                match i {
                    CollectiveIn::Create {
                        league_id,
                        name,
                        member,
                        stake,
                        quorum_pct,
                        approve_pct,
                        member_fee,
                    } => {
                        let half = Decimal::new(5, 1);
                        let c = collective::create(
                            &ctx.store,
                            &actor,
                            &league_id,
                            &name,
                            &member,
                            stake,
                            member_fee.unwrap_or_default(),
                            quorum_pct.unwrap_or(half),
                            approve_pct.unwrap_or(half),
                            now,
                        )
                        .await?;
                        out(
                            format!(
                                "Collective `{}` (id {}) created with team {}; pool {}.",
                                c.name, c.id, c.team_id, c.pool
                            ),
                            json!({"collective": c}),
                        )
                    }
                    CollectiveIn::Join {
                        collective_id,
                        member,
                        stake,
                        funding,
                    } => {
                        let c = collective::contribute(
                            &ctx.store,
                            &actor,
                            &collective_id,
                            &member,
                            stake,
                            funding.unwrap_or_default(),
                            now,
                        )
                        .await?;
                        out(
                            format!(
                                "{member} added {stake}; pool {} across {} members.",
                                c.pool,
                                c.members.len()
                            ),
                            json!({"collective": c}),
                        )
                    }
                    CollectiveIn::Propose {
                        collective_id,
                        member,
                        motion,
                    } => {
                        let p = collective::propose(
                            &ctx.store,
                            &actor,
                            &collective_id,
                            &member,
                            motion,
                            now,
                        )
                        .await?;
                        out(p.summary(), json!({"proposal": p}))
                    }
                    CollectiveIn::Vote {
                        proposal_id,
                        member,
                        approve,
                    } => {
                        let p = collective::vote(
                            &ctx.store,
                            &actor,
                            &proposal_id,
                            &member,
                            approve,
                            now,
                        )
                        .await?;
                        out(p.summary(), json!({"proposal": p}))
                    }
                    CollectiveIn::Deposit {
                        collective_id,
                        member,
                        amount,
                    } => {
                        let b = collective::deposit(
                            &ctx.store,
                            &actor,
                            &collective_id,
                            &member,
                            amount,
                            now,
                        )
                        .await?;
                        out(
                            format!(
                                "{member} deposited {amount}; credit {}.",
                                b.member(&member).credit
                            ),
                            json!({"balances": b}),
                        )
                    }
                    CollectiveIn::Withdraw {
                        collective_id,
                        member,
                        amount,
                    } => {
                        let w = collective::withdraw(
                            &ctx.store,
                            &actor,
                            &collective_id,
                            &member,
                            amount,
                            now,
                        )
                        .await?;
                        let mb = w.balances.member(&member);
                        out(
                            format!(
                                "{member} withdrew {} ({} from credit, {} from stake); credit {}, stake {}, pool {}.",
                                w.amount,
                                w.from_credit,
                                w.from_stake,
                                mb.credit,
                                mb.stake,
                                w.balances.pool
                            ),
                            json!({"withdrawal": w}),
                        )
                    }
                    CollectiveIn::Balance {
                        collective_id,
                        member,
                    } => {
                        let mut b = collective::balances(&ctx.store, &collective_id).await?;
                        let mut ledger = collective::ledger(&ctx.store, &collective_id).await?;
                        if let Some(m) = &member {
                            b.members.retain(|k, _| k == m);
                            ledger.retain(|e| e.member.as_deref() == Some(m.as_str()));
                        }
                        out(
                            format!(
                                "Pool {}; {}.",
                                b.pool,
                                b.members
                                    .iter()
                                    .map(|(m, v)| format!(
                                        "{m}: credit {}, stake {}, paid {}",
                                        v.credit, v.stake, v.paid_out
                                    ))
                                    .collect::<Vec<_>>()
                                    .join("; ")
                            ),
                            json!({"balances": b, "ledger": ledger}),
                        )
                    }
                    CollectiveIn::Winnings {
                        collective_id,
                        amount,
                        reference,
                    } => {
                        let b = collective::credit_winnings(
                            &ctx.store,
                            &actor,
                            &collective_id,
                            amount,
                            reference.as_deref(),
                            now,
                        )
                        .await?;
                        out(
                            format!("Credited {amount} of winnings; pool {}.", b.pool),
                            json!({"balances": b}),
                        )
                    }
                    CollectiveIn::Status { collective_id } => {
                        let c = collective::collective(&ctx.store, &collective_id).await?;
                        out(
                            format!(
                                "`{}`: pool {}, quorum {} of stake, approval {} of votes; members {}.",
                                c.name,
                                c.pool,
                                c.quorum_pct,
                                c.approve_pct,
                                c.members
                                    .iter()
                                    .map(|m| format!(
                                        "{} stake {} (paid {}, credit {})",
                                        m.member, m.stake, m.paid_out, m.credit
                                    ))
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                            json!({"collective": c}),
                        )
                    }
                }
            }
            "fantasy_import_stats" => {
                let i: ImportIn = parse_args(args)?;
                let query = StatsQuery {
                    season: i.season,
                    week: i.week,
                    dates: i.dates.clone().unwrap_or_default(),
                };
                let (batch, source) = match i.format {
                    ImportFormat::Sample => (
                        SampleProvider::default().fetch(i.sport, &query).await?,
                        "sample",
                    ),
                    ImportFormat::Provider => {
                        let provider = self.provider.as_ref().ok_or_else(|| {
                            ToolError::refused("no stats provider is configured")
                                .with_hint(
                                    "set BALLDONTLIE_API_KEY (NBA stats from api.balldontlie.io), or import csv/json",
                                )
                        })?;
                        ctx.progress
                            .report(
                                0.0,
                                Some(2.0),
                                format!("fetching {} stats from {}", i.sport, provider.name()),
                            )
                            .await;
                        let batch = provider.fetch(i.sport, &query).await?;
                        if batch.stats.is_empty() {
                            return Err(ToolError::not_found(format!(
                                "{} has no {} stat lines for {}",
                                provider.name(),
                                i.sport,
                                query.dates.join(", ")
                            )));
                        }
                        (batch, provider.name())
                    }
                    ImportFormat::Csv | ImportFormat::Json => {
                        let text = i.data.ok_or_else(|| {
                            ToolError::invalid("data", "csv and json imports need `data`")
                        })?;
                        if text.len() > 20 * 1024 * 1024 {
                            return Err(ToolError::invalid("data", "at most 20 MiB per import"));
                        }
                        let parse = if matches!(i.format, ImportFormat::Csv) {
                            stats::parse_csv
                        } else {
                            stats::parse_json
                        };
                        let batch = parse(i.sport, &text).map_err(|e| e.under("data"))?;
                        (
                            batch,
                            if matches!(i.format, ImportFormat::Csv) {
                                "import:csv"
                            } else {
                                "import:json"
                            },
                        )
                    }
                };
                ctx.progress
                    .report(
                        0.0,
                        Some(1.0),
                        format!("storing {} stat lines", batch.stats.len()),
                    )
                    .await;
                let source = source.to_string();
                let counts = data::store_batch(&ctx.store, &actor, i.sport, &batch, &source, now)
                    .await
                    .map_err(|e| e.under("data"))?;
                ctx.progress.report(1.0, Some(1.0), "stored").await;
                out(
                    format!(
                        "Imported {} players, {} stat lines and {} team kickoffs ({source}, {}).{}",
                        counts.players,
                        counts.stat_lines,
                        counts.games,
                        i.sport,
                        if batch.notes.is_empty() {
                            String::new()
                        } else {
                            format!(" Left out: {}.", batch.notes.join("; "))
                        }
                    ),
                    json!({"counts": counts, "source": source, "sport": i.sport, "notes": batch.notes}),
                )
            }
            other => Err(ToolError::not_found(format!(
                "fantasy has no tool `{other}`"
            ))),
        }
    }
}

fn kind_name(kind: LeagueKind) -> &'static str {
    match kind {
        LeagueKind::Season => "season-long",
        LeagueKind::Daily => "daily",
    }
}
