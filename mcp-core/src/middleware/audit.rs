//! The append-only audit log: one row per tool call, plus rows bundles add
//! for the state changes they make, in the same transaction as the change.

use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::Any;
use tokio::sync::{mpsc, oneshot};

use crate::store::Store;

/// One audit row.
#[derive(Debug, Clone)]
pub struct AuditEntry<'a> {
    /// When, in ms since the epoch.
    pub at_ms: i64,
    /// Variant serving the call.
    pub variant: &'a str,
    /// Tool name (or `bundle.event` for a bundle's own state change).
    pub tool: &'a str,
    /// Caller id.
    pub caller: &'a str,
    /// SHA-256 of the canonical JSON arguments (arguments themselves may hold secrets).
    pub args_digest: &'a str,
    /// `ok`, `error:<kind>`, `job:<id>`, or a bundle's event outcome.
    pub outcome: &'a str,
    /// Optional detail (JSON text), never secrets.
    pub detail: Option<&'a str>,
}

/// SHA-256 hex digest of the arguments' canonical JSON (keys sorted).
pub fn args_digest(args: &Value) -> String {
    let text = serde_json::to_string(args).unwrap_or_default();
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// Appends one row using `exec` (a pool, a connection or a transaction).
pub async fn append<'e, E>(exec: E, entry: &AuditEntry<'_>) -> Result<(), sqlx::Error>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    sqlx::query(
        "INSERT INTO audit_log (at_ms, variant, tool, caller, args_digest, outcome, detail) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(entry.at_ms)
    .bind(entry.variant)
    .bind(entry.tool)
    .bind(entry.caller)
    .bind(entry.args_digest)
    .bind(entry.outcome)
    .bind(entry.detail)
    .execute(exec)
    .await?;
    Ok(())
}

/// Most rows written in one transaction by the [`AuditLog`] writer.
const MAX_BATCH: usize = 512;

/// An audit row owned by the writer queue.
#[derive(Debug, Clone)]
pub struct OwnedAuditEntry {
    /// When, in ms since the epoch.
    pub at_ms: i64,
    /// Variant serving the call.
    pub variant: String,
    /// Tool name.
    pub tool: String,
    /// Caller id.
    pub caller: String,
    /// SHA-256 of the arguments.
    pub args_digest: String,
    /// Outcome.
    pub outcome: String,
}

type Pending = (OwnedAuditEntry, oneshot::Sender<Result<(), String>>);

/// The per-call audit log with group commit: concurrent calls queue their
/// rows, one writer inserts whatever is queued in a single transaction, and
/// each call is answered only after the transaction holding its row has
/// committed. Throughput is no longer bounded by one commit per call.
#[derive(Clone)]
pub struct AuditLog {
    queue: mpsc::Sender<Pending>,
}

impl AuditLog {
    /// Starts the writer task over `store`.
    pub fn start(store: Store) -> Self {
        let (queue, mut rx) = mpsc::channel::<Pending>(4 * MAX_BATCH);
        tokio::spawn(async move {
            let mut batch: Vec<Pending> = Vec::with_capacity(MAX_BATCH);
            while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
                let result = write_batch(&store, &batch).await.map_err(|e| e.to_string());
                for (_, done) in batch.drain(..) {
                    let _ = done.send(result.clone());
                }
            }
        });
        Self { queue }
    }

    /// Appends a row and waits until it is committed.
    pub async fn record(&self, entry: OwnedAuditEntry) -> Result<(), String> {
        let (done, wait) = oneshot::channel();
        self.queue
            .send((entry, done))
            .await
            .map_err(|_| "audit writer stopped".to_string())?;
        wait.await.map_err(|_| "audit writer stopped".to_string())?
    }
}

async fn write_batch(store: &Store, batch: &[Pending]) -> Result<(), sqlx::Error> {
    let mut tx = store.pool().begin().await?;
    for (row, _) in batch {
        append(
            &mut *tx,
            &AuditEntry {
                at_ms: row.at_ms,
                variant: &row.variant,
                tool: &row.tool,
                caller: &row.caller,
                args_digest: &row.args_digest,
                outcome: &row.outcome,
                detail: None,
            },
        )
        .await?;
    }
    tx.commit().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Store, core_migrations};

    #[test]
    fn digest_ignores_key_order() {
        let a = serde_json::json!({"a": 1, "b": 2});
        let b: Value = serde_json::from_str(r#"{"b":2,"a":1}"#).expect("json");
        assert_eq!(args_digest(&a), args_digest(&b));
        assert_eq!(args_digest(&a).len(), 64);
    }

    #[tokio::test]
    async fn the_group_writer_commits_every_row_before_answering() {
        let store = Store::open("sqlite::memory:").await.expect("open");
        store.migrate(&core_migrations()).await.expect("migrate");
        let log = AuditLog::start(store.clone());
        let mut calls = Vec::new();
        for i in 0..300 {
            let log = log.clone();
            calls.push(tokio::spawn(async move {
                log.record(OwnedAuditEntry {
                    at_ms: i,
                    variant: "t".into(),
                    tool: "ping".into(),
                    caller: format!("c{i}"),
                    args_digest: "d".into(),
                    outcome: "ok".into(),
                })
                .await
            }));
        }
        for call in calls {
            call.await.expect("join").expect("recorded");
        }
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log")
            .fetch_one(store.pool())
            .await
            .expect("count");
        assert_eq!(count, 300);
    }

    #[tokio::test]
    async fn rows_cannot_be_edited_or_deleted() {
        let store = Store::open("sqlite::memory:").await.expect("open");
        store.migrate(&core_migrations()).await.expect("migrate");
        let entry = AuditEntry {
            at_ms: 1,
            variant: "t",
            tool: "ping",
            caller: "stdio",
            args_digest: "x",
            outcome: "ok",
            detail: None,
        };
        append(store.pool(), &entry).await.expect("append");
        assert!(
            sqlx::query("UPDATE audit_log SET outcome = 'forged'")
                .execute(store.pool())
                .await
                .is_err()
        );
        assert!(
            sqlx::query("DELETE FROM audit_log")
                .execute(store.pool())
                .await
                .is_err()
        );
    }
}
