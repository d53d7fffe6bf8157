//! Storage helpers: the bundle's migrations, the acting identity whose audit
//! row is written in the same transaction as each state change, and row
//! decoding.

use std::sync::Arc;

use nt_mcp_core::clock::ManualClock;
use nt_mcp_core::{Caller, Migration, Scope, Store, ToolCtx};
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

/// Who is changing state: the acting fantasy identity (the owner key of the
/// teams and leagues it creates), whether it may act for any team, and the
/// call whose audit rows it writes (time, variant, caller, tool and argument
/// digest come from that call, through [`ToolCtx::audit`]).
#[derive(Clone)]
pub struct Actor {
    /// The acting identity: the caller's own account when the server keeps
    /// per-caller accounts, else the caller id (the shared identity).
    pub identity: String,
    /// Holds the admin scope (may act for any team).
    pub is_admin: bool,
    call: ToolCtx,
}

impl std::fmt::Debug for Actor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Actor")
            .field("identity", &self.identity)
            .field("is_admin", &self.is_admin)
            .field("tool", &self.call.tool)
            .finish_non_exhaustive()
    }
}

impl Actor {
    /// The actor of a tool call: `ctx.account` when set, else the caller id.
    pub fn of_call(ctx: &ToolCtx) -> Self {
        Self {
            identity: ctx.account_or(&ctx.caller.id).to_string(),
            is_admin: ctx.caller.has(Scope::Admin),
            call: ctx.clone(),
        }
    }

    /// An operator actor for internal jobs and tests: caller `system`,
    /// variant `internal`, audit rows under `tool` stamped at `now_ms`.
    pub fn system(store: &Store, tool: &str, now_ms: i64) -> Self {
        let mut call = ToolCtx::new(store.clone())
            .with_clock(Arc::new(ManualClock::new(now_ms)))
            .with_caller(Caller {
                id: "system".into(),
                scopes: vec![Scope::Read, Scope::Trade, Scope::Admin],
            });
        call.variant = Arc::from("internal");
        call.tool = Arc::from(tool);
        Self {
            identity: "system".into(),
            is_admin: true,
            call,
        }
    }

    /// The same actor acting as `identity` without the admin scope (tests,
    /// and a collective acting for its own team).
    pub fn as_identity(mut self, identity: impl Into<String>, is_admin: bool) -> Self {
        self.identity = identity.into();
        self.is_admin = is_admin;
        self
    }
}

/// Appends an audit row in `tx` for `actor`'s call.
pub async fn audit(
    tx: &mut Transaction<'_, Any>,
    actor: &Actor,
    outcome: &str,
    detail: &impl Serialize,
) -> Result<()> {
    actor.call.audit(&mut **tx, outcome, detail).await?;
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
