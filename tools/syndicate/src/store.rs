//! Syndicates in the database: load one with its bets and votes, change it
//! in memory with the ledger operations, and write the change back in one
//! transaction with its ledger rows and audit row. The syndicate row's
//! `version` makes two concurrent changes to one syndicate safe: the second
//! reloads and runs again.

use std::collections::BTreeMap;

use nt_mcp_core::{Migration, ToolCtx};
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::Value;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::error::{Result, SyndicateError};
use crate::ledger::{Entry, Fund, Member, Rules, Syndicate};
use crate::roles::Role;

/// The bundle's migrations (after the core ones).
pub fn migrations() -> Vec<Migration> {
    vec![Migration::portable(
        "syndicate/0001_syndicates",
        include_str!("../../../migrations/syndicate/0001_syndicates.sql"),
    )]
}

/// A proposed or placed bet.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BetRow {
    /// Id.
    pub id: String,
    /// Who proposed it.
    pub proposer: String,
    /// What it is (event, market).
    pub description: String,
    /// The selection backed.
    pub selection: String,
    /// Decimal odds.
    pub odds: Decimal,
    /// Stake.
    pub stake: Decimal,
    /// The proposer's probability, when given.
    pub probability: Option<Decimal>,
    /// `proposed`, `rejected`, `placed`, `won`, `lost`, `void`.
    pub status: String,
    /// Units voting yes.
    pub yes_units: Decimal,
    /// Units voting no.
    pub no_units: Decimal,
    /// Profit once settled.
    pub pnl: Option<Decimal>,
    /// Proposed at (ms).
    pub created_ms: i64,
    /// Decided (placed or rejected) at (ms).
    pub decided_ms: Option<i64>,
    /// Settled at (ms).
    pub settled_ms: Option<i64>,
}

/// One vote.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VoteRow {
    /// The bet voted on.
    pub bet_id: String,
    /// The voter.
    pub member_id: String,
    /// Yes or no.
    pub approve: bool,
    /// Units the vote carried.
    pub units: Decimal,
    /// When (ms).
    pub at_ms: i64,
}

/// A syndicate as loaded, with its bets and votes.
#[derive(Debug, Clone)]
pub struct State {
    /// The syndicate.
    pub syn: Syndicate,
    /// Its row version.
    pub version: i64,
    /// Its bets, oldest first.
    pub bets: Vec<BetRow>,
    /// Its votes.
    pub votes: Vec<VoteRow>,
}

/// What one change writes besides the syndicate itself.
#[derive(Debug, Default)]
pub struct Change {
    /// Ledger rows.
    pub entries: Vec<Entry>,
    /// Bets added or changed.
    pub bets: Vec<BetRow>,
    /// Votes added.
    pub votes: Vec<VoteRow>,
    /// Reference for the ledger rows (a bet id).
    pub reference: Option<String>,
    /// The audit row's outcome (`syndicate_contribution`).
    pub outcome: &'static str,
    /// The answer (and audit detail).
    pub answer: Value,
}

fn dec(row: &AnyRow, col: &str) -> Result<Decimal> {
    let t: String = row.try_get(col)?;
    t.parse()
        .map_err(|e| SyndicateError::Corrupt(format!("{col} `{t}`: {e}")))
}

fn opt_dec(row: &AnyRow, col: &str) -> Result<Option<Decimal>> {
    let t: Option<String> = row.try_get(col)?;
    t.map(|t| {
        t.parse()
            .map_err(|e| SyndicateError::Corrupt(format!("{col} `{t}`: {e}")))
    })
    .transpose()
}

/// Loads syndicate `id`.
pub async fn load(ctx: &ToolCtx, id: &str) -> Result<State> {
    let pool = ctx.store.pool();
    let row = sqlx::query("SELECT id, name, rules, cash, at_risk, units, contributed, withdrawn, distributed, realized_pnl, version FROM syndicates WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| SyndicateError::NotFound(format!("no syndicate `{id}`")))?;
    let rules_text: String = row.try_get("rules")?;
    let rules: Rules = serde_json::from_str(&rules_text)
        .map_err(|e| SyndicateError::Corrupt(format!("rules: {e}")))?;
    let fund = Fund {
        cash: dec(&row, "cash")?,
        at_risk: dec(&row, "at_risk")?,
        units: dec(&row, "units")?,
        contributed: dec(&row, "contributed")?,
        withdrawn: dec(&row, "withdrawn")?,
        distributed: dec(&row, "distributed")?,
        realized_pnl: dec(&row, "realized_pnl")?,
    };
    let mut members = BTreeMap::new();
    for r in sqlx::query("SELECT member_id, role, units, contributed, withdrawn, distributed, locked_until_ms, joined_ms FROM syndicate_members WHERE syndicate_id = $1 ORDER BY member_id")
        .bind(id)
        .fetch_all(pool)
        .await?
    {
        let role: String = r.try_get("role")?;
        let m = Member {
            id: r.try_get("member_id")?,
            role: Role::parse(&role).ok_or_else(|| SyndicateError::Corrupt(format!("role `{role}`")))?,
            units: dec(&r, "units")?,
            contributed: dec(&r, "contributed")?,
            withdrawn: dec(&r, "withdrawn")?,
            distributed: dec(&r, "distributed")?,
            locked_until_ms: r.try_get("locked_until_ms")?,
            joined_ms: r.try_get("joined_ms")?,
        };
        members.insert(m.id.clone(), m);
    }
    let mut bets = Vec::new();
    for r in sqlx::query("SELECT id, proposer, description, selection, odds, stake, probability, status, yes_units, no_units, pnl, created_ms, decided_ms, settled_ms FROM syndicate_bets WHERE syndicate_id = $1 ORDER BY created_ms, id")
        .bind(id)
        .fetch_all(pool)
        .await?
    {
        bets.push(BetRow {
            id: r.try_get("id")?,
            proposer: r.try_get("proposer")?,
            description: r.try_get("description")?,
            selection: r.try_get("selection")?,
            odds: dec(&r, "odds")?,
            stake: dec(&r, "stake")?,
            probability: opt_dec(&r, "probability")?,
            status: r.try_get("status")?,
            yes_units: dec(&r, "yes_units")?,
            no_units: dec(&r, "no_units")?,
            pnl: opt_dec(&r, "pnl")?,
            created_ms: r.try_get("created_ms")?,
            decided_ms: r.try_get("decided_ms")?,
            settled_ms: r.try_get("settled_ms")?,
        });
    }
    let mut votes = Vec::new();
    for r in sqlx::query("SELECT v.bet_id, v.member_id, v.approve, v.units, v.at_ms FROM syndicate_votes v JOIN syndicate_bets b ON b.id = v.bet_id WHERE b.syndicate_id = $1 ORDER BY v.at_ms")
        .bind(id)
        .fetch_all(pool)
        .await?
    {
        let approve: i64 = r.try_get("approve")?;
        votes.push(VoteRow { bet_id: r.try_get("bet_id")?, member_id: r.try_get("member_id")?, approve: approve == 1, units: dec(&r, "units")?, at_ms: r.try_get("at_ms")? });
    }
    Ok(State {
        syn: Syndicate {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            rules,
            fund,
            members,
        },
        version: row.try_get("version")?,
        bets,
        votes,
    })
}

/// Creates a syndicate (its first members and ledger rows in `change`).
pub async fn create(
    ctx: &ToolCtx,
    syn: &Syndicate,
    created_by: &str,
    change: &Change,
) -> Result<()> {
    let mut tx = ctx.store.pool().begin().await?;
    sqlx::query(
        "INSERT INTO syndicates (id, name, rules, cash, at_risk, units, contributed, withdrawn, distributed, realized_pnl, version, created_by, created_ms) \
         VALUES ($1, $2, $3, '0', '0', '0', '0', '0', '0', '0', 0, $4, $5)",
    )
    .bind(&syn.id)
    .bind(&syn.name)
    .bind(serde_json::to_string(&syn.rules).unwrap_or_default())
    .bind(created_by)
    .bind(ctx.clock.now_ms())
    .execute(&mut *tx)
    .await?;
    write(&mut tx, ctx, syn, 0, change).await?;
    tx.commit().await?;
    Ok(())
}

async fn write(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    ctx: &ToolCtx,
    syn: &Syndicate,
    version: i64,
    change: &Change,
) -> Result<()> {
    let f = &syn.fund;
    let done = sqlx::query(
        "UPDATE syndicates SET cash = $1, at_risk = $2, units = $3, contributed = $4, withdrawn = $5, distributed = $6, realized_pnl = $7, version = version + 1 \
         WHERE id = $8 AND version = $9",
    )
    .bind(f.cash.to_string())
    .bind(f.at_risk.to_string())
    .bind(f.units.to_string())
    .bind(f.contributed.to_string())
    .bind(f.withdrawn.to_string())
    .bind(f.distributed.to_string())
    .bind(f.realized_pnl.to_string())
    .bind(&syn.id)
    .bind(version)
    .execute(&mut **tx)
    .await?;
    if done.rows_affected() != 1 {
        return Err(SyndicateError::Conflict);
    }
    for m in syn.members.values() {
        sqlx::query(
            "INSERT INTO syndicate_members (syndicate_id, member_id, role, units, contributed, withdrawn, distributed, locked_until_ms, joined_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (syndicate_id, member_id) DO UPDATE SET role = excluded.role, units = excluded.units, contributed = excluded.contributed, \
             withdrawn = excluded.withdrawn, distributed = excluded.distributed, locked_until_ms = excluded.locked_until_ms",
        )
        .bind(&syn.id)
        .bind(&m.id)
        .bind(m.role.as_str())
        .bind(m.units.to_string())
        .bind(m.contributed.to_string())
        .bind(m.withdrawn.to_string())
        .bind(m.distributed.to_string())
        .bind(m.locked_until_ms)
        .bind(m.joined_ms)
        .execute(&mut **tx)
        .await?;
    }
    let now = ctx.clock.now_ms();
    for (i, e) in change.entries.iter().enumerate() {
        sqlx::query(
            "INSERT INTO syndicate_ledger (id, syndicate_id, seq, member_id, kind, amount, units, nav_per_unit, reference, at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(&syn.id)
        .bind((version + 1) * 1000 + i as i64)
        .bind(&e.member)
        .bind(e.kind)
        .bind(e.amount.to_string())
        .bind(e.units.to_string())
        .bind(e.nav_per_unit.round_dp(10).to_string())
        .bind(&change.reference)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    }
    for b in &change.bets {
        sqlx::query(
            "INSERT INTO syndicate_bets (id, syndicate_id, proposer, description, selection, odds, stake, probability, status, yes_units, no_units, pnl, created_ms, decided_ms, settled_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) \
             ON CONFLICT (id) DO UPDATE SET status = excluded.status, yes_units = excluded.yes_units, no_units = excluded.no_units, pnl = excluded.pnl, \
             decided_ms = excluded.decided_ms, settled_ms = excluded.settled_ms",
        )
        .bind(&b.id)
        .bind(&syn.id)
        .bind(&b.proposer)
        .bind(&b.description)
        .bind(&b.selection)
        .bind(b.odds.to_string())
        .bind(b.stake.to_string())
        .bind(b.probability.map(|p| p.to_string()))
        .bind(&b.status)
        .bind(b.yes_units.to_string())
        .bind(b.no_units.to_string())
        .bind(b.pnl.map(|p| p.to_string()))
        .bind(b.created_ms)
        .bind(b.decided_ms)
        .bind(b.settled_ms)
        .execute(&mut **tx)
        .await?;
    }
    for v in &change.votes {
        sqlx::query("INSERT INTO syndicate_votes (bet_id, member_id, approve, units, at_ms) VALUES ($1, $2, $3, $4, $5)")
            .bind(&v.bet_id)
            .bind(&v.member_id)
            .bind(i64::from(v.approve))
            .bind(v.units.to_string())
            .bind(v.at_ms)
            .execute(&mut **tx)
            .await?;
    }
    ctx.audit(&mut **tx, change.outcome, &serde_json::json!({"syndicate_id": syn.id, "entries": change.entries, "result": change.answer})).await?;
    Ok(())
}

/// One ledger row as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LedgerRow {
    /// Order within the syndicate.
    pub seq: i64,
    /// Member concerned (none: the pool).
    pub member: Option<String>,
    /// Kind of movement.
    pub kind: String,
    /// Money, + into the pool.
    pub amount: Decimal,
    /// Units issued (+) or redeemed (−).
    pub units: Decimal,
    /// NAV per unit then.
    pub nav_per_unit: Decimal,
    /// Bet id, when about a bet.
    pub reference: Option<String>,
    /// When (ms).
    pub at_ms: i64,
}

/// The latest `limit` ledger rows of syndicate `id`, newest first.
pub async fn ledger_tail(ctx: &ToolCtx, id: &str, limit: i64) -> Result<Vec<LedgerRow>> {
    let rows = sqlx::query(
        "SELECT seq, member_id, kind, amount, units, nav_per_unit, reference, at_ms FROM syndicate_ledger WHERE syndicate_id = $1 ORDER BY seq DESC LIMIT $2",
    )
    .bind(id)
    .bind(limit)
    .fetch_all(ctx.store.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(LedgerRow {
                seq: r.try_get("seq")?,
                member: r.try_get("member_id")?,
                kind: r.try_get("kind")?,
                amount: dec(r, "amount")?,
                units: dec(r, "units")?,
                nav_per_unit: dec(r, "nav_per_unit")?,
                reference: r.try_get("reference")?,
                at_ms: r.try_get("at_ms")?,
            })
        })
        .collect()
}

/// Loads syndicate `id`, lets `f` change it, and writes the change; on a
/// concurrent change it reloads and runs `f` again (up to 20 times, after
/// a short jittered pause).
pub async fn mutate(
    ctx: &ToolCtx,
    id: &str,
    mut f: impl FnMut(&mut State) -> Result<Change>,
) -> Result<(State, Change)> {
    for attempt in 0..20u64 {
        if attempt > 0 {
            let jitter = u64::from(uuid::Uuid::new_v4().as_bytes()[0] % 8);
            tokio::time::sleep(std::time::Duration::from_millis(attempt.min(10) + jitter)).await;
        }
        let mut st = load(ctx, id).await?;
        let change = f(&mut st)?;
        let mut tx = ctx.store.pool().begin().await?;
        match write(&mut tx, ctx, &st.syn, st.version, &change).await {
            Ok(()) => {
                tx.commit().await?;
                return Ok((st, change));
            }
            Err(SyndicateError::Conflict) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(SyndicateError::Conflict)
}
