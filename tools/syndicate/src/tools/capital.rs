//! Capital tools: create a syndicate, add members, contribute, withdraw,
//! distribute profit, and the status with member performance.

use std::collections::BTreeMap;
use std::sync::Arc;

use nt_mcp_core::{Route, ToolCtx, ToolError, ToolOutput, route};
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use crate::SyndicateBundle;
use crate::error::SyndicateError;
use crate::ledger::{Fund, Method, Rules, Syndicate, Tier, Withdrawal, default_tiers};
use crate::roles::{Action, Role};
use crate::store::{self, Change};
use crate::tools::acting;

pub(crate) fn routes() -> Vec<Route<SyndicateBundle>> {
    vec![
        route(
            "syndicate_create",
            "Creates a betting syndicate led by `lead`: quorum and approval shares for votes, the stake above which bets need a vote, the lock-up on contributions, the performance fee and distribution tiers.",
            create,
        )
        .writes()
        .not_idempotent(),
        route("syndicate_add_member", "Adds a member with a role (lead, analyst, member, observer); lead only.", add_member).writes(),
        route(
            "syndicate_contribute",
            "Puts money into the pool: units are issued at the current NAV per unit, and the money is locked up for the syndicate's lock-up.",
            contribute,
        )
        .trade()
        .not_idempotent(),
        route(
            "syndicate_withdraw",
            "Takes money out at NAV per unit (an amount, a number of units, or everything), from cash not at risk, after the lock-up.",
            withdraw,
        )
        .trade()
        .not_idempotent(),
        route(
            "syndicate_distribute",
            "Pays profit out of the pool's cash to members: proportional to units, hybrid (a performance fee to the leads, the rest by units) or tiered (units weighted by contribution tier); to the cent. Lead only.",
            distribute,
        )
        .trade()
        .not_idempotent(),
        route(
            "syndicate_status",
            "The pool (NAV, NAV per unit, cash, stakes at risk, units), every member's units, value, contributions, withdrawals, distributions and return, their bets' record, open proposals and the ledger's latest 20 rows.",
            status,
        ),
    ]
}

fn half() -> Decimal {
    Decimal::new(5, 1)
}

fn hundred() -> Decimal {
    Decimal::from(100)
}

fn fee() -> Decimal {
    Decimal::new(2, 1)
}

/// Input of `syndicate_create`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateInput {
    /// Name.
    name: String,
    /// The lead's member id (default: you).
    lead: Option<String>,
    /// Share of all units that must vote on a proposal, (0, 1] (default 0.5).
    #[serde(default = "half")]
    quorum_pct: Decimal,
    /// Share of the voting units that must approve, (0, 1] (default 0.5; ties fail).
    #[serde(default = "half")]
    approve_pct: Decimal,
    /// Bets with a stake above this need a vote (default 100).
    #[serde(default = "hundred")]
    vote_threshold: Decimal,
    /// Days contributions stay locked (default 0).
    #[serde(default)]
    lockup_days: u32,
    /// Performance fee share of hybrid distributions, [0, 1) (default 0.2).
    #[serde(default = "fee")]
    performance_fee_pct: Decimal,
    /// Tiers for tiered distributions (default 1.0 from 0, 1.1 from 1000, 1.25 from 5000).
    tiers: Option<Vec<Tier>>,
}

fn share(field: &str, v: Decimal, zero_ok: bool) -> Result<(), ToolError> {
    let ok = if zero_ok {
        v >= Decimal::ZERO && v < Decimal::ONE
    } else {
        v > Decimal::ZERO && v <= Decimal::ONE
    };
    if ok {
        Ok(())
    } else {
        Err(ToolError::invalid(
            field,
            if zero_ok {
                "a share in [0, 1)"
            } else {
                "a share in (0, 1]"
            },
        ))
    }
}

async fn create(
    _b: Arc<SyndicateBundle>,
    input: CreateInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    let name = input.name.trim();
    if name.is_empty() || name.len() > 100 {
        return Err(ToolError::invalid("name", "1 to 100 characters"));
    }
    share("quorum_pct", input.quorum_pct, false)?;
    share("approve_pct", input.approve_pct, false)?;
    share("performance_fee_pct", input.performance_fee_pct, true)?;
    if input.vote_threshold < Decimal::ZERO {
        return Err(ToolError::invalid("vote_threshold", "cannot be negative"));
    }
    if input.lockup_days > 3650 {
        return Err(ToolError::invalid("lockup_days", "at most 3650"));
    }
    let tiers = input.tiers.unwrap_or_else(default_tiers);
    if let Some(i) = tiers
        .iter()
        .position(|t| t.weight <= Decimal::ZERO || t.min_contribution < Decimal::ZERO)
    {
        return Err(ToolError::invalid(
            format!("tiers[{i}]"),
            "weight must be positive and min_contribution not negative",
        ));
    }
    let lead = match input.lead {
        Some(l) => acting(&ctx, "lead", &l)?,
        None => ctx.account_or(&ctx.caller.id).to_string(),
    };
    let now = ctx.clock.now_ms();
    let mut syn = Syndicate {
        id: uuid::Uuid::new_v4().to_string(),
        name: name.to_string(),
        rules: Rules {
            quorum_pct: input.quorum_pct,
            approve_pct: input.approve_pct,
            vote_threshold: input.vote_threshold,
            lockup_ms: i64::from(input.lockup_days) * 86_400_000,
            performance_fee_pct: input.performance_fee_pct,
            tiers,
        },
        fund: Fund::default(),
        members: BTreeMap::new(),
    };
    syn.add_member(&lead, Role::Lead, now)
        .map_err(|e| match e {
            SyndicateError::Invalid { rule, .. } => SyndicateError::invalid("lead", rule),
            other => other,
        })?;
    let answer =
        json!({"syndicate": {"id": syn.id, "name": syn.name, "lead": lead, "rules": syn.rules}});
    store::create(
        &ctx,
        &syn,
        &ctx.caller.id,
        &Change {
            outcome: "syndicate_created",
            answer: answer.clone(),
            ..Change::default()
        },
    )
    .await?;
    Ok(ToolOutput::new(
        format!("syndicate {} `{}` created, led by {lead}", syn.id, syn.name),
        answer,
    ))
}

/// Input of `syndicate_add_member`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AddMemberInput {
    /// Syndicate id.
    syndicate_id: String,
    /// The lead acting.
    as_member: String,
    /// The new member's id.
    member_id: String,
    /// Role (default member).
    role: Option<Role>,
}

async fn add_member(
    _b: Arc<SyndicateBundle>,
    input: AddMemberInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    let actor = acting(&ctx, "as_member", &input.as_member)?;
    let role = input.role.unwrap_or(Role::Member);
    let now = ctx.clock.now_ms();
    let (_, change) = store::mutate(&ctx, &input.syndicate_id, |st| {
        st.syn
            .member(&actor)?
            .role
            .require(&actor, Action::ManageMembers)?;
        st.syn.add_member(&input.member_id, role, now)?;
        Ok(Change {
            outcome: "syndicate_member_added",
            answer: json!({"member_id": input.member_id.trim(), "role": role}),
            ..Change::default()
        })
    })
    .await?;
    Ok(ToolOutput::new(
        format!("{} joined as {}", input.member_id.trim(), role.as_str()),
        change.answer,
    ))
}

/// Input of `syndicate_contribute`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ContributeInput {
    /// Syndicate id.
    syndicate_id: String,
    /// The member putting money in.
    member: String,
    /// Amount (cents at most).
    amount: Decimal,
}

async fn contribute(
    _b: Arc<SyndicateBundle>,
    input: ContributeInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    let member = acting(&ctx, "member", &input.member)?;
    let now = ctx.clock.now_ms();
    let (st, change) = store::mutate(&ctx, &input.syndicate_id, |st| {
        st.syn.member(&member)?.role.require(&member, Action::Contribute)?;
        let e = st.syn.contribute(&member, input.amount, now)?;
        let m = st.syn.member(&member)?;
        Ok(Change {
            answer: json!({"units_issued": e.units, "nav_per_unit": e.nav_per_unit.round_dp(8), "member_units": m.units, "locked_until": nt_mcp_core::dates::format_iso_ms(m.locked_until_ms), "nav": st.syn.fund.nav()}),
            entries: vec![e],
            outcome: "syndicate_contribution",
            ..Change::default()
        })
    })
    .await?;
    Ok(ToolOutput::new(
        format!(
            "{member} contributed {}: {} units at NAV/unit {}; pool NAV {}",
            input.amount,
            change.answer["units_issued"].as_str().unwrap_or(""),
            change.answer["nav_per_unit"].as_str().unwrap_or(""),
            st.syn.fund.nav()
        ),
        change.answer,
    ))
}

/// Input of `syndicate_withdraw`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct WithdrawInput {
    /// Syndicate id.
    syndicate_id: String,
    /// The member taking money out.
    member: String,
    /// Money to take out (give one of amount, units, all).
    amount: Option<Decimal>,
    /// Units to redeem.
    units: Option<Decimal>,
    /// Redeem every unit held.
    #[serde(default)]
    all: bool,
}

async fn withdraw(
    _b: Arc<SyndicateBundle>,
    input: WithdrawInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    let member = acting(&ctx, "member", &input.member)?;
    let how = match (input.amount, input.units, input.all) {
        (Some(a), None, false) => Withdrawal::Amount(a),
        (None, Some(u), false) => Withdrawal::Units(u),
        (None, None, true) => Withdrawal::All,
        _ => {
            return Err(ToolError::invalid(
                "amount",
                "give exactly one of amount, units, all=true",
            ));
        }
    };
    let now = ctx.clock.now_ms();
    let (st, change) = store::mutate(&ctx, &input.syndicate_id, |st| {
        st.syn.member(&member)?.role.require(&member, Action::Withdraw)?;
        let e = st.syn.withdraw(&member, how, now)?;
        Ok(Change {
            answer: json!({"paid": -e.amount, "units_redeemed": -e.units, "nav_per_unit": e.nav_per_unit.round_dp(8), "member_units": st.syn.member(&member)?.units}),
            entries: vec![e],
            outcome: "syndicate_withdrawal",
            ..Change::default()
        })
    })
    .await?;
    Ok(ToolOutput::new(
        format!(
            "{member} withdrew {} ({} units); pool NAV {}",
            change.answer["paid"].as_str().unwrap_or(""),
            change.answer["units_redeemed"].as_str().unwrap_or(""),
            st.syn.fund.nav()
        ),
        change.answer,
    ))
}

/// Input of `syndicate_distribute`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct DistributeInput {
    /// Syndicate id.
    syndicate_id: String,
    /// The lead acting.
    as_member: String,
    /// Amount to pay out of cash.
    amount: Decimal,
    /// proportional (default), hybrid or tiered.
    method: Option<Method>,
}

async fn distribute(
    _b: Arc<SyndicateBundle>,
    input: DistributeInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    let actor = acting(&ctx, "as_member", &input.as_member)?;
    let method = input.method.unwrap_or(Method::Proportional);
    let (st, change) = store::mutate(&ctx, &input.syndicate_id, |st| {
        st.syn
            .member(&actor)?
            .role
            .require(&actor, Action::Distribute)?;
        let entries = st.syn.distribute(input.amount, method)?;
        let paid: Vec<_> = entries
            .iter()
            .map(|e| json!({"member": e.member, "kind": e.kind, "amount": -e.amount}))
            .collect();
        Ok(Change {
            answer: json!({"method": method, "amount": input.amount, "payments": paid}),
            entries,
            outcome: "syndicate_distribution",
            ..Change::default()
        })
    })
    .await?;
    let lines: Vec<String> = change
        .entries
        .iter()
        .map(|e| {
            format!(
                "{} {}: {}",
                e.member.as_deref().unwrap_or(""),
                e.kind,
                -e.amount
            )
        })
        .collect();
    Ok(ToolOutput::new(
        format!(
            "distributed {} ({method:?}); NAV now {}\n{}",
            input.amount,
            st.syn.fund.nav(),
            lines.join("\n")
        ),
        change.answer,
    ))
}

/// Input of `syndicate_status`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct StatusInput {
    /// Syndicate id.
    syndicate_id: String,
    /// Only this member's line.
    member: Option<String>,
}

async fn status(
    _b: Arc<SyndicateBundle>,
    input: StatusInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    let st = store::load(&ctx, &input.syndicate_id).await?;
    let s = &st.syn;
    let npu = s.fund.nav_per_unit();
    let members: Vec<_> = s
        .members
        .values()
        .filter(|m| input.member.as_deref().is_none_or(|x| x == m.id))
        .map(|m| {
            let value = s.value_of(m.units);
            let profit = value + m.withdrawn + m.distributed - m.contributed;
            let mine: Vec<_> = st.bets.iter().filter(|b| b.proposer == m.id).collect();
            let settled: Vec<_> = mine.iter().filter(|b| b.pnl.is_some()).collect();
            json!({
                "member": m.id, "role": m.role, "units": m.units, "value": value,
                "contributed": m.contributed, "withdrawn": m.withdrawn, "distributed": m.distributed,
                "profit": profit,
                "return_pct": if m.contributed.is_zero() { None } else { Some((profit / m.contributed * Decimal::from(100)).round_dp(2)) },
                "locked_until": (m.locked_until_ms > 0).then(|| nt_mcp_core::dates::format_iso_ms(m.locked_until_ms)),
                "bets_proposed": mine.len(),
                "bets_won": settled.iter().filter(|b| b.status == "won").count(),
                "bets_lost": settled.iter().filter(|b| b.status == "lost").count(),
                "bets_pnl": settled.iter().filter_map(|b| b.pnl).sum::<Decimal>(),
            })
        })
        .collect();
    if let Some(m) = &input.member
        && members.is_empty()
    {
        return Err(SyndicateError::NotFound(format!(
            "`{m}` is not a member of syndicate {}",
            s.id
        ))
        .into());
    }
    let ledger = store::ledger_tail(&ctx, &s.id, 20).await?;
    let open: Vec<_> = st.bets.iter().filter(|b| b.status == "proposed").collect();
    let placed: Vec<_> = st.bets.iter().filter(|b| b.status == "placed").collect();
    let text = format!(
        "{} ({}): NAV {} = cash {} + at risk {}; {} units at {} each; {} members, {} open proposals, {} bets running",
        s.name,
        s.id,
        s.fund.nav(),
        s.fund.cash,
        s.fund.at_risk,
        s.fund.units,
        npu.round_dp(6),
        s.members.len(),
        open.len(),
        placed.len()
    );
    Ok(ToolOutput::new(
        text,
        json!({
            "syndicate": {"id": s.id, "name": s.name, "rules": s.rules},
            "fund": s.fund, "nav": s.fund.nav(), "nav_per_unit": npu.round_dp(8), "balanced": s.fund.balances(),
            "members": members, "open_proposals": open, "running_bets": placed, "ledger": ledger,
        }),
    ))
}
