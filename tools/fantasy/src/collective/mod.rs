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

use crate::db::{Actor, audit, dec_col, json_col, to_json};
use crate::error::{FantasyError, Result};
use crate::league;
use crate::trade;

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

/// The quorum rule. With total stake `total`, stake that voted `voted` and
/// stake that approved `approved`: passes once `voted >= quorum × total` and
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
    if total <= Decimal::ZERO {
        return Decision::Open;
    }
    if voted >= quorum * total && approved >= approve * voted {
        return Decision::Passed;
    }
    let missing = total - voted;
    let best_case_approved = approved + missing;
    if best_case_approved < approve * total || missing <= Decimal::ZERO {
        return Decision::Failed;
    }
    Decision::Open
}

/// Decimal places the collective ledger keeps: amounts are whole cents.
pub const LEDGER_SCALE: u32 = 2;

/// Refuses (naming `field`) an amount finer than the ledger keeps: every
/// money movement of a collective is whole cents, so a payout always splits
/// into whole-cent shares that add up to what leaves the pool. Trailing
/// zeros are fine (`10.500`).
pub fn whole_cents(field: &str, amount: Decimal) -> Result<()> {
    if amount.normalize().scale() > LEDGER_SCALE {
        return Err(FantasyError::invalid(
            field,
            format!(
                "{amount} is finer than a cent; collective money is kept in whole cents (at most {LEDGER_SCALE} decimal places)"
            ),
        ));
    }
    Ok(())
}

/// `value` as a whole number of `10^-scale` units (negative `scale`:
/// `10^|scale|` units), rounded half up; None when it does not fit.
fn units_at(value: Decimal, scale: i64) -> Option<i128> {
    let m = value.mantissa();
    let shift = scale - i64::from(value.scale());
    if shift >= 0 {
        m.checked_mul(10i128.checked_pow(u32::try_from(shift).ok()?)?)
    } else {
        let div = u32::try_from(-shift)
            .ok()
            .and_then(|e| 10i128.checked_pow(e));
        Some(match div {
            Some(div) => (m + div / 2).div_euclid(div),
            None => 0,
        })
    }
}

/// Splits `amount` by stake with the largest-remainder method, so that the
/// parts add up to `amount` exactly.
///
/// The unit is the cent, or the amount's own precision when it is finer
/// (the ledger refuses such amounts, see [`whole_cents`]; the split stays
/// exact for any amount). Each member first gets their pro-rata share
/// rounded down to the unit; the units left (fewer than the number of
/// members) go one each to the largest remainders, ties to the larger
/// stake, then to the member name. Shares are computed in integers, so
/// every part is within one unit of the exact share. A member whose stake
/// is zero (or negative) gets nothing; with no stake at all every part is
/// zero and the caller must not pay (a payout motion refuses it).
pub fn split_by_stake(amount: Decimal, stakes: &[(String, Decimal)]) -> Vec<(String, Decimal)> {
    let scale = amount.normalize().scale().max(LEDGER_SCALE);
    let zero = Decimal::new(0, scale);
    let none =
        || -> Vec<(String, Decimal)> { stakes.iter().map(|(m, _)| (m.clone(), zero)).collect() };
    // Decimal's largest mantissa (2^96 - 1): parts beyond it cannot be written.
    const MAX_UNITS: i128 = (1i128 << 96) - 1;
    let Some(units) = units_at(amount, i64::from(scale)).filter(|u| *u > 0 && *u <= MAX_UNITS)
    else {
        return none();
    };
    let positive = |s: &Decimal| *s > Decimal::ZERO;
    // Stakes as integers on one scale; a coarser scale when the products
    // would not fit (only for absurd magnitudes: it changes weights by far
    // less than a unit of the amount).
    let mut weight_scale = stakes
        .iter()
        .filter(|(_, s)| positive(s))
        .map(|(_, s)| i64::from(s.normalize().scale()))
        .max()
        .unwrap_or(0);
    let (weights, total) = loop {
        let weights: Option<Vec<i128>> = stakes
            .iter()
            .map(|(_, s)| {
                if positive(s) {
                    units_at(*s, weight_scale)
                } else {
                    Some(0)
                }
            })
            .collect();
        let fits = weights.as_ref().and_then(|w| {
            let total = w.iter().try_fold(0i128, |acc, x| acc.checked_add(*x))?;
            units.checked_mul(total)?;
            Some(total)
        });
        match (weights, fits) {
            (Some(w), Some(total)) => break (w, total),
            _ if weight_scale < -40 => return none(),
            _ => weight_scale -= 1,
        }
    };
    if total <= 0 {
        return none();
    }
    let mut floors: Vec<i128> = weights.iter().map(|w| units * w / total).collect();
    let rems: Vec<i128> = weights.iter().map(|w| units * w % total).collect();
    let left = units - floors.iter().sum::<i128>();
    let mut order: Vec<usize> = (0..stakes.len()).filter(|&i| weights[i] > 0).collect();
    order.sort_by(|&a, &b| {
        rems[b]
            .cmp(&rems[a])
            .then(stakes[b].1.cmp(&stakes[a].1))
            .then(stakes[a].0.cmp(&stakes[b].0))
    });
    for &i in order.iter().take(usize::try_from(left).unwrap_or(0)) {
        floors[i] += 1;
    }
    stakes
        .iter()
        .zip(floors)
        .map(|((m, _), f)| (m.clone(), Decimal::from_i128_with_scale(f, scale)))
        .collect()
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

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn decision_names_match_the_wire() {
        for d in [Decision::Open, Decision::Passed, Decision::Failed] {
            assert_eq!(serde_json::to_value(d).expect("json"), d.as_str());
        }
    }

    #[test]
    fn quorum_rule() {
        // 60% quorum, simple majority of votes.
        assert_eq!(
            decide(dec!(0.6), dec!(0.5), dec!(100), dec!(50), dec!(50)),
            Decision::Open
        );
        assert_eq!(
            decide(dec!(0.6), dec!(0.5), dec!(100), dec!(60), dec!(30)),
            Decision::Passed
        );
        assert_eq!(
            decide(dec!(0.6), dec!(0.5), dec!(100), dec!(70), dec!(20)),
            Decision::Open
        );
        // 80 voted, 10 approved: even the 20 missing cannot reach half of 100.
        assert_eq!(
            decide(dec!(0.6), dec!(0.5), dec!(100), dec!(80), dec!(10)),
            Decision::Failed
        );
        assert_eq!(
            decide(dec!(0.6), dec!(0.7), dec!(100), dec!(100), dec!(65)),
            Decision::Failed
        );
    }

    #[test]
    fn split_adds_up_to_the_cent() {
        let stakes = vec![
            ("a".to_string(), dec!(100)),
            ("b".to_string(), dec!(100)),
            ("c".to_string(), dec!(100)),
        ];
        let parts = split_by_stake(dec!(100), &stakes);
        assert_eq!(parts.iter().map(|p| p.1).sum::<Decimal>(), dec!(100));
        assert_eq!(parts[0].1, dec!(33.34));
        assert_eq!(parts[1].1, dec!(33.33));
        let stakes = vec![("a".to_string(), dec!(750)), ("b".to_string(), dec!(250))];
        let parts = split_by_stake(dec!(1000), &stakes);
        assert_eq!(
            parts,
            vec![("a".to_string(), dec!(750)), ("b".to_string(), dec!(250))]
        );
    }

    /// Stakes 500 / 300 / 200, payout 333.33: exact shares 166.665 /
    /// 99.999 / 66.666 round down to 166.66 / 99.99 / 66.66 (333.31); the
    /// two cents left go to the largest remainders (.009 ben, .006 cat), not
    /// to the largest stakes: 166.66 + 100.00 + 66.67 = 333.33.
    #[test]
    fn split_333_33_by_500_300_200_gives_the_cents_by_largest_remainder() {
        let stakes = vec![
            ("ann".to_string(), dec!(500)),
            ("ben".to_string(), dec!(300)),
            ("cat".to_string(), dec!(200)),
        ];
        let parts = split_by_stake(dec!(333.33), &stakes);
        let amounts: Vec<String> = parts.iter().map(|p| p.1.to_string()).collect();
        assert_eq!(amounts, ["166.66", "100.00", "66.67"]);
    }

    /// 100.005 split 1:1 paid 50.00 + 50.00 while 100.005 left the pool:
    /// half a cent vanished. The split works at the amount's precision
    /// (never coarser than the cent), so the parts add up exactly; the
    /// ledger itself refuses amounts finer than a cent (`whole_cents`).
    #[test]
    fn split_of_100_005_between_two_equal_stakes_adds_up_exactly() {
        let stakes = vec![("a".to_string(), dec!(1)), ("b".to_string(), dec!(1))];
        let parts = split_by_stake(dec!(100.005), &stakes);
        assert_eq!(parts.iter().map(|p| p.1).sum::<Decimal>(), dec!(100.005));
        assert_eq!(parts[0].1, dec!(50.003));
        assert_eq!(parts[1].1, dec!(50.002));
    }

    proptest::proptest! {
        /// For random stakes (zero included, up to 4 decimals) and random
        /// amounts (up to 4 decimals): the parts add up to the amount
        /// exactly, none is negative, each is within one unit of the
        /// amount's precision of its exact pro-rata share, and a member
        /// without stake gets nothing.
        #[test]
        fn split_conserves_every_amount(
            raw in proptest::collection::vec((0i64..=10_000_000, 0u32..=4), 1..8),
            units in 0i64..=10_000_000_000,
            scale in 0u32..=4,
        ) {
            let stakes: Vec<(String, Decimal)> = raw
                .iter()
                .enumerate()
                .map(|(i, (m, s))| (format!("m{i}"), Decimal::new(*m, *s)))
                .collect();
            let amount = Decimal::new(units, scale);
            let total: Decimal = stakes.iter().map(|s| s.1).sum();
            let parts = split_by_stake(amount, &stakes);
            proptest::prop_assert_eq!(parts.len(), stakes.len());
            let paid: Decimal = parts.iter().map(|p| p.1).sum();
            if total.is_zero() {
                proptest::prop_assert!(paid.is_zero());
            } else {
                proptest::prop_assert_eq!(paid, amount);
                let unit = Decimal::new(1, amount.normalize().scale().max(2));
                for ((name, part), (_, stake)) in parts.iter().zip(&stakes) {
                    proptest::prop_assert!(*part >= Decimal::ZERO, "{name}: {part}");
                    let exact = amount * *stake / total;
                    proptest::prop_assert!((*part - exact).abs() <= unit, "{name}: {part} vs {exact}");
                    if stake.is_zero() {
                        proptest::prop_assert!(part.is_zero(), "{name} has no stake");
                    }
                }
            }
        }
    }

    /// Rows with the same timestamp come back in any order; the printed
    /// totals (`0.00`, not sometimes `0`) must not depend on it.
    #[test]
    fn balances_do_not_depend_on_row_order() {
        let rows = [
            (Some("ben"), "deposit", dec!(60)),
            (Some("ben"), "capital", dec!(-60)),
            (None, "capital", dec!(60)),
            (Some("ben"), "payout", dec!(50.00)),
            (None, "payout", dec!(-50.00)),
            (Some("ben"), "withdraw", dec!(-50.00)),
        ];
        let want = Balances::from_entries(rows.iter().map(|r| (r.0, r.1, r.2)));
        assert_eq!(want.member("ben").credit.to_string(), "0.00");
        assert_eq!(want.member("ben").stake.to_string(), "60");
        assert_eq!(want.pool.to_string(), "10.00");
        // Every rotation of the rows prints the same totals.
        for k in 0..rows.len() {
            let mut r = rows.to_vec();
            r.rotate_left(k);
            let got = Balances::from_entries(r.iter().map(|r| (r.0, r.1, r.2)));
            assert_eq!(format!("{:?}", got), format!("{:?}", want), "rotation {k}");
        }
    }

    /// Migration 0003 carries 0001's stored pool, stakes and payouts into
    /// the ledger, so balances read the same after the upgrade.
    async fn backfill_body(url: &str) {
        let store = Store::open(url).await.unwrap();
        let mut all = nt_mcp_core::store::core_migrations();
        all.extend(crate::db::migrations());
        let before: Vec<_> = all
            .iter()
            .filter(|m| m.id != "fantasy/0003_collective_ledger")
            .cloned()
            .collect();
        store.migrate(&before).await.unwrap();
        sqlx::query("INSERT INTO fantasy_collectives (id, name, league_id, team_id, quorum_pct, approve_pct, pool, created_ms) VALUES ('c1', 'Old', 'l1', 't1', '0.5', '0.5', '975.50', 1)")
            .execute(store.pool())
            .await
            .unwrap();
        for (m, stake, paid) in [("ann", "600", "12.34"), ("ben", "400", "0")] {
            sqlx::query("INSERT INTO fantasy_collective_members (collective_id, member, stake, paid_out, joined_ms) VALUES ('c1', $1, $2, $3, 2)")
                .bind(m)
                .bind(stake)
                .bind(paid)
                .execute(store.pool())
                .await
                .unwrap();
        }
        assert_eq!(
            store.migrate(&all).await.unwrap(),
            vec!["fantasy/0003_collective_ledger"]
        );
        let c = collective(&store, "c1").await.unwrap();
        assert_eq!(c.pool, dec!(975.50));
        assert_eq!(c.member_fee, dec!(0));
        let m: Vec<(String, Decimal, Decimal, Decimal)> = c
            .members
            .iter()
            .map(|m| (m.member.clone(), m.stake, m.paid_out, m.credit))
            .collect();
        assert_eq!(
            m,
            vec![
                ("ann".into(), dec!(600), dec!(12.34), dec!(12.34)),
                ("ben".into(), dec!(400), dec!(0), dec!(0)),
            ]
        );
        // The old columns no longer hold a second copy.
        let pool: String = sqlx::query("SELECT pool FROM fantasy_collectives WHERE id = 'c1'")
            .fetch_one(store.pool())
            .await
            .unwrap()
            .get(0);
        assert_eq!(pool, "0");
        store.pool().close().await;
    }

    #[tokio::test]
    async fn migration_0003_backfills_the_ledger_sqlite() {
        backfill_body("sqlite::memory:").await;
    }

    #[tokio::test]
    async fn migration_0003_backfills_the_ledger_postgres() {
        let Some(pg) = crate::pg_support::schema(module_path!()).await else {
            return;
        };
        backfill_body(&pg.url).await;
        pg.drop_schema().await;
    }
}
