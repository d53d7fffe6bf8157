//! The paper DeFi ledger: deposits and withdrawals in a vault at its price
//! per full share, with yield accruing at the vault's APY over time (the
//! call context's clock), per account. Each account's paper vault starts at
//! the data's `pricePerFullShare` on its first deposit; on every later touch
//! the share price is rolled forward (`ppfs · (1 + apy)^(Δt/year)`) and the
//! vault's current APY is taken for the next stretch. Every deposit and
//! withdrawal carries a client id (the same id twice books once) and writes
//! its audit row in the same transaction.

use rust_decimal::Decimal;
use rust_decimal::prelude::FromPrimitive;
use serde::Serialize;
use sqlx::Row;

use nt_mcp_core::ToolCtx;
use nt_mcp_core::store::Backend;

use crate::apy::{growth, mul_f64, to_f64};
use crate::beefy::BeefyData;
use crate::beefy::types::Vault;
use crate::error::{DefiError, Result};

/// The account name for the shared (not per-caller) paper ledger.
pub const SHARED_ACCOUNT: &str = "paper";

/// A paper position, valued now.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PaperPosition {
    /// Vault id.
    pub vault_id: String,
    /// Shares held.
    pub shares: Decimal,
    /// Price per full share now (want per share).
    pub ppfs: Decimal,
    /// Value in want tokens.
    pub value_want: Decimal,
    /// Value in USD at the data's want price.
    pub value_usd: Decimal,
    /// Want deposited net of withdrawals, at cost.
    pub cost_want: Decimal,
    /// `value_want − cost_want`.
    pub earned_want: Decimal,
    /// APY accruing now.
    pub apy: f64,
}

/// One booked deposit or withdrawal.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PaperFill {
    /// `deposit` or `withdraw`.
    pub kind: String,
    /// Client id.
    pub client_id: String,
    /// Vault id.
    pub vault_id: String,
    /// Want tokens in (deposit) or paid out after fees (withdraw).
    pub want_amount: Decimal,
    /// Shares minted or burned.
    pub shares: Decimal,
    /// Price per full share used.
    pub ppfs: Decimal,
    /// Withdrawal fee in want.
    pub fee_want: Decimal,
    /// USD value of `want_amount`.
    pub usd_value: Decimal,
    /// When, ms.
    pub at_ms: i64,
    /// Whether this client id had been booked before (nothing new booked).
    pub replayed: bool,
}

struct Row0 {
    ppfs_start: Decimal,
    apy: f64,
    start_ms: i64,
    shares: Decimal,
    cost_want: Decimal,
}

fn dec(row: &sqlx::any::AnyRow, col: &str) -> Result<Decimal> {
    let text: String = row.try_get(col)?;
    text.parse()
        .map_err(|_| DefiError::Config(format!("stored {col} `{text}` is not a decimal")))
}

/// The data's price per full share of `vault` (1 when it has none).
pub fn snapshot_ppfs(vault: &Vault) -> Decimal {
    let text = vault.price_per_full_share.as_deref().unwrap_or("");
    text.parse::<alloy_primitives::U256>()
        .ok()
        .map(|raw| crate::chain::from_raw(raw, 18))
        // A JSON number in exponent form (1.0612e18).
        .or_else(|| {
            text.parse::<f64>()
                .ok()
                .and_then(|f| Decimal::from_f64(f / 1e18))
        })
        .filter(|p| *p > Decimal::ZERO)
        .unwrap_or(Decimal::ONE)
}

fn ppfs_at(r: &Row0, now_ms: i64) -> Decimal {
    (r.ppfs_start * Decimal::from_f64(growth(r.apy, now_ms - r.start_ms)).unwrap_or(Decimal::ONE))
        .round_dp(18)
}

async fn load<'e, E>(exec: E, account: &str, vault_id: &str) -> Result<Option<Row0>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let row = sqlx::query(
        "SELECT ppfs_start, apy, start_ms, shares, cost_want FROM defi_paper_vaults \
         WHERE account = $1 AND vault_id = $2",
    )
    .bind(account)
    .bind(vault_id)
    .fetch_optional(exec)
    .await?;
    row.map(|row| {
        Ok(Row0 {
            ppfs_start: dec(&row, "ppfs_start")?,
            apy: dec(&row, "apy").map(to_f64)?,
            start_ms: row.try_get("start_ms")?,
            shares: dec(&row, "shares")?,
            cost_want: dec(&row, "cost_want")?,
        })
    })
    .transpose()
}

async fn replay<'e, E>(exec: E, account: &str, client_id: &str) -> Result<Option<PaperFill>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let row = sqlx::query(
        "SELECT kind, vault_id, want_amount, shares, ppfs, fee_want, usd_value, at_ms \
         FROM defi_paper_ledger WHERE account = $1 AND client_id = $2",
    )
    .bind(account)
    .bind(client_id)
    .fetch_optional(exec)
    .await?;
    row.map(|row| {
        Ok(PaperFill {
            kind: row.try_get("kind")?,
            client_id: client_id.to_string(),
            vault_id: row.try_get("vault_id")?,
            want_amount: dec(&row, "want_amount")?,
            shares: dec(&row, "shares")?,
            ppfs: dec(&row, "ppfs")?,
            fee_want: dec(&row, "fee_want")?,
            usd_value: dec(&row, "usd_value")?,
            at_ms: row.try_get("at_ms")?,
            replayed: true,
        })
    })
    .transpose()
}

/// How much to withdraw.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum WithdrawAmount {
    /// This many shares.
    Shares(Decimal),
    /// Shares worth this many want tokens (before the fee).
    Want(Decimal),
    /// Every share.
    All,
}

/// Books a deposit (`Some(amount)` want tokens) or a withdrawal.
pub async fn book(
    ctx: &ToolCtx,
    data: &BeefyData,
    vault: &Vault,
    client_id: &str,
    deposit: Option<Decimal>,
    withdraw: Option<WithdrawAmount>,
) -> Result<PaperFill> {
    let client_id = client_id.trim();
    if client_id.is_empty() || client_id.len() > 128 {
        return Err(DefiError::invalid("client_id", "must be 1-128 characters"));
    }
    // Bookings of one account are serialised (an advisory lock on
    // PostgreSQL, the single writer on SQLite); the optimistic guard below
    // is the backstop: an attempt that still lost a race is retried.
    for _ in 0..8 {
        if let Some(fill) = try_book(ctx, data, vault, client_id, deposit, withdraw).await? {
            return Ok(fill);
        }
    }
    Err(DefiError::Refused(format!(
        "the paper position in {} kept changing under this booking; try again",
        vault.id
    )))
}

/// Whether `err` is a unique-key violation (another call inserted first).
fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.kind() == sqlx::error::ErrorKind::UniqueViolation)
}

/// One attempt; `Ok(None)` when it lost a race and must be retried.
async fn try_book(
    ctx: &ToolCtx,
    data: &BeefyData,
    vault: &Vault,
    client_id: &str,
    deposit: Option<Decimal>,
    withdraw: Option<WithdrawAmount>,
) -> Result<Option<PaperFill>> {
    let account = ctx.account_or(SHARED_ACCOUNT).to_string();
    let now = ctx.clock.now_ms();
    let mut tx = ctx.store.pool().begin().await?;
    if ctx.store.backend() == Backend::Postgres {
        // One booking per account at a time across connections and replicas
        // (released at commit or rollback); SQLite has a single writer.
        sqlx::query(
            "SELECT pg_advisory_xact_lock(74210414, hashtext(coalesce(current_schema(), '') || ':' || $1))",
        )
        .bind(&account)
        .execute(&mut *tx)
        .await?;
    }
    if let Some(fill) = replay(&mut *tx, &account, client_id).await? {
        tx.rollback().await?;
        if fill.vault_id != vault.id {
            return Err(DefiError::invalid(
                "client_id",
                format!("was already used for vault {}", fill.vault_id),
            ));
        }
        return Ok(Some(fill));
    }
    let existing = load(&mut *tx, &account, &vault.id).await?;
    let apy_now = data.total_apy(&vault.id);
    let (ppfs, mut shares, mut cost) = match &existing {
        Some(r) => (ppfs_at(r, now), r.shares, r.cost_want),
        None => (snapshot_ppfs(vault), Decimal::ZERO, Decimal::ZERO),
    };
    let price = data
        .want_price(vault)
        .and_then(Decimal::from_f64)
        .unwrap_or_default();
    let (kind, want_amount, moved_shares, fee) = if let Some(amount) = deposit {
        if !vault.is_active() {
            return Err(DefiError::Refused(format!(
                "vault {} is {}: deposits are closed",
                vault.id, vault.status
            )));
        }
        if amount <= Decimal::ZERO {
            return Err(DefiError::invalid("amount", "must be positive"));
        }
        let minted = (amount / ppfs).round_dp(18);
        shares += minted;
        cost += amount;
        ("deposit", amount, minted, Decimal::ZERO)
    } else {
        if shares <= Decimal::ZERO {
            return Err(DefiError::NotFound(format!(
                "no paper position in {} for account {account}",
                vault.id
            )));
        }
        let burn = match withdraw.unwrap_or(WithdrawAmount::All) {
            WithdrawAmount::All => shares,
            WithdrawAmount::Shares(s) => s,
            WithdrawAmount::Want(w) => (w / ppfs).round_dp(18),
        };
        if burn <= Decimal::ZERO {
            return Err(DefiError::invalid("shares", "must be positive"));
        }
        if burn > shares {
            return Err(DefiError::Refused(format!(
                "the position holds {shares} shares of {}; cannot withdraw {burn}",
                vault.id
            )));
        }
        let gross = (burn * ppfs).round_dp(18);
        let fee = mul_f64(gross, data.fees(&vault.id).withdraw).round_dp(18);
        cost -= (cost * burn / shares).round_dp(18);
        shares -= burn;
        ("withdraw", gross - fee, burn, fee)
    };
    let usd = (want_amount * price).round_dp(2);
    let apy_text = Decimal::from_f64(apy_now).unwrap_or_default().to_string();
    let cost_text = cost.max(Decimal::ZERO).to_string();
    let written = match &existing {
        Some(old) => sqlx::query(
            "UPDATE defi_paper_vaults SET ppfs_start = $3, apy = $4, start_ms = $5, shares = $6, \
             cost_want = $7, updated_ms = $5 \
             WHERE account = $1 AND vault_id = $2 AND shares = $8 AND start_ms = $9",
        )
        .bind(&account)
        .bind(&vault.id)
        .bind(ppfs.to_string())
        .bind(&apy_text)
        .bind(now)
        .bind(shares.to_string())
        .bind(&cost_text)
        .bind(old.shares.to_string())
        .bind(old.start_ms)
        .execute(&mut *tx)
        .await
        .map(|r| r.rows_affected() == 1),
        None => sqlx::query(
            "INSERT INTO defi_paper_vaults (account, vault_id, ppfs_start, apy, start_ms, shares, cost_want, updated_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $5)",
        )
        .bind(&account)
        .bind(&vault.id)
        .bind(ppfs.to_string())
        .bind(&apy_text)
        .bind(now)
        .bind(shares.to_string())
        .bind(&cost_text)
        .execute(&mut *tx)
        .await
        .map(|_| true),
    };
    match written {
        Ok(true) => {}
        Ok(false) => return Ok(None),
        Err(e) if is_unique_violation(&e) => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    let fill = PaperFill {
        kind: kind.into(),
        client_id: client_id.into(),
        vault_id: vault.id.clone(),
        want_amount,
        shares: moved_shares,
        ppfs,
        fee_want: fee,
        usd_value: usd,
        at_ms: now,
        replayed: false,
    };
    let inserted = sqlx::query(
        "INSERT INTO defi_paper_ledger (id, account, client_id, vault_id, kind, want_amount, shares, ppfs, fee_want, usd_value, at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(format!("{account}:{client_id}"))
    .bind(&account)
    .bind(client_id)
    .bind(&vault.id)
    .bind(kind)
    .bind(want_amount.to_string())
    .bind(moved_shares.to_string())
    .bind(ppfs.to_string())
    .bind(fee.to_string())
    .bind(usd.to_string())
    .bind(now)
    .execute(&mut *tx)
    .await;
    match inserted {
        Ok(_) => {}
        Err(e) if is_unique_violation(&e) => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    ctx.audit(&mut *tx, &format!("defi_paper_{kind}"), &fill)
        .await?;
    tx.commit().await?;
    Ok(Some(fill))
}

/// The account's paper positions valued at `now_ms` (empty positions left out).
pub async fn positions(
    ctx: &ToolCtx,
    data: &BeefyData,
    vault_id: Option<&str>,
) -> Result<Vec<PaperPosition>> {
    let account = ctx.account_or(SHARED_ACCOUNT);
    let now = ctx.clock.now_ms();
    let rows =
        sqlx::query("SELECT vault_id FROM defi_paper_vaults WHERE account = $1 ORDER BY vault_id")
            .bind(account)
            .fetch_all(ctx.store.pool())
            .await?;
    let mut out = Vec::new();
    for row in rows {
        let id: String = row.try_get("vault_id")?;
        if vault_id.is_some_and(|v| v != id) {
            continue;
        }
        let Some(r) = load(ctx.store.pool(), account, &id).await? else {
            continue;
        };
        if r.shares <= Decimal::ZERO {
            continue;
        }
        let ppfs = ppfs_at(&r, now);
        let value = (r.shares * ppfs).round_dp(18);
        let price = data
            .vault(&id)
            .ok()
            .and_then(|v| data.want_price(v))
            .and_then(Decimal::from_f64)
            .unwrap_or_default();
        out.push(PaperPosition {
            vault_id: id,
            shares: r.shares,
            ppfs,
            value_want: value,
            value_usd: (value * price).round_dp(2),
            cost_want: r.cost_want,
            earned_want: value - r.cost_want,
            apy: r.apy,
        });
    }
    Ok(out)
}
