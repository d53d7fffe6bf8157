//! Motions of a collective: proposals, stake-weighted votes and the
//! execution of passed motions (lineups, trades, payouts).

use nt_mcp_core::Store;
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sqlx::{Any, Row, Transaction};

use super::*;
use crate::db::{Actor, audit, json_col, to_json};
use crate::error::{FantasyError, Result};
use crate::league;
use crate::trade;

/// What a proposal asks the collective to do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Motion {
    /// Set the team's lineup for a week (`auto` picks the best by projection).
    Lineup {
        /// Week.
        week: i64,
        /// Slot index -> player id; empty for the best lineup by projection.
        #[serde(default)]
        lineup: Vec<(usize, String)>,
    },
    /// Propose a trade from the collective's team.
    Trade {
        /// Other team.
        to_team: String,
        /// Players the collective sends.
        give: Vec<String>,
        /// Players it gets.
        receive: Vec<String>,
    },
    /// Pay winnings out of the pool to the members' credit, split by stake
    /// to the cent (largest remainder: the shares add up to the amount).
    Payout {
        /// Amount to split, in whole cents (at most what the pool holds).
        amount: Decimal,
    },
}

/// A proposal and its tally.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Proposal {
    /// Id.
    pub id: String,
    /// Collective.
    pub collective_id: String,
    /// The motion.
    pub motion: Motion,
    /// open | passed | failed
    pub status: Decision,
    /// Stake that voted.
    pub voted: Decimal,
    /// Stake that approved.
    pub approved: Decimal,
    /// Total stake.
    pub total: Decimal,
    /// What executing it produced (when passed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<serde_json::Value>,
}

fn require_member(c: &Collective, member: &str) -> Result<Decimal> {
    c.members
        .iter()
        .find(|m| m.member == member)
        .map(|m| m.stake)
        .ok_or_else(|| FantasyError::Refused(format!("`{member}` is not a member of {}", c.name)))
}

/// Opens a proposal (the proposer's vote counts as approval).
pub async fn propose(
    store: &Store,
    actor: &Actor,
    id: &str,
    member: &str,
    motion: Motion,
    now: i64,
) -> Result<Proposal> {
    let c = collective(store, id).await?;
    require_member(&c, member)?;
    if let Motion::Payout { amount } = &motion {
        if *amount <= Decimal::ZERO {
            return Err(FantasyError::invalid("motion.amount", "must be positive"));
        }
        whole_cents("motion.amount", *amount)?;
        if c.members.iter().all(|m| m.stake <= Decimal::ZERO) {
            return Err(FantasyError::invalid(
                "motion.amount",
                "no member holds stake, so a payout would have no one to go to",
            ));
        }
    }
    if let Motion::Payout { amount } = &motion
        && *amount > c.pool
    {
        return Err(FantasyError::invalid(
            "motion.amount",
            format!("{amount} is more than the pool holds ({})", c.pool),
        ));
    }
    let pid = uuid::Uuid::now_v7().to_string();
    let mut tx = store.pool().begin().await?;
    lock_money(&mut tx, id).await?;
    sqlx::query(
        "INSERT INTO fantasy_collective_proposals (id, collective_id, kind, payload, status, created_by, created_ms) VALUES ($1, $2, $3, $4, 'open', $5, $6)",
    )
    .bind(pid.as_str())
    .bind(id)
    .bind(match motion {
        Motion::Lineup { .. } => "lineup",
        Motion::Trade { .. } => "trade",
        Motion::Payout { .. } => "payout",
    })
    .bind(to_json(&motion))
    .bind(member)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    audit(&mut tx, actor, "ok", &serde_json::json!({"event": "collective_proposal", "collective_id": id, "proposal_id": pid, "motion": motion})).await?;
    tx.commit().await?;
    vote(store, actor, &pid, member, true, now).await
}

/// Records a vote weighted by stake; executes the motion once it passes.
pub async fn vote(
    store: &Store,
    actor: &Actor,
    proposal_id: &str,
    member: &str,
    approve: bool,
    now: i64,
) -> Result<Proposal> {
    let row = sqlx::query("SELECT * FROM fantasy_collective_proposals WHERE id = $1")
        .bind(proposal_id)
        .fetch_optional(store.pool())
        .await?
        .ok_or_else(|| FantasyError::NotFound(format!("no proposal `{proposal_id}`")))?;
    let cid: String = row.try_get("collective_id")?;
    let status: String = row.try_get("status")?;
    let motion: Motion = json_col(&row, "payload")?;
    let c = collective(store, &cid).await?;
    let weight = require_member(&c, member)?;
    if status != "open" {
        return Err(FantasyError::Refused(format!("the proposal is {status}")));
    }
    let mut tx = store.pool().begin().await?;
    // One decision at a time per collective: two last votes arriving
    // together cannot both pass (and execute) the motion.
    lock_money(&mut tx, &cid).await?;
    let status: String =
        sqlx::query("SELECT status FROM fantasy_collective_proposals WHERE id = $1")
            .bind(proposal_id)
            .fetch_one(&mut *tx)
            .await?
            .try_get("status")?;
    if status != "open" {
        return Err(FantasyError::Refused(format!("the proposal is {status}")));
    }
    let inserted = sqlx::query(
        "INSERT INTO fantasy_collective_votes (proposal_id, member, approve, weight, at_ms) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (proposal_id, member) DO NOTHING",
    )
    .bind(proposal_id)
    .bind(member)
    .bind(i64::from(approve))
    .bind(weight.to_string())
    .bind(now)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted == 0 {
        return Err(FantasyError::Refused(format!(
            "`{member}` has already voted"
        )));
    }
    let votes =
        sqlx::query("SELECT approve, weight FROM fantasy_collective_votes WHERE proposal_id = $1")
            .bind(proposal_id)
            .fetch_all(&mut *tx)
            .await?;
    let (mut voted, mut approved) = (Decimal::ZERO, Decimal::ZERO);
    for v in &votes {
        let w = dec_col(v, "weight")?;
        voted += w;
        if v.try_get::<i64, _>("approve")? != 0 {
            approved += w;
        }
    }
    let total: Decimal = c.members.iter().map(|m| m.stake).sum();
    let mut decision = decide(c.quorum_pct, c.approve_pct, total, voted, approved);
    audit(&mut tx, actor, "ok", &serde_json::json!({"event": "collective_vote", "proposal_id": proposal_id, "member": member, "approve": approve, "weight": weight, "decision": decision})).await?;
    // A payout is paid in the deciding transaction; one the pool can no
    // longer cover (another payout went first) fails instead.
    let mut result = None;
    if decision == Decision::Passed
        && let Motion::Payout { amount } = &motion
    {
        result = Some(
            match pay_out(&mut tx, actor, &c, *amount, proposal_id, now).await {
                Ok(v) => v,
                Err(FantasyError::Invalid { rule, .. }) => {
                    decision = Decision::Failed;
                    audit(&mut tx, actor, "refused", &serde_json::json!({"event": "collective_payout_failed", "proposal_id": proposal_id, "reason": rule})).await?;
                    serde_json::json!({"failed": rule})
                }
                Err(e) => return Err(e),
            },
        );
    }
    if decision != Decision::Open {
        sqlx::query(
            "UPDATE fantasy_collective_proposals SET status = $2, decided_ms = $3 WHERE id = $1",
        )
        .bind(proposal_id)
        .bind(if decision == Decision::Passed {
            "passed"
        } else {
            "failed"
        })
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    if decision == Decision::Passed && result.is_none() {
        result = Some(execute(store, actor, &c, &motion, now).await?);
    }
    Ok(Proposal {
        id: proposal_id.to_string(),
        collective_id: cid,
        motion,
        status: decision,
        voted,
        approved,
        total,
        result,
    })
}

async fn execute(
    store: &Store,
    actor: &Actor,
    c: &Collective,
    motion: &Motion,
    now: i64,
) -> Result<serde_json::Value> {
    // The collective acts for its own team.
    let team_actor = actor
        .clone()
        .as_identity(format!("collective:{}", c.id), actor.is_admin);
    match motion {
        Motion::Lineup { week, lineup } => {
            let assignment = if lineup.is_empty() {
                let league = league::league(store, &c.league_id).await?;
                league::best_lineup(store, &league, &c.team_id, *week, now).await?
            } else {
                lineup.clone()
            };
            let rows =
                league::set_lineup(store, &team_actor, &c.team_id, *week, assignment, now).await?;
            Ok(serde_json::json!({"lineup": rows}))
        }
        Motion::Trade {
            to_team,
            give,
            receive,
        } => {
            let t = trade::propose(
                store,
                &team_actor,
                &c.team_id,
                to_team,
                give.clone(),
                receive.clone(),
                Some(format!("voted by collective {}", c.name)),
                None,
                now,
            )
            .await?;
            Ok(serde_json::json!({"trade": t}))
        }
        Motion::Payout { .. } => Err(FantasyError::Refused(
            "payouts are paid when their vote passes".into(),
        )),
    }
}

/// Pays `amount` out of the pool onto members' credit, split by stake to
/// the cent ([`split_by_stake`]: the parts add up to exactly what leaves
/// the pool), inside the deciding transaction (already holding the lock).
/// Refused (field `motion.amount`, failing the motion) when the pool is
/// short, the amount is finer than a cent, or no member holds stake.
async fn pay_out(
    tx: &mut Transaction<'_, Any>,
    actor: &Actor,
    c: &Collective,
    amount: Decimal,
    proposal_id: &str,
    now: i64,
) -> Result<serde_json::Value> {
    let amount = &amount;
    let proposal_id = Some(proposal_id);
    let b = balances_in(tx, &c.id).await?;
    if *amount > b.pool {
        return Err(FantasyError::invalid(
            "motion.amount",
            format!("{amount} is more than the pool holds ({})", b.pool),
        ));
    }
    // A motion stored before amounts had to be whole cents fails here.
    whole_cents("motion.amount", *amount)?;
    let stakes: Vec<(String, Decimal)> = c
        .members
        .iter()
        .map(|m| (m.member.clone(), b.member(&m.member).stake))
        .collect();
    let parts = split_by_stake(*amount, &stakes);
    // What leaves the pool is exactly what the members receive.
    let shared: Decimal = parts.iter().map(|p| p.1).sum();
    if shared != *amount {
        return Err(FantasyError::invalid(
            "motion.amount",
            format!("{amount} cannot be shared by stake (no member holds stake)"),
        ));
    }
    post(tx, actor, &c.id, None, "payout", -*amount, proposal_id, now).await?;
    for (member, part) in &parts {
        if !part.is_zero() {
            post(
                tx,
                actor,
                &c.id,
                Some(member),
                "payout",
                *part,
                proposal_id,
                now,
            )
            .await?;
        }
    }
    audit(tx, actor, "ok", &serde_json::json!({"event": "collective_payout", "collective_id": c.id, "proposal_id": proposal_id, "amount": amount, "parts": parts})).await?;
    Ok(
        serde_json::json!({"payout": parts.iter().map(|(m, p)| serde_json::json!({"member": m, "amount": p})).collect::<Vec<_>>()}),
    )
}
