//! Trade tools: propose, evaluate and answer trades.

use nt_mcp_core::{Route, ToolCtx, ToolError, ToolOutput, route};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;

use crate::FantasyBundle;
use crate::db::Actor;
use crate::league;
use crate::tools::common::out;
use crate::trade::{self, Response};

/// The trade tools.
pub(crate) fn routes() -> Vec<Route<FantasyBundle>> {
    vec![
        route("fantasy_propose_trade", "Propose a trade between two teams of a season league; refused when either roster would become invalid. Audited.", propose_trade).writes().not_idempotent(),
        route("fantasy_evaluate_trade", "Fairness of a trade: rest-of-season projected value of both sides and each team's best lineup before and after (positional need), with a verdict.", evaluate_trade).cpu_heavy(),
        route("fantasy_respond_trade", "Answer a trade: accept (starts the veto window), reject, counter (a new offer back), veto (other teams; enough vetoes cancel it) or cancel (proposer). Audited.", respond_trade).writes().not_idempotent(),
    ]
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct TradeInput {
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
pub(crate) struct EvaluateInput {
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
pub(crate) struct CounterInput {
    /// Players the countering team sends.
    give: Vec<String>,
    /// Players it wants.
    receive: Vec<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RespondInput {
    /// Trade id.
    trade_id: String,
    /// The team answering.
    team_id: String,
    /// accept | reject | counter | veto | cancel.
    action: Response,
    /// For `counter`: the new offer from the answering team's side.
    counter: Option<CounterInput>,
}

async fn propose_trade(
    _b: Arc<FantasyBundle>,
    i: TradeInput,
    ctx: ToolCtx,
) -> std::result::Result<ToolOutput, ToolError> {
    let actor = Actor::of_call(&ctx);
    let now = ctx.clock.now_ms();
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

async fn evaluate_trade(
    _b: Arc<FantasyBundle>,
    i: EvaluateInput,
    ctx: ToolCtx,
) -> std::result::Result<ToolOutput, ToolError> {
    let now = ctx.clock.now_ms();
    let e = trade::evaluate(
        &ctx.store,
        &i.from_team,
        &i.to_team,
        &i.give,
        &i.receive,
        now,
        &|| ctx.cancel.is_cancelled(),
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

async fn respond_trade(
    _b: Arc<FantasyBundle>,
    i: RespondInput,
    ctx: ToolCtx,
) -> std::result::Result<ToolOutput, ToolError> {
    let actor = Actor::of_call(&ctx);
    let now = ctx.clock.now_ms();
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
