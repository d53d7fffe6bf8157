//! A write transaction that sends its `BEGIN` with its first statement and
//! its `COMMIT` with its last ones. sqlx's own transactions send each of
//! them as a round trip of its own (on SQLite, a hand-over to the worker
//! thread that waits for an acknowledgement), which made them half of a
//! paper order's round trips.

use sqlx::any::AnyRow;
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool, Executor};

use super::batch::{Arg, Batch};
use crate::middleware::audit::{self, CallRow, CallRowSlot, TakenRow, insert_rows, take_call_row};

/// What the transaction's statements fail with.
type Result<T> = std::result::Result<T, sqlx::Error>;

/// A transaction on one pooled connection, begun and committed by plain
/// statements that ride in the same [`Batch`] as the work: on SQLite a
/// transaction of one read and some writes costs two round trips (`BEGIN`
/// plus the read, then the writes plus `COMMIT`) instead of four.
///
/// SQLite transactions begin `IMMEDIATE`: they take the write lock at once,
/// so a transaction that reads before it writes never fails to upgrade while
/// another process writes. A transaction dropped before [`WriteTx::commit`]
/// (an error, a cancelled call) is rolled back before its connection goes
/// back to the pool, as sqlx's own transactions are.
pub struct WriteTx {
    conn: Option<PoolConnection<Any>>,
    pending: Batch,
    /// Some statement has been sent: the transaction may be open.
    sent: bool,
    /// Served calls' audit rows queued here ([`WriteTx::record_row`]).
    call_rows: Vec<CallRowSlot>,
}

impl WriteTx {
    /// Takes a connection from `pool` and queues the `BEGIN`; nothing is
    /// sent yet.
    pub async fn begin(pool: &AnyPool) -> Result<Self> {
        let conn = pool.acquire().await?;
        let begin = if conn.backend_name() == "SQLite" {
            "BEGIN IMMEDIATE"
        } else {
            "BEGIN"
        };
        let mut pending = Batch::default();
        pending.push(begin, Vec::new());
        Ok(Self {
            conn: Some(conn),
            pending,
            sent: false,
            call_rows: Vec::new(),
        })
    }

    /// Whether the connection is PostgreSQL's (else SQLite's).
    pub fn is_postgres(&self) -> bool {
        self.conn
            .as_deref()
            .is_some_and(|c| c.backend_name() == "PostgreSQL")
    }

    /// Queues a statement (placeholders `$1..$n`) to go with the next read
    /// or the commit.
    pub fn queue(&mut self, sql: impl Into<std::borrow::Cow<'static, str>>, args: Vec<Arg>) {
        self.pending.push(sql, args);
    }

    /// Writes the audit row of the trade-scope call this task serves (outcome
    /// `ok`) in this transaction, when the server left it to be written: the
    /// state change that completes the call and the call's row then commit
    /// together, and the call answers without waiting for the audit writer.
    /// Call it only on the path where the call succeeds; a transaction that
    /// does not commit leaves the row to the server.
    pub fn record_call(&mut self) {
        if let Some(row) = take_call_row() {
            self.record_row(row);
        }
    }

    /// Writes a served call's audit row taken in its own task
    /// ([`take_call_row`]) in this transaction; the call is told once the
    /// transaction commits.
    pub fn record_row(&mut self, row: TakenRow) {
        let (sql, args) = insert_rows(&[&row.entry]);
        self.queue(sql, args);
        self.call_rows.push(row.slot);
    }

    /// The transaction's connection for statements of the caller's own; the
    /// queued ones are sent first, so a read sees them.
    pub async fn conn(&mut self) -> Result<&mut AnyConnection> {
        let conn = self.conn.as_deref_mut().ok_or(sqlx::Error::PoolClosed)?;
        if !self.pending.is_empty() {
            self.sent = true;
            self.pending.flush(conn).await?;
        }
        Ok(conn)
    }

    /// Runs the read `sql` (placeholders `$1..$n`) with `args` after the
    /// queued statements, in one round trip on SQLite; its first row.
    pub async fn fetch_optional(&mut self, sql: &str, args: Vec<Arg>) -> Result<Option<AnyRow>> {
        let conn = self.conn.as_deref_mut().ok_or(sqlx::Error::PoolClosed)?;
        self.sent = true;
        self.pending
            .flush_then_fetch_optional(conn, sql, args)
            .await
    }

    /// [`WriteTx::fetch_optional`] for a read that always answers a row.
    pub async fn fetch_one(&mut self, sql: &str, args: Vec<Arg>) -> Result<AnyRow> {
        self.fetch_optional(sql, args)
            .await?
            .ok_or(sqlx::Error::RowNotFound)
    }

    /// Sends the queued statements and `COMMIT` together. On failure the
    /// transaction is rolled back before the error is returned.
    pub async fn commit(mut self) -> Result<()> {
        self.pending.push("COMMIT", Vec::new());
        let sent = self.conn().await.map(|_| ());
        match sent {
            Ok(()) => {
                self.sent = false;
                for slot in self.call_rows.drain(..) {
                    *audit::lock(&slot) = CallRow::Written;
                }
                Ok(())
            }
            Err(err) => {
                // A failure that already ended the transaction answers "no
                // transaction" here, which is fine.
                let _ = self.roll_back().await;
                Err(err)
            }
        }
    }

    /// Rolls back whatever was sent; queued statements are dropped.
    pub async fn rollback(mut self) -> Result<()> {
        self.roll_back().await
    }

    /// Drops the queue and rolls back whatever was sent, leaving nothing
    /// for [`Drop`] to do.
    async fn roll_back(&mut self) -> Result<()> {
        self.pending = Batch::default();
        if std::mem::take(&mut self.sent)
            && let Some(conn) = self.conn.as_deref_mut()
        {
            conn.execute("ROLLBACK").await?;
        }
        Ok(())
    }
}

impl Drop for WriteTx {
    fn drop(&mut self) {
        if !self.sent {
            return;
        }
        let Some(mut conn) = self.conn.take() else {
            return;
        };
        // The connection goes back to the pool only once rolled back: the
        // task owns it until then, so no other caller can run inside the
        // abandoned transaction.
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                rt.spawn(async move {
                    let _ = conn.execute("ROLLBACK").await;
                });
            }
            Err(_) => conn.close_on_drop(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::Row;
    use sqlx::any::AnyPoolOptions;

    async fn pool(dir: &tempfile::TempDir) -> AnyPool {
        sqlx::any::install_default_drivers();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        let pool = AnyPoolOptions::new()
            .max_connections(1)
            .connect(&url)
            .await
            .expect("open");
        sqlx::query("CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER)")
            .execute(&pool)
            .await
            .expect("create");
        pool
    }

    async fn rows(pool: &AnyPool) -> Vec<(String, i64)> {
        sqlx::query_as("SELECT k, v FROM t ORDER BY k")
            .fetch_all(pool)
            .await
            .expect("rows")
    }

    fn insert(tx: &mut WriteTx, k: &str, v: i64) {
        tx.queue(
            "INSERT INTO t (k, v) VALUES ($1, $2)",
            vec![k.into(), v.into()],
        );
    }

    #[tokio::test]
    async fn reads_see_queued_writes_and_commit_keeps_them() {
        let dir = tempfile::tempdir().expect("tmp");
        let pool = pool(&dir).await;
        let mut tx = WriteTx::begin(&pool).await.expect("begin");
        insert(&mut tx, "a", 1);
        insert(&mut tx, "b", 2);
        let row = tx
            .fetch_one(
                "SELECT SUM(v), COUNT(*) FROM t WHERE v >= $1",
                vec![1.into()],
            )
            .await
            .expect("read");
        assert_eq!(row.try_get::<i64, _>(0).expect("sum"), 3);
        insert(&mut tx, "c", 4);
        tx.commit().await.expect("commit");
        assert_eq!(
            rows(&pool).await,
            vec![("a".into(), 1), ("b".into(), 2), ("c".into(), 4)]
        );
    }

    #[tokio::test]
    async fn a_failed_commit_rolls_everything_back_and_frees_the_connection() {
        let dir = tempfile::tempdir().expect("tmp");
        let pool = pool(&dir).await;
        let mut tx = WriteTx::begin(&pool).await.expect("begin");
        insert(&mut tx, "a", 1);
        tx.fetch_one("SELECT COUNT(*) FROM t", Vec::new())
            .await
            .expect("read");
        insert(&mut tx, "b", 2);
        insert(&mut tx, "a", 9);
        let err = tx.commit().await.expect_err("duplicate key");
        assert!(err.to_string().to_lowercase().contains("unique"), "{err}");
        assert!(rows(&pool).await.is_empty());
        // The one connection is usable again, outside any transaction.
        let mut tx = WriteTx::begin(&pool).await.expect("begin again");
        insert(&mut tx, "z", 26);
        tx.commit().await.expect("commit");
        assert_eq!(rows(&pool).await, vec![("z".into(), 26)]);
    }

    #[tokio::test]
    async fn a_dropped_transaction_is_rolled_back_before_the_next_one() {
        let dir = tempfile::tempdir().expect("tmp");
        let pool = pool(&dir).await;
        {
            let mut tx = WriteTx::begin(&pool).await.expect("begin");
            insert(&mut tx, "lost", 1);
            tx.conn().await.expect("sent");
            // Dropped here: a cancelled call.
        }
        let mut tx = WriteTx::begin(&pool).await.expect("begin after a drop");
        insert(&mut tx, "kept", 2);
        tx.commit().await.expect("commit");
        assert_eq!(rows(&pool).await, vec![("kept".into(), 2)]);
        // A transaction that never sent anything needs no rollback.
        drop(WriteTx::begin(&pool).await.expect("begin"));
        let tx = WriteTx::begin(&pool).await.expect("begin");
        tx.rollback().await.expect("nothing to roll back");
        assert_eq!(rows(&pool).await, vec![("kept".into(), 2)]);
    }

    #[tokio::test]
    async fn the_served_calls_row_commits_with_the_change_or_stays_the_servers() {
        use crate::middleware::audit::{OwnedAuditEntry, with_call_row};
        use crate::store::{Store, core_migrations};
        use std::sync::{Arc, Mutex};
        let store = Store::open("sqlite::memory:").await.expect("open");
        store.migrate(&core_migrations()).await.expect("migrate");
        let slot = |caller: &str| {
            Arc::new(Mutex::new(CallRow::Waiting(OwnedAuditEntry {
                at_ms: 1,
                variant: "t".into(),
                tool: "place".into(),
                caller: caller.into(),
                args_digest: "d".into(),
                outcome: "ok".into(),
                detail: None,
            })))
        };
        let count = |caller: &'static str| {
            let pool = store.pool().clone();
            async move {
                sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM audit_log WHERE caller = $1")
                    .bind(caller)
                    .fetch_one(&pool)
                    .await
                    .expect("count")
            }
        };
        // Committed: the row is in, once, and the server is told.
        let committed = slot("a");
        with_call_row(committed.clone(), async {
            let mut tx = WriteTx::begin(store.pool()).await.expect("begin");
            tx.record_call();
            tx.record_call();
            tx.commit().await.expect("commit");
        })
        .await;
        assert!(matches!(*audit::lock(&committed), CallRow::Written));
        assert_eq!(count("a").await, 1);
        // Rolled back: no row, and the server still writes its own.
        let dropped = slot("b");
        with_call_row(dropped.clone(), async {
            let mut tx = WriteTx::begin(store.pool()).await.expect("begin");
            tx.record_call();
            tx.rollback().await.expect("rollback");
        })
        .await;
        assert!(matches!(*audit::lock(&dropped), CallRow::Queued));
        assert_eq!(count("b").await, 0);
        // Outside a served call there is no row to write.
        let mut tx = WriteTx::begin(store.pool()).await.expect("begin");
        tx.record_call();
        tx.commit().await.expect("commit");
        let all: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log")
            .fetch_one(store.pool())
            .await
            .expect("count");
        assert_eq!(all, 1);
    }
}
