//! Collectives: a syndicate-owned team. Members pool capital (their stake),
//! vote on lineups, trades and payouts with a quorum rule, and split
//! winnings by stake. Money is kept in whole cents: amounts finer than a
//! cent are refused ([`whole_cents`]) and a payout is split by largest
//! remainder ([`split_by_stake`]), so the members' shares always add up to
//! what leaves the pool. The pure rules ([`decide`], [`split_by_stake`]) are
//! the interface a syndicate bundle can share.

use nt_mcp_core::Store;
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sqlx::{Any, Row, Transaction};

use crate::db::{Actor, audit, dec_col};
use crate::error::{FantasyError, Result};
use crate::league;

mod money;
mod motions;
#[cfg(test)]
mod tests;

pub use money::{LEDGER_SCALE, split_by_stake, whole_cents};
pub use motions::{Motion, Proposal, propose, vote};

/// Where a proposal stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    /// Not decided yet.
    Open,
    /// Quorum reached and approved.
    Passed,
    /// Cannot pass any more.
    Failed,
}

impl Decision {
    /// The wire name (`open`, `passed`, `failed`).
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Open => "open",
            Decision::Passed => "passed",
            Decision::Failed => "failed",
        }
    }
}

impl Proposal {
    /// Where the proposal stands, in one sentence for a tool's text answer.
    pub fn summary(&self) -> String {
        format!(
            "Proposal {} is {}: {} of {} stake voted, {} approve.",
            self.id,
            self.status.as_str(),
            self.voted,
            self.total,
            self.approved
        )
    }
}

/// The quorum rule (shared with the betting syndicates through `nt-pool`).
/// With total stake `total`, stake that voted `voted` and stake that
/// approved `approved`: passes once `voted >= quorum × total` and
/// `approved >= approve × voted`; fails once even every missing vote
/// approving could not reach `approve` of the votes, or everyone voted
/// without it passing.
pub fn decide(
    quorum: Decimal,
    approve: Decimal,
    total: Decimal,
    voted: Decimal,
    approved: Decimal,
) -> Decision {
    let rule = nt_pool::Rule {
        quorum,
        approve,
        strict_majority: false,
    };
    let tally = nt_pool::Tally {
        total,
        voted,
        approved,
    };
    match nt_pool::decide(&rule, &tally) {
        nt_pool::Outcome::Open => Decision::Open,
        nt_pool::Outcome::Passed => Decision::Passed,
        nt_pool::Outcome::Failed => Decision::Failed,
    }
}

/// A collective as stored, with balances derived from its ledger.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Collective {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// League.
    pub league_id: String,
    /// Its team.
    pub team_id: String,
    /// Share of total stake that must vote.
    pub quorum_pct: Decimal,
    /// Share of voting stake that must approve.
    pub approve_pct: Decimal,
    /// Entry fee each member pays into the pool on joining (not stake).
    pub member_fee: Decimal,
    /// Money in the pool (sum of the pool's ledger rows).
    pub pool: Decimal,
    /// Members and their balances.
    pub members: Vec<Member>,
}

/// A member and their balances (all derived from the ledger).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Member {
    /// Member id.
    pub member: String,
    /// Capital in the pool: the member's voting weight and payout share.
    pub stake: Decimal,
    /// Winnings received.
    pub paid_out: Decimal,
    /// Cash credited to the member and not in the pool (withdrawable).
    pub credit: Decimal,
}

/// One row of a collective's money ledger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LedgerEntry {
    /// Row id.
    pub id: String,
    /// Member account, or `None` for the pool.
    pub member: Option<String>,
    /// deposit, entry_fee, capital, league_fee, winnings, payout, withdraw, opening.
    pub kind: String,
    /// Signed amount (positive: into the account).
    pub amount: Decimal,
    /// Proposal id, league id, ... the movement belongs to.
    pub reference: Option<String>,
    /// When (ms since epoch).
    pub at_ms: i64,
}

/// Balances of a collective, summed from its ledger.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Balances {
    /// The pool.
    pub pool: Decimal,
    /// Per member: (credit, stake, paid out).
    pub members: std::collections::BTreeMap<String, MemberBalance>,
}

/// One member's balances.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MemberBalance {
    /// Withdrawable cash outside the pool.
    pub credit: Decimal,
    /// Capital in the pool.
    pub stake: Decimal,
    /// Winnings received.
    pub paid_out: Decimal,
}

impl Balances {
    /// Sums ledger rows.
    ///
    /// The result does not depend on the rows' order: `rust_decimal` keeps
    /// the scale of the non-zero operand when one side is zero, so a running
    /// sum that passes through zero could print `0` or `0.00` depending on
    /// which row came first. Every total is therefore given the largest scale
    /// among the amounts that fed it.
    pub fn from_entries<'a>(
        rows: impl IntoIterator<Item = (Option<&'a str>, &'a str, Decimal)>,
    ) -> Self {
        #[derive(Default)]
        struct Scales {
            credit: u32,
            stake: u32,
            paid_out: u32,
        }
        let mut b = Balances::default();
        let mut pool_scale = 0;
        let mut scales: std::collections::BTreeMap<String, Scales> = Default::default();
        for (member, kind, amount) in rows {
            match member {
                None => {
                    b.pool += amount;
                    pool_scale = pool_scale.max(amount.scale());
                }
                Some(m) => {
                    let e = b.members.entry(m.to_string()).or_default();
                    let sc = scales.entry(m.to_string()).or_default();
                    e.credit += amount;
                    sc.credit = sc.credit.max(amount.scale());
                    match kind {
                        "capital" => {
                            e.stake -= amount;
                            sc.stake = sc.stake.max(amount.scale());
                        }
                        "payout" => {
                            e.paid_out += amount;
                            sc.paid_out = sc.paid_out.max(amount.scale());
                        }
                        _ => {}
                    }
                }
            }
        }
        b.pool.rescale(pool_scale);
        for (m, e) in b.members.iter_mut() {
            let sc = &scales[m];
            e.credit.rescale(sc.credit);
            e.stake.rescale(sc.stake);
            e.paid_out.rescale(sc.paid_out);
        }
        b
    }

    /// A member's balances (zero when they have no rows).
    pub fn member(&self, member: &str) -> MemberBalance {
        self.members.get(member).copied().unwrap_or_default()
    }
}

async fn ledger_rows(
    conn: &mut sqlx::AnyConnection,
    collective_id: &str,
) -> Result<Vec<LedgerEntry>> {
    sqlx::query("SELECT id, member, kind, amount, reference, at_ms FROM fantasy_collective_ledger WHERE collective_id = $1 ORDER BY at_ms, id")
        .bind(collective_id)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| {
            Ok(LedgerEntry {
                id: r.try_get("id")?,
                member: r.try_get("member")?,
                kind: r.try_get("kind")?,
                amount: dec_col(r, "amount")?,
                reference: r.try_get("reference")?,
                at_ms: r.try_get("at_ms")?,
            })
        })
        .collect()
}

async fn balances_in(conn: &mut sqlx::AnyConnection, collective_id: &str) -> Result<Balances> {
    let rows = ledger_rows(conn, collective_id).await?;
    Ok(Balances::from_entries(
        rows.iter()
            .map(|e| (e.member.as_deref(), e.kind.as_str(), e.amount)),
    ))
}

/// The ledger of a collective, oldest first.
pub async fn ledger(store: &Store, collective_id: &str) -> Result<Vec<LedgerEntry>> {
    let mut conn = store.pool().acquire().await?;
    ledger_rows(&mut conn, collective_id).await
}

/// Balances of a collective, summed from its ledger.
pub async fn balances(store: &Store, collective_id: &str) -> Result<Balances> {
    collective(store, collective_id).await?;
    let mut conn = store.pool().acquire().await?;
    balances_in(&mut conn, collective_id).await
}

/// Serialises money movements of one collective: a no-op update of its row
/// takes the row lock on PostgreSQL (the write lock on SQLite) until `tx`
/// ends, so balance checks and the rows they allow cannot interleave.
async fn lock_money(tx: &mut Transaction<'_, Any>, collective_id: &str) -> Result<()> {
    sqlx::query("UPDATE fantasy_collectives SET pool = pool WHERE id = $1")
        .bind(collective_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Appends one ledger row and its audit row in `tx`.
#[allow(clippy::too_many_arguments)]
async fn post(
    tx: &mut Transaction<'_, Any>,
    actor: &Actor,
    collective_id: &str,
    member: Option<&str>,
    kind: &str,
    amount: Decimal,
    reference: Option<&str>,
    now: i64,
) -> Result<()> {
    let id = uuid::Uuid::now_v7().to_string();
    sqlx::query(
        "INSERT INTO fantasy_collective_ledger (id, collective_id, member, kind, amount, reference, at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(id.as_str())
    .bind(collective_id)
    .bind(member.map(str::to_string))
    .bind(kind)
    .bind(amount.to_string())
    .bind(reference.map(str::to_string))
    .bind(now)
    .execute(&mut **tx)
    .await?;
    audit(tx, actor, "ok", &serde_json::json!({"event": "collective_ledger", "collective_id": collective_id, "ledger_id": id, "account": member.unwrap_or("pool"), "kind": kind, "amount": amount, "reference": reference})).await?;
    Ok(())
}

/// Moves `amount` between a member's credit and the pool (positive: into
/// the pool), as a pair of ledger rows of `kind`.
#[allow(clippy::too_many_arguments)]
async fn transfer(
    tx: &mut Transaction<'_, Any>,
    actor: &Actor,
    collective_id: &str,
    member: &str,
    kind: &str,
    amount: Decimal,
    reference: Option<&str>,
    now: i64,
) -> Result<()> {
    if amount.is_zero() {
        return Ok(());
    }
    post(
        tx,
        actor,
        collective_id,
        Some(member),
        kind,
        -amount,
        reference,
        now,
    )
    .await?;
    post(tx, actor, collective_id, None, kind, amount, reference, now).await
}

/// Loads a collective with its members and ledger balances.
pub async fn collective(store: &Store, id: &str) -> Result<Collective> {
    let row = sqlx::query("SELECT * FROM fantasy_collectives WHERE id = $1")
        .bind(id)
        .fetch_optional(store.pool())
        .await?
        .ok_or_else(|| FantasyError::NotFound(format!("no collective `{id}`")))?;
    let names: Vec<String> = sqlx::query(
        "SELECT member FROM fantasy_collective_members WHERE collective_id = $1 ORDER BY member",
    )
    .bind(id)
    .fetch_all(store.pool())
    .await?
    .iter()
    .map(|r| r.try_get("member"))
    .collect::<std::result::Result<_, _>>()?;
    let b = {
        let mut conn = store.pool().acquire().await?;
        balances_in(&mut conn, id).await?
    };
    let members = names
        .into_iter()
        .map(|m| {
            let mb = b.member(&m);
            Member {
                member: m,
                stake: mb.stake,
                paid_out: mb.paid_out,
                credit: mb.credit,
            }
        })
        .collect();
    Ok(Collective {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        league_id: row.try_get("league_id")?,
        team_id: row.try_get("team_id")?,
        quorum_pct: dec_col(&row, "quorum_pct")?,
        approve_pct: dec_col(&row, "approve_pct")?,
        member_fee: dec_col(&row, "member_fee")?,
        pool: b.pool,
        members,
    })
}

/// Where the money a member puts in comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "lowercase")]
pub enum Funding {
    /// New cash brought with the call (recorded as a deposit first).
    #[default]
    Cash,
    /// The member's credit in the collective (earlier deposits, payouts).
    Credit,
}

/// Pays `amount` from `member` into the pool: the member entry fee first
/// when `fee` is set, the rest as stake. Refused (field `stake`) when the
/// funds do not cover it.
#[allow(clippy::too_many_arguments)]
async fn pay_in(
    tx: &mut Transaction<'_, Any>,
    actor: &Actor,
    collective_id: &str,
    member: &str,
    amount: Decimal,
    fee: Decimal,
    funding: Funding,
    now: i64,
) -> Result<()> {
    if amount <= fee {
        return Err(FantasyError::invalid(
            "stake",
            format!(
                "{amount} does not cover the member entry fee {fee} and leave a stake (the rest after the fee is your voting stake)"
            ),
        ));
    }
    match funding {
        Funding::Cash => {
            post(
                tx,
                actor,
                collective_id,
                Some(member),
                "deposit",
                amount,
                None,
                now,
            )
            .await?;
        }
        Funding::Credit => {
            let credit = balances_in(tx, collective_id).await?.member(member).credit;
            if credit < amount {
                return Err(FantasyError::invalid(
                    "stake",
                    format!(
                        "{amount} is more than your credit {credit} in the collective; deposit first or pay with funding `cash`"
                    ),
                ));
            }
        }
    }
    transfer(
        tx,
        actor,
        collective_id,
        member,
        "entry_fee",
        fee,
        None,
        now,
    )
    .await?;
    transfer(
        tx,
        actor,
        collective_id,
        member,
        "capital",
        amount - fee,
        None,
        now,
    )
    .await
}

/// Creates a collective and its team in `league_id` (roster drafted as for
/// any team); the founder is the first member, paying `stake` (less the
/// `member_fee` each member pays) into the pool, and the league's entry fee
/// is paid from the pool. Refused (field `stake`) when the pool could not
/// pay the league's entry fee.
#[allow(clippy::too_many_arguments)]
pub async fn create(
    store: &Store,
    actor: &Actor,
    league_id: &str,
    name: &str,
    founder: &str,
    stake: Decimal,
    member_fee: Decimal,
    quorum_pct: Decimal,
    approve_pct: Decimal,
    now: i64,
) -> Result<Collective> {
    for (field, v) in [("quorum_pct", quorum_pct), ("approve_pct", approve_pct)] {
        if v <= Decimal::ZERO || v > Decimal::ONE {
            return Err(FantasyError::invalid(field, "must be in (0, 1]"));
        }
    }
    if stake <= Decimal::ZERO {
        return Err(FantasyError::invalid("stake", "must be positive"));
    }
    whole_cents("stake", stake)?;
    if member_fee < Decimal::ZERO {
        return Err(FantasyError::invalid("member_fee", "must not be negative"));
    }
    whole_cents("member_fee", member_fee)?;
    if stake <= member_fee {
        return Err(FantasyError::invalid(
            "stake",
            format!("{stake} does not cover the member entry fee {member_fee} and leave a stake"),
        ));
    }
    let lg = league::league(store, league_id).await?;
    if stake < lg.entry_fee {
        return Err(FantasyError::invalid(
            "stake",
            format!(
                "the pool ({stake}) cannot pay the league entry fee {}",
                lg.entry_fee
            ),
        ));
    }
    let id = uuid::Uuid::now_v7().to_string();
    let (team, _) = league::join_league(
        store,
        actor,
        league_id,
        name,
        &format!("collective:{id}"),
        None,
        Some(&id),
        now,
    )
    .await?;
    let mut tx = store.pool().begin().await?;
    sqlx::query(
        "INSERT INTO fantasy_collectives (id, name, league_id, team_id, quorum_pct, approve_pct, pool, created_ms, member_fee) VALUES ($1, $2, $3, $4, $5, $6, '0', $7, $8)",
    )
    .bind(id.as_str())
    .bind(name)
    .bind(league_id)
    .bind(team.id.as_str())
    .bind(quorum_pct.to_string())
    .bind(approve_pct.to_string())
    .bind(now)
    .bind(member_fee.to_string())
    .execute(&mut *tx)
    .await?;
    sqlx::query("INSERT INTO fantasy_collective_members (collective_id, member, stake, paid_out, joined_ms) VALUES ($1, $2, '0', '0', $3)")
        .bind(id.as_str())
        .bind(founder)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    pay_in(
        &mut tx,
        actor,
        &id,
        founder,
        stake,
        member_fee,
        Funding::Cash,
        now,
    )
    .await?;
    if lg.entry_fee > Decimal::ZERO {
        post(
            &mut tx,
            actor,
            &id,
            None,
            "league_fee",
            -lg.entry_fee,
            Some(league_id),
            now,
        )
        .await?;
    }
    audit(&mut tx, actor, "ok", &serde_json::json!({"event": "collective_created", "collective_id": id, "team_id": team.id, "member": founder, "stake": stake, "member_fee": member_fee, "league_fee": lg.entry_fee})).await?;
    tx.commit().await?;
    collective(store, &id).await
}

/// Adds capital: a new member joins (paying the member entry fee from
/// `amount`, the rest becoming their stake) or a member adds to the stake.
/// With [`Funding::Credit`] the money comes from the member's credit and is
/// refused (field `stake`) when the credit is short. Audited.
pub async fn contribute(
    store: &Store,
    actor: &Actor,
    id: &str,
    member: &str,
    amount: Decimal,
    funding: Funding,
    now: i64,
) -> Result<Collective> {
    if amount <= Decimal::ZERO {
        return Err(FantasyError::invalid("stake", "must be positive"));
    }
    whole_cents("stake", amount)?;
    let c = collective(store, id).await?;
    let is_member = c.members.iter().any(|m| m.member == member);
    let mut tx = store.pool().begin().await?;
    lock_money(&mut tx, id).await?;
    let fee = if is_member {
        Decimal::ZERO
    } else {
        sqlx::query("INSERT INTO fantasy_collective_members (collective_id, member, stake, paid_out, joined_ms) VALUES ($1, $2, '0', '0', $3)")
            .bind(id)
            .bind(member)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        c.member_fee
    };
    pay_in(&mut tx, actor, id, member, amount, fee, funding, now).await?;
    audit(&mut tx, actor, "ok", &serde_json::json!({"event": "collective_capital", "collective_id": id, "member": member, "amount": amount, "entry_fee": fee, "funding": funding})).await?;
    tx.commit().await?;
    collective(store, id).await
}

/// Credits `amount` of cash to `member`'s account in the collective (not the
/// pool): it can later fund a stake or be withdrawn. Audited.
pub async fn deposit(
    store: &Store,
    actor: &Actor,
    id: &str,
    member: &str,
    amount: Decimal,
    now: i64,
) -> Result<Balances> {
    if amount <= Decimal::ZERO {
        return Err(FantasyError::invalid("amount", "must be positive"));
    }
    whole_cents("amount", amount)?;
    collective(store, id).await?;
    let mut tx = store.pool().begin().await?;
    lock_money(&mut tx, id).await?;
    post(
        &mut tx,
        actor,
        id,
        Some(member),
        "deposit",
        amount,
        None,
        now,
    )
    .await?;
    let b = balances_in(&mut tx, id).await?;
    tx.commit().await?;
    Ok(b)
}

/// Credits league winnings to the pool (shared out later by a payout
/// motion). Audited.
pub async fn credit_winnings(
    store: &Store,
    actor: &Actor,
    id: &str,
    amount: Decimal,
    reference: Option<&str>,
    now: i64,
) -> Result<Balances> {
    if amount <= Decimal::ZERO {
        return Err(FantasyError::invalid("amount", "must be positive"));
    }
    whole_cents("amount", amount)?;
    collective(store, id).await?;
    let mut tx = store.pool().begin().await?;
    lock_money(&mut tx, id).await?;
    post(&mut tx, actor, id, None, "winnings", amount, reference, now).await?;
    let b = balances_in(&mut tx, id).await?;
    tx.commit().await?;
    Ok(b)
}

/// What a withdrawal took.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Withdrawal {
    /// Amount paid out to the member.
    pub amount: Decimal,
    /// Part taken from the member's credit.
    pub from_credit: Decimal,
    /// Part taken from the member's stake (out of the pool).
    pub from_stake: Decimal,
    /// Balances afterwards.
    pub balances: Balances,
}

/// Withdraws `amount` of a member's available balance: their credit first,
/// then their stake out of the pool. Refused while a payout motion is open,
/// when `amount` is more than credit + stake, or when taking stake would
/// leave the pool below the league's minimum (one league entry fee kept in
/// reserve). Audited.
pub async fn withdraw(
    store: &Store,
    actor: &Actor,
    id: &str,
    member: &str,
    amount: Decimal,
    now: i64,
) -> Result<Withdrawal> {
    if amount <= Decimal::ZERO {
        return Err(FantasyError::invalid("amount", "must be positive"));
    }
    whole_cents("amount", amount)?;
    let c = collective(store, id).await?;
    let lg = league::league(store, &c.league_id).await?;
    let mut tx = store.pool().begin().await?;
    lock_money(&mut tx, id).await?;
    let open: Option<String> = sqlx::query(
        "SELECT id FROM fantasy_collective_proposals WHERE collective_id = $1 AND kind = 'payout' AND status = 'open' ORDER BY created_ms LIMIT 1",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?
    .map(|r| r.try_get("id"))
    .transpose()?;
    if let Some(pid) = open {
        return Err(FantasyError::Refused(format!(
            "payout motion {pid} is open in {}; withdraw once it is decided",
            c.name
        )));
    }
    let b = balances_in(&mut tx, id).await?;
    let mb = b.member(member);
    let available = mb.credit + mb.stake;
    if amount > available {
        return Err(FantasyError::invalid(
            "amount",
            format!(
                "{amount} is more than your available balance {available} (credit {}, stake {})",
                mb.credit, mb.stake
            ),
        ));
    }
    let from_credit = amount.min(mb.credit.max(Decimal::ZERO));
    let from_stake = amount - from_credit;
    if from_stake > Decimal::ZERO && b.pool - from_stake < lg.entry_fee {
        return Err(FantasyError::invalid(
            "amount",
            format!(
                "taking {from_stake} of stake would leave the pool at {}, below the league's minimum {} (one entry fee kept in reserve)",
                b.pool - from_stake,
                lg.entry_fee
            ),
        ));
    }
    if from_stake > Decimal::ZERO {
        transfer(
            &mut tx,
            actor,
            id,
            member,
            "capital",
            -from_stake,
            None,
            now,
        )
        .await?;
    }
    post(
        &mut tx,
        actor,
        id,
        Some(member),
        "withdraw",
        -amount,
        None,
        now,
    )
    .await?;
    let balances = balances_in(&mut tx, id).await?;
    tx.commit().await?;
    Ok(Withdrawal {
        amount,
        from_credit,
        from_stake,
        balances,
    })
}
