//! Helpers the tool families share: scoring input, season and week defaults,
//! player lookup and the answer helper.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use nt_mcp_core::{ToolCtx, ToolError, ToolOutput};

use crate::data;
use crate::error::{FantasyError, Result};
use crate::model::Sport;
use crate::sample::SAMPLE_SEASON;
use crate::scoring::{PRESETS, RuleSet};

/// A scoring rule set: a preset name or a full rule set.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum ScoringInput {
    /// Preset: nfl_standard, nfl_half_ppr, nfl_ppr (ESPN standard), nfl_draftkings, nfl_fanduel, nba_points, nba_draftkings, nba_fanduel, nba_9cat, mlb_points, soccer_points.
    Preset(String),
    /// A custom rule set (see resource fantasy://scoring-presets for examples).
    Custom(RuleSet),
}

pub(crate) fn resolve_scoring(input: Option<ScoringInput>, sport: Sport) -> Result<RuleSet> {
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

pub(crate) fn out(
    text: String,
    structured: impl Serialize,
) -> std::result::Result<ToolOutput, ToolError> {
    Ok(ToolOutput::new(text, structured))
}

pub(crate) async fn latest_season_or_sample(ctx: &ToolCtx, sport: Sport) -> Result<i64> {
    data::ensure_data(&ctx.store, sport, ctx.clock.now_ms()).await?;
    Ok(data::latest_season(&ctx.store, sport)
        .await?
        .unwrap_or(SAMPLE_SEASON))
}

pub(crate) async fn sport_of_player(ctx: &ToolCtx, id: &str) -> Result<crate::model::Player> {
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

pub(crate) async fn last_week(ctx: &ToolCtx, sport: Sport, season: i64) -> Result<i64> {
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
