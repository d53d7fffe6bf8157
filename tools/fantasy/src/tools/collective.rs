//! The collective tool: syndicate-owned teams, their money and their votes.

use nt_mcp_core::{Route, ToolCtx, ToolError, ToolOutput, route};
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;

use crate::FantasyBundle;
use crate::collective::{self, Motion};
use crate::db::Actor;
use crate::tools::common::out;

/// The collective tools.
pub(crate) fn routes() -> Vec<Route<FantasyBundle>> {
    vec![
        route("fantasy_collective_vote", "Collectives (syndicate-owned teams): create (the pool pays the league entry fee), join paying the member entry fee plus a stake, deposit, withdraw, balance (from the money ledger), winnings (operator), propose a motion (lineup, trade, payout), vote with stake-weighted quorum, status. Passed motions execute; payouts split the pool by stake to the cent. Every money movement is a ledger row and an audit row.", collective_vote).writes().not_idempotent(),
    ]
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(tag = "action", rename_all = "lowercase", deny_unknown_fields)]
pub(crate) enum CollectiveInput {
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

async fn collective_vote(
    _b: Arc<FantasyBundle>,
    i: CollectiveInput,
    ctx: ToolCtx,
) -> std::result::Result<ToolOutput, ToolError> {
    let actor = Actor::of_call(&ctx);
    let now = ctx.clock.now_ms();
    let member = match &i {
        CollectiveInput::Create { member, .. }
        | CollectiveInput::Join { member, .. }
        | CollectiveInput::Deposit { member, .. }
        | CollectiveInput::Withdraw { member, .. }
        | CollectiveInput::Propose { member, .. }
        | CollectiveInput::Vote { member, .. } => Some(member.as_str()),
        CollectiveInput::Status { .. }
        | CollectiveInput::Balance { .. }
        | CollectiveInput::Winnings { .. } => None,
    };
    if matches!(i, CollectiveInput::Winnings { .. }) && !actor.is_admin {
        return Err(ToolError::refused(
            "only an operator (admin scope) may credit winnings to a collective",
        ));
    }
    if let Some(member) = member
        && member != actor.identity
        && !actor.is_admin
    {
        return Err(ToolError::invalid(
            "member",
            format!(
                "you are `{}`; only an operator (admin scope) may act as another member",
                actor.identity
            ),
        ));
    }
    match i {
        CollectiveInput::Create {
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
        CollectiveInput::Join {
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
        CollectiveInput::Propose {
            collective_id,
            member,
            motion,
        } => {
            let p = collective::propose(&ctx.store, &actor, &collective_id, &member, motion, now)
                .await?;
            out(p.summary(), json!({"proposal": p}))
        }
        CollectiveInput::Vote {
            proposal_id,
            member,
            approve,
        } => {
            let p =
                collective::vote(&ctx.store, &actor, &proposal_id, &member, approve, now).await?;
            out(p.summary(), json!({"proposal": p}))
        }
        CollectiveInput::Deposit {
            collective_id,
            member,
            amount,
        } => {
            let b = collective::deposit(&ctx.store, &actor, &collective_id, &member, amount, now)
                .await?;
            out(
                format!(
                    "{member} deposited {amount}; credit {}.",
                    b.member(&member).credit
                ),
                json!({"balances": b}),
            )
        }
        CollectiveInput::Withdraw {
            collective_id,
            member,
            amount,
        } => {
            let w = collective::withdraw(&ctx.store, &actor, &collective_id, &member, amount, now)
                .await?;
            let mb = w.balances.member(&member);
            out(
                format!(
                    "{member} withdrew {} ({} from credit, {} from stake); credit {}, stake {}, pool {}.",
                    w.amount, w.from_credit, w.from_stake, mb.credit, mb.stake, w.balances.pool
                ),
                json!({"withdrawal": w}),
            )
        }
        CollectiveInput::Balance {
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
        CollectiveInput::Winnings {
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
        CollectiveInput::Status { collective_id } => {
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
