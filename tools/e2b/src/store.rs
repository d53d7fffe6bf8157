//! The bundle's rows: sandboxes, runs and template builds
//! (`migrations/e2b`), with queries written once for SQLite and PostgreSQL.

use std::collections::BTreeMap;

use nt_mcp_core::{Migration, Store};
use sqlx::Row;

use crate::error::E2bError;
use crate::provider::{RunOutput, SandboxInfo};

/// The bundle's migrations.
pub fn migrations() -> Vec<Migration> {
    vec![Migration::portable(
        "e2b/0001_e2b",
        include_str!("../../../migrations/e2b/0001_e2b.sql"),
    )]
}

/// A sandbox row.
#[derive(Debug, Clone)]
pub struct SandboxRow {
    /// Our id.
    pub id: String,
    /// `local` or `e2b`.
    pub provider: String,
    /// Template name.
    pub template: String,
    /// Local directory (empty for remote).
    pub root: String,
    /// E2B sandbox id.
    pub remote_id: Option<String>,
    /// `running`, `killed`, `expired`, `reaped`.
    pub status: String,
    /// Environment (JSON object text).
    pub env: BTreeMap<String, String>,
    /// Labels.
    pub metadata: BTreeMap<String, String>,
    /// Instance that created it.
    pub instance: String,
    /// Created, ms.
    pub created_ms: i64,
    /// Ends, ms.
    pub expires_ms: i64,
}

impl SandboxRow {
    /// The row as providers describe it.
    pub fn info(&self) -> SandboxInfo {
        SandboxInfo {
            id: self.id.clone(),
            provider: self.provider.clone(),
            template: self.template.clone(),
            status: self.status.clone(),
            remote_id: self.remote_id.clone(),
            created_ms: self.created_ms,
            expires_ms: self.expires_ms,
            metadata: self.metadata.clone(),
            env_keys: self.env.keys().cloned().collect(),
        }
    }
}

const SANDBOX_COLS: &str = "id, provider, template, root, remote_id, status, env, metadata, instance, created_ms, expires_ms";

fn sandbox_row(row: &sqlx::any::AnyRow) -> Result<SandboxRow, sqlx::Error> {
    let env: String = row.try_get("env")?;
    let metadata: String = row.try_get("metadata")?;
    Ok(SandboxRow {
        id: row.try_get("id")?,
        provider: row.try_get("provider")?,
        template: row.try_get("template")?,
        root: row.try_get("root")?,
        remote_id: row.try_get("remote_id")?,
        status: row.try_get("status")?,
        env: serde_json::from_str(&env).unwrap_or_default(),
        metadata: serde_json::from_str(&metadata).unwrap_or_default(),
        instance: row.try_get("instance")?,
        created_ms: row.try_get("created_ms")?,
        expires_ms: row.try_get("expires_ms")?,
    })
}

/// Inserts a sandbox row.
pub async fn insert_sandbox(store: &Store, row: &SandboxRow) -> Result<(), E2bError> {
    sqlx::query(&format!(
        "INSERT INTO e2b_sandboxes ({SANDBOX_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    ))
    .bind(&row.id)
    .bind(&row.provider)
    .bind(&row.template)
    .bind(&row.root)
    .bind(row.remote_id.clone())
    .bind(&row.status)
    .bind(serde_json::to_string(&row.env).unwrap_or_else(|_| "{}".into()))
    .bind(serde_json::to_string(&row.metadata).unwrap_or_else(|_| "{}".into()))
    .bind(&row.instance)
    .bind(row.created_ms)
    .bind(row.expires_ms)
    .execute(store.pool())
    .await?;
    Ok(())
}

/// One sandbox row.
pub async fn sandbox(store: &Store, id: &str) -> Result<Option<SandboxRow>, E2bError> {
    let row = sqlx::query(&format!(
        "SELECT {SANDBOX_COLS} FROM e2b_sandboxes WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(store.pool())
    .await?;
    Ok(row.as_ref().map(sandbox_row).transpose()?)
}

/// Sandbox rows of `provider`, newest first; only running ones unless `all`.
pub async fn sandboxes(
    store: &Store,
    provider: &str,
    all: bool,
) -> Result<Vec<SandboxRow>, E2bError> {
    let sql = if all {
        format!(
            "SELECT {SANDBOX_COLS} FROM e2b_sandboxes WHERE provider = $1 ORDER BY created_ms DESC, id"
        )
    } else {
        format!(
            "SELECT {SANDBOX_COLS} FROM e2b_sandboxes WHERE provider = $1 AND status = 'running' ORDER BY created_ms DESC, id"
        )
    };
    let rows = sqlx::query(&sql)
        .bind(provider)
        .fetch_all(store.pool())
        .await?;
    Ok(rows.iter().map(sandbox_row).collect::<Result<_, _>>()?)
}

/// Sets a sandbox's status (and its end time when it ends).
pub async fn set_sandbox_status(
    store: &Store,
    id: &str,
    status: &str,
    now_ms: i64,
) -> Result<(), E2bError> {
    sqlx::query("UPDATE e2b_sandboxes SET status = $1, ended_ms = $2 WHERE id = $3")
        .bind(status)
        .bind(now_ms)
        .bind(id)
        .execute(store.pool())
        .await?;
    Ok(())
}

/// Moves a running sandbox's end to `timeout` after `now_ms` (saturating),
/// in `row` and in the database: the `extend` of every provider.
pub async fn extend_row(
    store: &Store,
    row: &mut SandboxRow,
    now_ms: i64,
    timeout: std::time::Duration,
) -> Result<(), E2bError> {
    let span = i64::try_from(timeout.as_millis()).unwrap_or(i64::MAX);
    row.expires_ms = now_ms.saturating_add(span);
    set_expiry(store, &row.id, row.expires_ms).await
}

/// The sandboxes of `provider` as answers (ended ones too with `all`).
pub async fn infos(
    store: &Store,
    provider: &str,
    all: bool,
) -> Result<Vec<crate::provider::SandboxInfo>, E2bError> {
    Ok(sandboxes(store, provider, all)
        .await?
        .iter()
        .map(SandboxRow::info)
        .collect())
}

/// Sets a running sandbox's end time.
pub async fn set_expiry(store: &Store, id: &str, expires_ms: i64) -> Result<(), E2bError> {
    sqlx::query("UPDATE e2b_sandboxes SET expires_ms = $1 WHERE id = $2 AND status = 'running'")
        .bind(expires_ms)
        .bind(id)
        .execute(store.pool())
        .await?;
    Ok(())
}

/// Records a run that starts now.
pub async fn insert_run(
    store: &Store,
    id: &str,
    sandbox_id: &str,
    kind: &str,
    command: &str,
    instance: &str,
    now_ms: i64,
) -> Result<(), E2bError> {
    sqlx::query(
        "INSERT INTO e2b_runs (id, sandbox_id, kind, command, instance, status, started_ms) \
         VALUES ($1, $2, $3, $4, $5, 'running', $6)",
    )
    .bind(id)
    .bind(sandbox_id)
    .bind(kind)
    .bind(command)
    .bind(instance)
    .bind(now_ms)
    .execute(store.pool())
    .await?;
    Ok(())
}

/// Completes a run record from its output.
pub async fn finish_run(store: &Store, id: &str, out: &RunOutput) -> Result<(), E2bError> {
    sqlx::query(
        "UPDATE e2b_runs SET status = $1, exit_code = $2, duration_ms = $3, stdout_bytes = $4, \
         stderr_bytes = $5, truncated = $6, output_digest = $7 WHERE id = $8",
    )
    .bind(out.status.as_str())
    .bind(out.exit_code.map(i64::from))
    .bind(i64::try_from(out.duration_ms).unwrap_or(i64::MAX))
    .bind(i64::try_from(out.stdout_bytes).unwrap_or(i64::MAX))
    .bind(i64::try_from(out.stderr_bytes).unwrap_or(i64::MAX))
    .bind(i64::from(out.truncated))
    .bind(&out.output_digest)
    .bind(id)
    .execute(store.pool())
    .await?;
    Ok(())
}

/// Marks a run failed (it could not start or the provider failed).
pub async fn fail_run(store: &Store, id: &str, error: &str, status: &str) -> Result<(), E2bError> {
    sqlx::query("UPDATE e2b_runs SET status = $1, error = $2 WHERE id = $3")
        .bind(status)
        .bind(error)
        .bind(id)
        .execute(store.pool())
        .await?;
    Ok(())
}

/// Runs still `running` that another server instance started:
/// (run id, sandbox id, that instance's id).
pub async fn foreign_running_runs(
    store: &Store,
    instance: &str,
) -> Result<Vec<(String, String, String)>, E2bError> {
    let rows = sqlx::query(
        "SELECT r.id, r.sandbox_id, r.instance FROM e2b_runs r JOIN e2b_sandboxes s ON s.id = r.sandbox_id \
         WHERE r.status = 'running' AND r.instance <> $1 AND s.provider = 'local'",
    )
    .bind(instance)
    .fetch_all(store.pool())
    .await?;
    Ok(rows
        .iter()
        .map(|r| {
            (
                r.get::<String, _>(0),
                r.get::<String, _>(1),
                r.get::<String, _>(2),
            )
        })
        .collect())
}

/// A run record as JSON (for answers and tests).
pub async fn run_record(store: &Store, id: &str) -> Result<Option<serde_json::Value>, E2bError> {
    let row = sqlx::query(
        "SELECT id, sandbox_id, kind, command, status, exit_code, started_ms, duration_ms, \
         stdout_bytes, stderr_bytes, truncated, output_digest, error FROM e2b_runs WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(store.pool())
    .await?;
    Ok(row.map(|r| {
        serde_json::json!({
            "id": r.get::<String, _>("id"),
            "sandbox_id": r.get::<String, _>("sandbox_id"),
            "kind": r.get::<String, _>("kind"),
            "command": r.get::<String, _>("command"),
            "status": r.get::<String, _>("status"),
            "exit_code": r.get::<Option<i64>, _>("exit_code"),
            "started_ms": r.get::<i64, _>("started_ms"),
            "duration_ms": r.get::<Option<i64>, _>("duration_ms"),
            "stdout_bytes": r.get::<i64, _>("stdout_bytes"),
            "stderr_bytes": r.get::<i64, _>("stderr_bytes"),
            "truncated": r.get::<i64, _>("truncated") != 0,
            "output_digest": r.get::<Option<String>, _>("output_digest"),
            "error": r.get::<Option<String>, _>("error"),
        })
    }))
}

/// A template build row.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BuildRow {
    /// Our build id.
    pub id: String,
    /// Template name.
    pub template: String,
    /// `e2b` or `local`.
    pub target: String,
    /// E2B template id.
    pub remote_template: Option<String>,
    /// E2B build id.
    pub remote_build: Option<String>,
    /// `prepared`, `waiting`, `building`, `ready`, `error`.
    pub status: String,
    /// The build request (JSON).
    pub request: serde_json::Value,
    /// Log lines.
    pub logs: Vec<String>,
    /// Created, ms.
    pub created_ms: i64,
    /// Last change, ms.
    pub updated_ms: i64,
}

/// Inserts or replaces a build row.
pub async fn save_build(store: &Store, b: &BuildRow) -> Result<(), E2bError> {
    let mut tx = store.pool().begin().await?;
    sqlx::query("DELETE FROM e2b_builds WHERE id = $1")
        .bind(&b.id)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO e2b_builds (id, template, target, remote_template, remote_build, status, request, logs, created_ms, updated_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(&b.id)
    .bind(&b.template)
    .bind(&b.target)
    .bind(b.remote_template.clone())
    .bind(b.remote_build.clone())
    .bind(&b.status)
    .bind(b.request.to_string())
    .bind(serde_json::to_string(&b.logs).unwrap_or_else(|_| "[]".into()))
    .bind(b.created_ms)
    .bind(b.updated_ms)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// One build row.
pub async fn build(store: &Store, id: &str) -> Result<Option<BuildRow>, E2bError> {
    let row = sqlx::query(
        "SELECT id, template, target, remote_template, remote_build, status, request, logs, created_ms, updated_ms \
         FROM e2b_builds WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(store.pool())
    .await?;
    Ok(row.map(|r| BuildRow {
        id: r.get("id"),
        template: r.get("template"),
        target: r.get("target"),
        remote_template: r.get("remote_template"),
        remote_build: r.get("remote_build"),
        status: r.get("status"),
        request: serde_json::from_str(&r.get::<String, _>("request")).unwrap_or_default(),
        logs: serde_json::from_str(&r.get::<String, _>("logs")).unwrap_or_default(),
        created_ms: r.get("created_ms"),
        updated_ms: r.get("updated_ms"),
    }))
}
