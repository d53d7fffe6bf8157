//! The waiver tool: claim a free agent.

use nt_mcp_core::{Route, ToolCtx, ToolError, ToolOutput, route};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;

use crate::FantasyBundle;
use crate::db::Actor;
use crate::tools::common::out;
use crate::trade;

/// The waiver tools.
pub(crate) fn routes() -> Vec<Route<FantasyBundle>> {
    vec![
        route("fantasy_waiver_claim", "Claim a free agent (optionally dropping a player); claims are processed in waiver order by the weekly cycle, winners move to the end of the order. Audited.", waiver_claim).writes().not_idempotent(),
    ]
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct WaiverInput {
    /// Claiming team id.
    team_id: String,
    /// Free agent to add.
    add_player: String,
    /// Player to drop (needed when the roster is full).
    drop_player: Option<String>,
}

async fn waiver_claim(
    _b: Arc<FantasyBundle>,
    i: WaiverInput,
    ctx: ToolCtx,
) -> std::result::Result<ToolOutput, ToolError> {
    let actor = Actor::of_call(&ctx);
    let now = ctx.clock.now_ms();
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
