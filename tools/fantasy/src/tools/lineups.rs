//! Lineup tools: set a team's lineup, the optimal lineup and diverse lineups
//! (branch-and-bound searches: CPU-heavy, cancellable).

use nt_mcp_core::{Route, ToolCtx, ToolError, ToolOutput, route};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use crate::FantasyBundle;
use crate::data;
use crate::db::Actor;
use crate::error::{FantasyError, Result};
use crate::league::{self, LeagueKind};
use crate::model::{Sport, parse_slots};
use crate::optimizer::{self, Candidate, DiverseOptions, LineupRules, StackRule};
use crate::sample::SAMPLE_SEASON;
use crate::tools::common::{
    ScoringInput, last_week, latest_season_or_sample, out, resolve_scoring,
};

/// The lineup tools.
pub(crate) fn routes() -> Vec<Route<FantasyBundle>> {
    vec![
        route("fantasy_set_lineup", "Set a team's lineup for a week (refused once the week locks at game start). Without `lineup`, sets the best lineup by projection.", set_lineup).writes().cpu_heavy(),
        route("fantasy_optimal_lineup", "The lineup with the most projected points under the salary cap and position slots (FLEX/UTIL), with locked/excluded players, team limits and stacking. Exact (branch-and-bound), not greedy.", optimal_lineup).deadline(Duration::from_secs(30)).cpu_heavy(),
        route("fantasy_lineups_diverse", "N diverse lineups for daily contests, each optimal given the earlier ones: exposure cap per player, minimum unique players between lineups, stacking. Reports progress; cancellable.", lineups_diverse).deadline(Duration::from_secs(30)).cpu_heavy(),
    ]
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LineupEntry {
    /// Index into the league's slot list (0-based).
    slot_index: usize,
    /// Player id.
    player_id: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SetLineupInput {
    /// Team id.
    team_id: String,
    /// Week (default: the league's current week).
    week: Option<i64>,
    /// One entry per slot; omitted: the best lineup by projection.
    lineup: Option<Vec<LineupEntry>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LineupInput {
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
pub(crate) struct DiverseInput {
    #[serde(flatten)]
    base: LineupInput,
    /// Lineups wanted, 1..=500 (default 20).
    count: Option<usize>,
    /// Largest share of lineups one unlocked player may be in, (0, 1] (default 0.5).
    max_exposure: Option<Decimal>,
    /// Each lineup differs from every earlier one in at least this many players (default 2).
    min_unique: Option<usize>,
}

/// Pool and rules for the lineup tools.
async fn lineup_setup(
    ctx: &ToolCtx,
    input: &LineupInput,
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

async fn set_lineup(
    _b: Arc<FantasyBundle>,
    i: SetLineupInput,
    ctx: ToolCtx,
) -> std::result::Result<ToolOutput, ToolError> {
    let actor = Actor::of_call(&ctx);
    let now = ctx.clock.now_ms();
    let team = league::team(&ctx.store, &i.team_id).await?;
    let lg = league::league(&ctx.store, &team.league_id).await?;
    let week = i.week.unwrap_or(lg.current_week);
    let auto = i.lineup.is_none();
    let assignment = match i.lineup {
        Some(entries) => entries
            .into_iter()
            .map(|e| (e.slot_index, e.player_id))
            .collect(),
        None => {
            league::best_lineup_until(&ctx.store, &lg, &team.id, week, now, ctx.cancel.clone())
                .await?
        }
    };
    let rows = league::set_lineup(&ctx.store, &actor, &team.id, week, assignment, now).await?;
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

async fn optimal_lineup(
    _b: Arc<FantasyBundle>,
    i: LineupInput,
    ctx: ToolCtx,
) -> std::result::Result<ToolOutput, ToolError> {
    let (pool, rules, source) = lineup_setup(&ctx, &i).await?;
    // A call cancelled while its pool loaded does not start the search.
    ctx.check_cancelled()?;
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

async fn lineups_diverse(
    _b: Arc<FantasyBundle>,
    i: DiverseInput,
    ctx: ToolCtx,
) -> std::result::Result<ToolOutput, ToolError> {
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
