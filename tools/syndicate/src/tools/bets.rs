//! Bet tools: propose (placed at once at or under the vote threshold),
//! vote (placed when the quorum approves), settle.

use std::sync::Arc;

use nt_mcp_core::{Route, ToolCtx, ToolError, ToolOutput, route};
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use crate::SyndicateBundle;
use crate::error::SyndicateError;
use crate::roles::Action;
use crate::store::{self, BetRow, Change, VoteRow};
use crate::tools::acting;
use crate::votes::{Decision, Tally, decide};

pub(crate) fn routes() -> Vec<Route<SyndicateBundle>> {
    vec![
        route(
            "syndicate_propose_bet",
            "Proposes a bet from the pool. At or under the vote threshold a lead or analyst places it at once; above it the bet waits for a quorum vote (syndicate_vote).",
            propose,
        )
        .trade()
        .not_idempotent(),
        route(
            "syndicate_vote",
            "Votes yes or no on a proposed bet, weighted by your units. Once the votes reach the quorum the bet is placed (approved) or rejected.",
            vote,
        )
        .trade(),
        route(
            "syndicate_settle_bet",
            "Settles a placed bet as won, lost or void; the return goes back to the pool's cash and the NAV per unit moves. Lead only.",
            settle,
        )
        .trade(),
    ]
}

/// Input of `syndicate_propose_bet`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProposeInput {
    /// Syndicate id.
    syndicate_id: String,
    /// The member proposing (lead or analyst).
    as_member: String,
    /// What the bet is (event, market).
    description: String,
    /// The selection backed.
    selection: String,
    /// Decimal odds.
    odds: Decimal,
    /// Stake from the pool.
    stake: Decimal,
    /// Your probability that it wins, for the record.
    probability: Option<Decimal>,
}

async fn propose(
    _b: Arc<SyndicateBundle>,
    input: ProposeInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    let actor = acting(&ctx, "as_member", &input.as_member)?;
    if input.odds <= Decimal::ONE {
        return Err(ToolError::invalid(
            "odds",
            "decimal odds must be greater than 1",
        ));
    }
    if input.description.trim().is_empty() || input.selection.trim().is_empty() {
        return Err(ToolError::invalid(
            "selection",
            "describe the bet and its selection",
        ));
    }
    if let Some(p) = input.probability
        && !(p > Decimal::ZERO && p < Decimal::ONE)
    {
        return Err(ToolError::invalid(
            "probability",
            "strictly between 0 and 1",
        ));
    }
    let now = ctx.clock.now_ms();
    let id = uuid::Uuid::new_v4().to_string();
    let (st, change) = store::mutate(&ctx, &input.syndicate_id, |st| {
        let role = st.syn.member(&actor)?.role;
        role.require(&actor, Action::Propose)?;
        let needs_vote = input.stake > st.syn.rules.vote_threshold;
        let mut bet = BetRow {
            id: id.clone(),
            proposer: actor.clone(),
            description: input.description.trim().into(),
            selection: input.selection.trim().into(),
            odds: input.odds,
            stake: input.stake,
            probability: input.probability,
            status: "proposed".into(),
            yes_units: Decimal::ZERO,
            no_units: Decimal::ZERO,
            pnl: None,
            created_ms: now,
            decided_ms: None,
            settled_ms: None,
        };
        if input.stake > st.syn.fund.cash {
            return Err(SyndicateError::rule("cash_available", format!("stake {} is more than the {} not at risk", input.stake, st.syn.fund.cash)));
        }
        let mut entries = Vec::new();
        if !needs_vote {
            role.require(&actor, Action::PlaceDirect)?;
            entries.push(st.syn.place_bet(input.stake)?);
            bet.status = "placed".into();
            bet.decided_ms = Some(now);
        } else if input.stake <= Decimal::ZERO || input.stake.normalize().scale() > 2 {
            return Err(SyndicateError::invalid("stake", "positive, at most 2 decimal places"));
        }
        Ok(Change {
            answer: json!({"bet": bet, "needs_vote": needs_vote, "vote_threshold": st.syn.rules.vote_threshold}),
            outcome: if needs_vote { "syndicate_bet_proposed" } else { "syndicate_bet_placed" },
            reference: Some(bet.id.clone()),
            bets: vec![bet],
            entries,
            ..Change::default()
        })
    })
    .await?;
    let needs = change.answer["needs_vote"].as_bool().unwrap_or(false);
    Ok(ToolOutput::new(
        if needs {
            format!(
                "bet {id} proposed: {} @ {} stake {} is over the threshold {}; it needs a vote",
                input.selection, input.odds, input.stake, st.syn.rules.vote_threshold
            )
        } else {
            format!(
                "bet {id} placed: {} @ {} stake {}; cash left {}",
                input.selection, input.odds, input.stake, st.syn.fund.cash
            )
        },
        change.answer,
    ))
}

/// Input of `syndicate_vote`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct VoteInput {
    /// Syndicate id.
    syndicate_id: String,
    /// The proposed bet.
    bet_id: String,
    /// The member voting.
    as_member: String,
    /// Yes (true) or no (false).
    approve: bool,
}

async fn vote(
    _b: Arc<SyndicateBundle>,
    input: VoteInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    let actor = acting(&ctx, "as_member", &input.as_member)?;
    let now = ctx.clock.now_ms();
    let (_, change) = store::mutate(&ctx, &input.syndicate_id, |st| {
        let m = st.syn.member(&actor)?.clone();
        m.role.require(&actor, Action::Vote)?;
        if m.units.is_zero() {
            return Err(SyndicateError::rule(
                "units_held",
                format!("`{actor}` holds no units, so the vote would carry no weight"),
            ));
        }
        let mut bet = st
            .bets
            .iter()
            .find(|b| b.id == input.bet_id)
            .cloned()
            .ok_or_else(|| {
                SyndicateError::NotFound(format!("no bet `{}` in this syndicate", input.bet_id))
            })?;
        if bet.status != "proposed" {
            return Err(SyndicateError::rule(
                "voting_open",
                format!("bet `{}` is {}, not open for votes", bet.id, bet.status),
            ));
        }
        if st
            .votes
            .iter()
            .any(|v| v.bet_id == bet.id && v.member_id == actor)
        {
            return Err(SyndicateError::rule(
                "one_vote",
                format!("`{actor}` has already voted on `{}`", bet.id),
            ));
        }
        if input.approve {
            bet.yes_units += m.units;
        } else {
            bet.no_units += m.units;
        }
        let tally = Tally {
            yes: bet.yes_units,
            no: bet.no_units,
            total: st.syn.fund.units,
        };
        let decision = decide(&tally, st.syn.rules.quorum_pct, st.syn.rules.approve_pct);
        let mut entries = Vec::new();
        let mut note = None;
        match decision {
            Decision::Open => {}
            Decision::Rejected => {
                bet.status = "rejected".into();
                bet.decided_ms = Some(now);
            }
            Decision::Approved => {
                bet.decided_ms = Some(now);
                match st.syn.place_bet(bet.stake) {
                    Ok(e) => {
                        entries.push(e);
                        bet.status = "placed".into();
                    }
                    Err(SyndicateError::Rule { message, .. }) => {
                        bet.status = "lapsed".into();
                        note = Some(format!("approved but not placed: {message}"));
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(Change {
            answer: json!({"bet": bet, "decision": decision, "tally": tally, "note": note}),
            outcome: "syndicate_vote",
            reference: Some(bet.id.clone()),
            votes: vec![VoteRow {
                bet_id: bet.id.clone(),
                member_id: actor.clone(),
                approve: input.approve,
                units: m.units,
                at_ms: now,
            }],
            bets: vec![bet],
            entries,
        })
    })
    .await?;
    let a = &change.answer;
    Ok(ToolOutput::new(
        format!(
            "{actor} voted {} on {}: yes {} / no {} of {} units -> {}{}",
            if input.approve { "yes" } else { "no" },
            input.bet_id,
            a["tally"]["yes"].as_str().unwrap_or(""),
            a["tally"]["no"].as_str().unwrap_or(""),
            a["tally"]["total"].as_str().unwrap_or(""),
            a["bet"]["status"].as_str().unwrap_or(""),
            a["note"]
                .as_str()
                .map(|n| format!(" ({n})"))
                .unwrap_or_default()
        ),
        change.answer,
    ))
}

/// Input of `syndicate_settle_bet`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SettleInput {
    /// Syndicate id.
    syndicate_id: String,
    /// The placed bet.
    bet_id: String,
    /// The lead acting.
    as_member: String,
    /// won, lost or void.
    result: String,
}

async fn settle(
    _b: Arc<SyndicateBundle>,
    input: SettleInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    let actor = acting(&ctx, "as_member", &input.as_member)?;
    let now = ctx.clock.now_ms();
    let (st, change) = store::mutate(&ctx, &input.syndicate_id, |st| {
        st.syn.member(&actor)?.role.require(&actor, Action::Settle)?;
        let mut bet = st.bets.iter().find(|b| b.id == input.bet_id).cloned().ok_or_else(|| SyndicateError::NotFound(format!("no bet `{}` in this syndicate", input.bet_id)))?;
        if bet.status != "placed" {
            return Err(SyndicateError::rule("bet_running", format!("bet `{}` is {}, not running", bet.id, bet.status)));
        }
        let (e, pnl) = st.syn.settle_bet(bet.stake, bet.odds, &input.result)?;
        bet.status = input.result.clone();
        bet.pnl = Some(pnl);
        bet.settled_ms = Some(now);
        Ok(Change { answer: json!({"bet": bet, "pnl": pnl, "nav": st.syn.fund.nav(), "nav_per_unit": st.syn.fund.nav_per_unit().round_dp(8)}), outcome: "syndicate_bet_settled", reference: Some(bet.id.clone()), bets: vec![bet], entries: vec![e], ..Change::default() })
    })
    .await?;
    Ok(ToolOutput::new(
        format!(
            "bet {} {}: profit {}; NAV {} ({} per unit)",
            input.bet_id,
            input.result,
            change.answer["pnl"].as_str().unwrap_or(""),
            st.syn.fund.nav(),
            st.syn.fund.nav_per_unit().round_dp(6)
        ),
        change.answer,
    ))
}
