//! Player tools: stats summaries, projections and stats imports.

use nt_mcp_core::{Route, ToolCtx, ToolError, ToolOutput, route};
use std::sync::Arc;
use std::time::Duration;

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use crate::FantasyBundle;
use crate::data::{self, SampleProvider, StatsProvider, StatsQuery};
use crate::db::Actor;
use crate::model::Sport;
use crate::stats;
use crate::tools::common::{
    ScoringInput, last_week, latest_season_or_sample, out, resolve_scoring, sport_of_player,
};

/// The player tools.
pub(crate) fn routes() -> Vec<Route<FantasyBundle>> {
    vec![
        route("fantasy_player_stats", "A player's season: fantasy points per week, rolling average, consistency (standard deviation, floor, ceiling) and usage trend.", player_stats),
        route("fantasy_project_player", "Project a player's fantasy points for a week with an 80% interval and the drivers (recent form, season average, usage, status), from a per-position least-squares model; projections and models are stored and versioned.", project_player).writes(),
        route("fantasy_import_stats", "Import players, weekly stats and optional games with kickoff times (which lock lineup slots) from CSV or JSON (format in resource fantasy://import-format), or load the bundled seeded sample season (nfl, nba). Audited.", import_stats).writes().deadline(Duration::from_secs(60)),
    ]
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PlayerStatsInput {
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
pub(crate) struct ProjectInput {
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
#[serde(rename_all = "lowercase")]
pub(crate) enum ImportFormat {
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
pub(crate) struct ImportInput {
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

async fn player_stats(
    _b: Arc<FantasyBundle>,
    i: PlayerStatsInput,
    ctx: ToolCtx,
) -> std::result::Result<ToolOutput, ToolError> {
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

async fn project_player(
    _b: Arc<FantasyBundle>,
    i: ProjectInput,
    ctx: ToolCtx,
) -> std::result::Result<ToolOutput, ToolError> {
    let now = ctx.clock.now_ms();
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

async fn import_stats(
    b: Arc<FantasyBundle>,
    i: ImportInput,
    ctx: ToolCtx,
) -> std::result::Result<ToolOutput, ToolError> {
    let actor = Actor::of_call(&ctx);
    let now = ctx.clock.now_ms();
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
            let provider = b.provider.as_ref().ok_or_else(|| {
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
            let text = i
                .data
                .ok_or_else(|| ToolError::invalid("data", "csv and json imports need `data`"))?;
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
