//! Season tools: run the weekly cycle and read the standings.

use nt_mcp_core::{Route, ToolCtx, ToolError, ToolOutput, route};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use crate::FantasyBundle;
use crate::db::Actor;
use crate::engine;
use crate::league;
use crate::scoring::TIEBREAKERS;
use crate::tools::common::out;

/// The season tools.
pub(crate) fn routes() -> Vec<Route<FantasyBundle>> {
    vec![
        route("fantasy_score_week", "Run the weekly cycle for the current week: execute trades past their veto window, lock lineups (auto-filling missing ones), score every team, decide matchups, update standings, process waivers. Long: reports progress, cancellable.", score_week).writes().not_idempotent().deadline(Duration::from_secs(60)).cpu_heavy(),
        route("fantasy_standings", "League standings: wins, losses, ties, win percentage, points for/against, with tiebreakers (head-to-head, points for).", standings),
    ]
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ScoreWeekInput {
    /// League id.
    league_id: String,
    /// Consecutive weeks to run from the current one, 1..=60 (default 1).
    weeks: Option<u32>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct StandingsInput {
    /// League id.
    league_id: String,
}

async fn score_week(
    _b: Arc<FantasyBundle>,
    i: ScoreWeekInput,
    ctx: ToolCtx,
) -> std::result::Result<ToolOutput, ToolError> {
    let actor = Actor::of_call(&ctx);
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

async fn standings(
    _b: Arc<FantasyBundle>,
    i: StandingsInput,
    ctx: ToolCtx,
) -> std::result::Result<ToolOutput, ToolError> {
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
