//! The hash-chained audit trail: every order event, fill and check result
//! is a row whose hash covers its content and the previous row's hash,
//! appended in the same transaction as the state change. Editing or
//! deleting a row breaks the chain, and [`verify`] says where.
//!
//! Appending reads the chain's head and inserts the next link, so two
//! transactions must never do it at once. On SQLite the store's single
//! connection already serialises them; on PostgreSQL [`lock_chain`] takes a
//! transaction-scoped advisory lock (one per schema) that every appender
//! holds until it commits or rolls back. Writers that read state they are
//! about to change (the paper broker's cash and positions) open their
//! transaction with [`begin`], which takes the same lock first, so they are
//! serialised as a whole: no lost update, and no deadlock between a row
//! lock and the chain lock.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::{Any, AnyConnection, AnyPool, Row, Transaction};

use crate::error::Result;
use nt_mcp_core::sql::{Arg, Batch, WriteTx};

/// The hash before the first row.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// An event to append.
#[derive(Debug, Clone)]
pub struct AuditEvent<'a> {
    /// When, ms since the epoch.
    pub at_ms: i64,
    /// Venue.
    pub venue: &'a str,
    /// Account.
    pub account_id: &'a str,
    /// `order_accepted`, `fill`, `order_cancelled`, `check_failed`, ...
    pub kind: &'a str,
    /// Order id, when the event concerns an order.
    pub order_id: Option<&'a str>,
    /// Client order id, when known.
    pub client_order_id: Option<&'a str>,
    /// Details as JSON.
    pub payload: &'a serde_json::Value,
}

/// One stored row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AuditRow {
    /// Position in the chain, from 1.
    pub seq: i64,
    /// When.
    pub at_ms: i64,
    /// Venue.
    pub venue: String,
    /// Account.
    pub account_id: String,
    /// Event kind.
    pub kind: String,
    /// Order id.
    pub order_id: Option<String>,
    /// Client order id.
    pub client_order_id: Option<String>,
    /// Details (JSON text).
    pub payload: String,
    /// Hash of the previous row.
    pub prev_hash: String,
    /// This row's hash.
    pub hash: String,
}

/// The hash of a row's content chained to `prev_hash`.
#[allow(clippy::too_many_arguments)]
pub fn row_hash(
    prev_hash: &str,
    seq: i64,
    at_ms: i64,
    venue: &str,
    account_id: &str,
    kind: &str,
    order_id: Option<&str>,
    client_order_id: Option<&str>,
    payload: &str,
) -> String {
    let mut h = Sha256::new();
    for part in [
        prev_hash,
        &seq.to_string(),
        &at_ms.to_string(),
        venue,
        account_id,
        kind,
        order_id.unwrap_or("\u{0}"),
        client_order_id.unwrap_or("\u{0}"),
        payload,
    ] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    hex::encode(h.finalize())
}

/// The first key of the chain's advisory lock on PostgreSQL (the second is
/// the hash of the current schema, so deployments in other schemas of the
/// same database do not wait on each other). Any fixed number would do:
/// this one is "ntau" in ASCII.
pub const CHAIN_LOCK_KEY: i32 = 0x6e74_6175;

/// Takes the chain's advisory lock for the rest of the transaction
/// (PostgreSQL); the key is [`CHAIN_LOCK_KEY`].
const PG_LOCK_SQL: &str =
    "SELECT pg_advisory_xact_lock(1853120885, hashtext(coalesce(current_schema(), '')))";

/// Serialises appends to the chain for the rest of the transaction on
/// `conn`: on PostgreSQL, `pg_advisory_xact_lock`, released at commit or
/// rollback (taking it again in the same transaction is a no-op wait); on
/// SQLite nothing, as its single connection allows one transaction at a
/// time.
pub async fn lock_chain(conn: &mut AnyConnection) -> Result<()> {
    if conn.backend_name() == "PostgreSQL" {
        sqlx::query(PG_LOCK_SQL).execute(&mut *conn).await?;
    }
    Ok(())
}

/// Begins a transaction that holds the chain's lock from its first
/// statement: for writers that read state before appending to the chain.
pub async fn begin(pool: &AnyPool) -> Result<Transaction<'static, Any>> {
    let mut tx = pool.begin().await?;
    lock_chain(&mut tx).await?;
    Ok(tx)
}

/// The chain's head: the last row's sequence number and hash.
#[derive(Debug, Clone)]
pub struct ChainHead {
    seq: i64,
    hash: String,
}

/// Reads the chain's head on `conn`, taking the chain's lock first (see
/// [`lock_chain`]).
pub async fn head(conn: &mut AnyConnection) -> Result<ChainHead> {
    lock_chain(conn).await?;
    let last = sqlx::query("SELECT seq, hash FROM broker_audit ORDER BY seq DESC LIMIT 1")
        .fetch_optional(&mut *conn)
        .await?;
    Ok(match last {
        Some(row) => ChainHead {
            seq: row.try_get::<i64, _>(0)?,
            hash: row.try_get::<String, _>(1)?,
        },
        None => ChainHead {
            seq: 0,
            hash: GENESIS.to_string(),
        },
    })
}

/// The insert of `ev` as the link after `head`, with its values; moves
/// `head` to it. The caller holds the chain's lock (it read `head` in this
/// transaction).
fn link_stmt(head: &mut ChainHead, ev: &AuditEvent<'_>) -> (String, Vec<Arg>) {
    let seq = head.seq + 1;
    let payload = ev.payload.to_string();
    let hash = row_hash(
        &head.hash,
        seq,
        ev.at_ms,
        ev.venue,
        ev.account_id,
        ev.kind,
        ev.order_id,
        ev.client_order_id,
        &payload,
    );
    let args = vec![
        seq.into(),
        ev.at_ms.into(),
        ev.venue.into(),
        ev.account_id.into(),
        ev.kind.into(),
        ev.order_id.into(),
        ev.client_order_id.into(),
        payload.into(),
        (&head.hash).into(),
        (&hash).into(),
    ];
    head.seq = seq;
    head.hash.clone_from(&hash);
    (hash, args)
}

const LINK_SQL: &str = "INSERT INTO broker_audit (seq, at_ms, venue, account_id, kind, order_id, client_order_id, payload, prev_hash, hash) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";

/// Inserts `ev` as the link after `head` and moves `head` to it; returns
/// its hash. The caller holds the chain's lock (it read `head` in this
/// transaction).
pub async fn link(
    conn: &mut AnyConnection,
    head: &mut ChainHead,
    ev: &AuditEvent<'_>,
) -> Result<String> {
    let (hash, args) = link_stmt(head, ev);
    let mut batch = Batch::default();
    batch.push(LINK_SQL, args);
    batch.flush(conn).await?;
    Ok(hash)
}

/// Appends one event on `conn` (a transaction's connection) and returns its
/// hash. Takes the chain's lock first (see [`lock_chain`]), so concurrent
/// appenders wait for each other instead of both linking to the same head.
pub async fn append(conn: &mut AnyConnection, ev: &AuditEvent<'_>) -> Result<String> {
    let mut h = head(conn).await?;
    link(conn, &mut h, ev).await
}

/// A transaction holding the chain's lock that reads the chain's head once
/// and appends every further row after it: one state change with several
/// audit rows (an order, its checks and its fill) costs one head read. The
/// audit links and the state change's writes ([`ChainTx::queue`]) wait in a
/// batch and go to the database together before the next read
/// ([`ChainTx::conn`], [`ChainTx::fetch_one`]) or with the `COMMIT`
/// ([`ChainTx::commit`]); the `BEGIN` and the chain's lock go with the first
/// read ([`WriteTx`]).
pub struct ChainTx {
    tx: WriteTx,
    head: Option<ChainHead>,
}

impl ChainTx {
    /// Begins the transaction with the chain's lock (see [`begin`]); both
    /// are sent with the first statement.
    pub async fn begin(pool: &AnyPool) -> Result<Self> {
        let mut tx = WriteTx::begin(pool).await?;
        if tx.is_postgres() {
            tx.queue(PG_LOCK_SQL, Vec::new());
        }
        Ok(Self { tx, head: None })
    }

    /// The transaction's connection, for the state change's reads and its
    /// own statements; the queued writes are sent first, so a read sees them.
    pub async fn conn(&mut self) -> Result<&mut AnyConnection> {
        Ok(self.tx.conn().await?)
    }

    /// Runs the read `sql` with `args` after the queued writes (one round
    /// trip on SQLite); its row.
    pub async fn fetch_one(&mut self, sql: &str, args: Vec<Arg>) -> Result<sqlx::any::AnyRow> {
        Ok(self.tx.fetch_one(sql, args).await?)
    }

    /// Queues a write (placeholders `$1..$n`) to go with the next read or the
    /// commit.
    pub fn queue(&mut self, sql: impl Into<std::borrow::Cow<'static, str>>, args: Vec<Arg>) {
        self.tx.queue(sql, args);
    }

    /// Writes the served call's own audit row in this transaction (see
    /// [`WriteTx::record_call`]): for the commit that completes a call.
    pub fn record_call(&mut self) {
        self.tx.record_call();
    }

    /// Writes a call's audit row taken in the call's own task (see
    /// [`WriteTx::record_row`]): for a group commit led by another task.
    pub fn record_row(&mut self, row: nt_mcp_core::middleware::audit::TakenRow) {
        self.tx.record_row(row);
    }

    /// Sets the chain's head when the caller read it along with its own state
    /// (in this transaction, under the chain's lock), saving a read.
    /// `last` is the last row's sequence number and hash, `None` for an
    /// empty chain.
    pub fn set_head(&mut self, last: Option<(i64, String)>) {
        self.head = Some(match last {
            Some((seq, hash)) => ChainHead { seq, hash },
            None => ChainHead {
                seq: 0,
                hash: GENESIS.to_string(),
            },
        });
    }

    /// The SQL that reads the chain head's sequence number and hash as two
    /// scalar subqueries, for a caller's combined read ([`ChainTx::set_head`]).
    pub const HEAD_COLUMNS: &'static str = "(SELECT seq FROM broker_audit ORDER BY seq DESC LIMIT 1), \
         (SELECT hash FROM broker_audit ORDER BY seq DESC LIMIT 1)";

    /// Appends `ev` to the chain in this transaction; returns its hash. The
    /// row is queued with the other writes.
    pub async fn append(&mut self, ev: &AuditEvent<'_>) -> Result<String> {
        let head = match &mut self.head {
            Some(h) => h,
            // Queued writes never touch the chain before its head is known.
            None => self.head.insert(head(self.tx.conn().await?).await?),
        };
        let (hash, args) = link_stmt(head, ev);
        self.tx.queue(LINK_SQL, args);
        Ok(hash)
    }

    /// Sends the queued writes with the `COMMIT`: the state change and its
    /// audit rows are stored together or not at all.
    pub async fn commit(self) -> Result<()> {
        Ok(self.tx.commit().await?)
    }
}

/// What [`verify`] found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct VerifyReport {
    /// Rows checked.
    pub rows: i64,
    /// Whether the whole chain is intact.
    pub intact: bool,
    /// Hash of the last row (the chain's head).
    pub head_hash: String,
    /// The first row that fails, if any.
    pub first_bad_seq: Option<i64>,
    /// Why it fails.
    pub problem: Option<String>,
}

fn decode(row: &sqlx::any::AnyRow) -> Result<AuditRow> {
    Ok(AuditRow {
        seq: row.try_get(0)?,
        at_ms: row.try_get(1)?,
        venue: row.try_get(2)?,
        account_id: row.try_get(3)?,
        kind: row.try_get(4)?,
        order_id: row.try_get(5)?,
        client_order_id: row.try_get(6)?,
        payload: row.try_get(7)?,
        prev_hash: row.try_get(8)?,
        hash: row.try_get(9)?,
    })
}

const COLUMNS: &str =
    "seq, at_ms, venue, account_id, kind, order_id, client_order_id, payload, prev_hash, hash";

/// Walks the chain from the first row, recomputing every hash. Reads in pages
/// so a long chain does not load at once.
pub async fn verify(pool: &AnyPool) -> Result<VerifyReport> {
    let mut expected_prev = GENESIS.to_string();
    let mut expected_seq = 1i64;
    let mut rows = 0i64;
    loop {
        let page = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM broker_audit WHERE seq >= $1 ORDER BY seq LIMIT 1000"
        ))
        .bind(expected_seq)
        .fetch_all(pool)
        .await?;
        if page.is_empty() {
            break;
        }
        for raw in &page {
            let row = decode(raw)?;
            rows += 1;
            let problem = if row.seq != expected_seq {
                Some(format!(
                    "row {expected_seq} is missing (next row is {})",
                    row.seq
                ))
            } else if row.prev_hash != expected_prev {
                Some("prev_hash does not match the previous row's hash".to_string())
            } else {
                let recomputed = row_hash(
                    &row.prev_hash,
                    row.seq,
                    row.at_ms,
                    &row.venue,
                    &row.account_id,
                    &row.kind,
                    row.order_id.as_deref(),
                    row.client_order_id.as_deref(),
                    &row.payload,
                );
                (recomputed != row.hash)
                    .then(|| "content does not match its hash (the row was edited)".to_string())
            };
            if let Some(problem) = problem {
                return Ok(VerifyReport {
                    rows,
                    intact: false,
                    head_hash: expected_prev,
                    first_bad_seq: Some(expected_seq),
                    problem: Some(problem),
                });
            }
            expected_prev = row.hash;
            expected_seq += 1;
        }
    }
    Ok(VerifyReport {
        rows,
        intact: true,
        head_hash: expected_prev,
        first_bad_seq: None,
        problem: None,
    })
}

/// Rows from `from_seq` on, at most `limit`; only `account`'s rows when
/// given (a per-caller account sees its own trail, not its neighbours').
pub async fn export(
    pool: &AnyPool,
    from_seq: i64,
    limit: i64,
    account: Option<&str>,
) -> Result<Vec<AuditRow>> {
    let rows = match account {
        None => {
            sqlx::query(&format!(
                "SELECT {COLUMNS} FROM broker_audit WHERE seq >= $1 ORDER BY seq LIMIT $2"
            ))
            .bind(from_seq)
            .bind(limit)
            .fetch_all(pool)
            .await?
        }
        Some(account) => {
            sqlx::query(&format!(
                "SELECT {COLUMNS} FROM broker_audit WHERE seq >= $1 AND account_id = $3 ORDER BY seq LIMIT $2"
            ))
            .bind(from_seq)
            .bind(limit)
            .bind(account)
            .fetch_all(pool)
            .await?
        }
    };
    rows.iter().map(decode).collect()
}

/// Rows as CSV (header first), fields quoted where needed.
pub fn to_csv(rows: &[AuditRow]) -> String {
    let mut out = String::from(
        "seq,at_ms,venue,account_id,kind,order_id,client_order_id,payload,prev_hash,hash\n",
    );
    for r in rows {
        let fields = [
            r.seq.to_string(),
            r.at_ms.to_string(),
            r.venue.clone(),
            r.account_id.clone(),
            r.kind.clone(),
            r.order_id.clone().unwrap_or_default(),
            r.client_order_id.clone().unwrap_or_default(),
            r.payload.clone(),
            r.prev_hash.clone(),
            r.hash.clone(),
        ];
        let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        out.push_str(&line.join(","));
        out.push('\n');
    }
    out
}

/// Quotes a CSV field when it holds a comma, quote or newline.
pub fn csv_field(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lock_statement_takes_the_chain_key() {
        assert!(PG_LOCK_SQL.contains(&format!("({CHAIN_LOCK_KEY}, ")));
    }
}
