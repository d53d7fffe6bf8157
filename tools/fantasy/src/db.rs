//! Storage helpers: the bundle's migrations, the audit row written in the
//! same transaction as each state change, and row decoding.

use nt_mcp_core::Migration;
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use crate::error::{FantasyError, Result};

/// The bundle's migrations (apply after the core ones).
pub fn migrations() -> Vec<Migration> {
    vec![
        Migration::portable(
            "fantasy/0001_fantasy",
            include_str!("../../../migrations/fantasy/0001_fantasy.sql"),
        ),
        Migration::portable(
            "fantasy/0002_game_start_locks",
            include_str!("../../../migrations/fantasy/0002_game_start_locks.sql"),
        ),
        Migration::portable(
            "fantasy/0003_collective_ledger",
            include_str!("../../../migrations/fantasy/0003_collective_ledger.sql"),
        ),
    ]
}

/// Who is changing state, for the audit log.
#[derive(Debug, Clone, Default)]
pub struct Actor {
    /// Variant serving the call.
    pub variant: String,
    /// Caller id.
    pub caller: String,
    /// Tool name.
    pub tool: String,
    /// SHA-256 of the call arguments (hex).
    pub args_digest: String,
    /// Holds the admin scope (may act for any team).
    pub is_admin: bool,
}

impl Actor {
    /// An actor for tests and internal jobs.
    pub fn system(tool: &str) -> Self {
        Self {
            variant: "internal".into(),
            caller: "system".into(),
            tool: tool.into(),
            args_digest: String::new(),
            is_admin: true,
        }
    }
}

/// SHA-256 hex digest of a JSON value.
pub fn digest(value: &serde_json::Value) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(value.to_string().as_bytes()))
}

/// Appends an audit row in `tx`.
pub async fn audit(
    tx: &mut Transaction<'_, Any>,
    actor: &Actor,
    now_ms: i64,
    outcome: &str,
    detail: &impl Serialize,
) -> Result<()> {
    let detail = serde_json::to_string(detail).unwrap_or_default();
    sqlx::query(
        "INSERT INTO audit_log (at_ms, variant, tool, caller, args_digest, outcome, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(now_ms)
    .bind(actor.variant.as_str())
    .bind(actor.tool.as_str())
    .bind(actor.caller.as_str())
    .bind(actor.args_digest.as_str())
    .bind(outcome)
    .bind(detail)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Appends a league transaction (the league's own history) in `tx`.
pub async fn league_transaction(
    tx: &mut Transaction<'_, Any>,
    league_id: &str,
    team_id: Option<&str>,
    kind: &str,
    detail: &impl Serialize,
    now_ms: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO fantasy_transactions (id, league_id, team_id, kind, detail, at_ms) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(uuid::Uuid::new_v4().to_string())
    .bind(league_id)
    .bind(team_id.map(str::to_string))
    .bind(kind)
    .bind(serde_json::to_string(detail).unwrap_or_default())
    .bind(now_ms)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Reads a TEXT column holding JSON.
pub fn json_col<T: serde::de::DeserializeOwned>(row: &AnyRow, col: &str) -> Result<T> {
    let text: String = row.try_get(col)?;
    serde_json::from_str(&text).map_err(|e| FantasyError::Corrupt(format!("{col}: {e}")))
}

/// Reads a TEXT column holding a decimal.
pub fn dec_col(row: &AnyRow, col: &str) -> Result<rust_decimal::Decimal> {
    let text: String = row.try_get(col)?;
    text.parse()
        .map_err(|e| FantasyError::Corrupt(format!("{col}: `{text}`: {e}")))
}

/// Reads a nullable TEXT column holding a decimal.
pub fn opt_dec_col(row: &AnyRow, col: &str) -> Result<Option<rust_decimal::Decimal>> {
    let text: Option<String> = row.try_get(col)?;
    text.map(|t| {
        t.parse()
            .map_err(|e| FantasyError::Corrupt(format!("{col}: `{t}`: {e}")))
    })
    .transpose()
}

/// JSON text of a value (for TEXT columns).
pub fn to_json(value: &impl Serialize) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".into())
}
