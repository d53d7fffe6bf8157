//! The append-only audit log: one row per tool call, plus rows bundles add
//! for the state changes they make, in the same transaction as the change.

use std::future::Future;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::Any;
use tokio::sync::{mpsc, oneshot};

use crate::sql::{Arg, WriteTx};
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
    /// Optional detail (JSON text), never secrets.
    pub detail: Option<String>,
}

/// Longest a queued row waits for company before the writer commits it.
const LINGER: std::time::Duration = std::time::Duration::from_millis(2);

enum Msg {
    /// A row; the sender, when present, is answered once it is committed.
    Row(OwnedAuditEntry, Option<oneshot::Sender<Result<(), String>>>),
    /// Answered once every row queued before it is committed.
    Flush(oneshot::Sender<()>),
}

/// The per-call audit log with group commit: calls queue their rows and one
/// writer inserts whatever is queued in a single transaction, lingering a
/// couple of milliseconds to gather company. A call that must not answer
/// before its row is durable ([`AuditLog::record`], used for trade-scope
/// calls) waits for the commit; others ([`AuditLog::enqueue`]) go on at once,
/// and [`AuditLog::flush`] (called at shutdown) waits for everything queued.
/// Throughput is no longer bounded by one commit per call.
#[derive(Clone)]
pub struct AuditLog {
    queue: mpsc::Sender<Msg>,
}

impl AuditLog {
    /// Starts the writer task over `store`.
    pub fn start(store: Store) -> Self {
        Self::start_when(store, std::future::ready(()))
    }

    /// Starts the writer task over `store`, writing once `ready` resolves
    /// (the store's migrations are in place); rows queue until then.
    pub fn start_when(
        store: Store,
        ready: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Self {
        let (queue, mut rx) = mpsc::channel::<Msg>(4 * MAX_BATCH);
        tokio::spawn(async move {
            ready.await;
            let mut msgs: Vec<Msg> = Vec::with_capacity(MAX_BATCH);
            while rx.recv_many(&mut msgs, MAX_BATCH).await > 0 {
                let waited_for = msgs.iter().any(|m| !matches!(m, Msg::Row(_, None)));
                if !waited_for && msgs.len() < MAX_BATCH {
                    // Nobody waits on these rows: linger to batch more of them.
                    tokio::time::sleep(LINGER).await;
                    while msgs.len() < MAX_BATCH {
                        match rx.try_recv() {
                            Ok(m) => msgs.push(m),
                            Err(_) => break,
                        }
                    }
                }
                let rows: Vec<&OwnedAuditEntry> = msgs
                    .iter()
                    .filter_map(|m| match m {
                        Msg::Row(row, _) => Some(row),
                        Msg::Flush(_) => None,
                    })
                    .collect();
                let result = if rows.is_empty() {
                    Ok(())
                } else {
                    write_batch(&store, &rows).await.map_err(|e| e.to_string())
                };
                if let Err(err) = &result {
                    tracing::error!(error = %err, rows = rows.len(), "could not write audit rows");
                }
                for msg in msgs.drain(..) {
                    match msg {
                        Msg::Row(_, Some(done)) => {
                            let _ = done.send(result.clone());
                        }
                        Msg::Row(_, None) => {}
                        Msg::Flush(done) => {
                            let _ = done.send(());
                        }
                    }
                }
            }
        });
        Self { queue }
    }

    /// Appends a row and waits until it is committed.
    pub async fn record(&self, entry: OwnedAuditEntry) -> Result<(), String> {
        let (done, wait) = oneshot::channel();
        self.queue
            .send(Msg::Row(entry, Some(done)))
            .await
            .map_err(|_| "audit writer stopped".to_string())?;
        wait.await.map_err(|_| "audit writer stopped".to_string())?
    }

    /// Queues a row; it is committed within a few milliseconds (and before
    /// [`AuditLog::flush`] returns). Waits only when the queue is full.
    pub async fn enqueue(&self, entry: OwnedAuditEntry) -> Result<(), String> {
        self.queue
            .send(Msg::Row(entry, None))
            .await
            .map_err(|_| "audit writer stopped".to_string())
    }

    /// Waits until every row queued so far is committed (shutdown).
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.queue.send(Msg::Flush(done)).await.is_ok() {
            let _ = wait.await;
        }
    }
}

/// Rows per INSERT statement in a batch (7 values each, well inside every
/// backend's limit on bound values).
const ROWS_PER_INSERT: usize = 64;

/// Writes `batch` in one transaction, as multi-row INSERTs: a batch of 8
/// costs one statement, not 8 round trips to the database, and on SQLite
/// the `BEGIN`, the INSERTs and the `COMMIT` travel as one ([`WriteTx`]).
async fn write_batch(store: &Store, batch: &[&OwnedAuditEntry]) -> Result<(), sqlx::Error> {
    let mut tx = WriteTx::begin(store.pool()).await?;
    for chunk in batch.chunks(ROWS_PER_INSERT) {
        let (sql, args) = insert_rows(chunk);
        tx.queue(sql, args);
    }
    tx.commit().await
}

/// One INSERT of `rows` (placeholders `$1..$n`) and its values.
pub(crate) fn insert_rows(rows: &[&OwnedAuditEntry]) -> (String, Vec<Arg>) {
    let values: Vec<String> = (0..rows.len())
        .map(|r| {
            let b = r * 7;
            format!(
                "(${}, ${}, ${}, ${}, ${}, ${}, ${})",
                b + 1,
                b + 2,
                b + 3,
                b + 4,
                b + 5,
                b + 6,
                b + 7
            )
        })
        .collect();
    let sql = format!(
        "INSERT INTO audit_log (at_ms, variant, tool, caller, args_digest, outcome, detail) VALUES {}",
        values.join(", ")
    );
    let mut args: Vec<Arg> = Vec::with_capacity(rows.len() * 7);
    for row in rows {
        args.extend([
            row.at_ms.into(),
            (&row.variant).into(),
            (&row.tool).into(),
            (&row.caller).into(),
            (&row.args_digest).into(),
            (&row.outcome).into(),
            row.detail.clone().into(),
        ]);
    }
    (sql, args)
}

/// Where the audit row of a trade-scope call stands, shared by the server and
/// the state change that completes the call: the change writes the row in
/// its own transaction ([`crate::sql::WriteTx::record_call`]), so the two
/// commit together and the call does not wait for a second commit.
#[derive(Debug)]
pub enum CallRow {
    /// Not written yet: the server writes it when the call ends.
    Waiting(OwnedAuditEntry),
    /// Queued in a transaction not yet committed.
    Queued,
    /// Committed with the call's state change.
    Written,
    /// Written by the server (the call failed, or became a job): a later
    /// commit must not add a second row.
    Closed,
}

/// A call's [`CallRow`], shared between the server and the call's task.
pub type CallRowSlot = Arc<Mutex<CallRow>>;

tokio::task_local! {
    static CALL_ROW: CallRowSlot;
}

/// Runs `call` with `slot` as the audit row of the call it serves.
pub fn with_call_row<F: Future>(slot: CallRowSlot, call: F) -> impl Future<Output = F::Output> {
    CALL_ROW.scope(slot, call)
}

/// A served call's audit row taken from its [`CallRowSlot`] to be written
/// in a state change's transaction ([`crate::sql::WriteTx::record_row`]).
#[derive(Debug)]
pub struct TakenRow {
    pub(crate) entry: OwnedAuditEntry,
    pub(crate) slot: CallRowSlot,
}

/// Takes the audit row of the call this task serves, if it waits to be
/// written, marking it queued: for a state change that completes the call
/// in another task's transaction (group commit). `None` outside a served
/// trade-scope call, or when it is taken already.
pub fn take_call_row() -> Option<TakenRow> {
    CALL_ROW
        .try_with(|slot| {
            let mut row = lock(slot);
            match std::mem::replace(&mut *row, CallRow::Queued) {
                CallRow::Waiting(entry) => Some(TakenRow {
                    entry,
                    slot: slot.clone(),
                }),
                other => {
                    *row = other;
                    None
                }
            }
        })
        .ok()
        .flatten()
}

/// The slot's state, whatever a panicking holder left.
pub(crate) fn lock(slot: &CallRowSlot) -> std::sync::MutexGuard<'_, CallRow> {
    slot.lock().unwrap_or_else(|e| e.into_inner())
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
                    detail: None,
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
        // Every value landed in its own row and column (rows go in as
        // multi-row INSERTs).
        let matched: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM audit_log WHERE caller = 'c' || at_ms AND tool = 'ping' AND outcome = 'ok' AND detail IS NULL",
        )
        .fetch_one(store.pool())
        .await
        .expect("count");
        assert_eq!(matched, 300);
    }

    #[tokio::test]
    async fn queued_rows_are_all_committed_by_flush() {
        let store = Store::open("sqlite::memory:").await.expect("open");
        store.migrate(&core_migrations()).await.expect("migrate");
        let log = AuditLog::start(store.clone());
        for i in 0..1500 {
            log.enqueue(OwnedAuditEntry {
                at_ms: i,
                variant: "t".into(),
                tool: "ping".into(),
                caller: "c".into(),
                args_digest: "d".into(),
                outcome: "ok".into(),
                detail: None,
            })
            .await
            .expect("queued");
        }
        log.flush().await;
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log")
            .fetch_one(store.pool())
            .await
            .expect("count");
        assert_eq!(count, 1500);
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
