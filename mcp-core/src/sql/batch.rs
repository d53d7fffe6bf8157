//! Statements queued inside a transaction and sent together: on SQLite the
//! whole queue goes to the database's worker thread as one multi-statement
//! query (one round trip instead of one per row), on PostgreSQL, whose
//! extended protocol takes one statement per message, statement by
//! statement. A paper order's writes (its audit links, cash, position, fill
//! and order row) cost one round trip this way, and a read can carry the
//! queue ahead of it ([`Batch::flush_then_fetch_optional`]).

use std::borrow::Cow;

use sqlx::AnyConnection;
use sqlx::any::AnyRow;

/// What a batch's statements fail with.
type Result<T> = std::result::Result<T, sqlx::Error>;

/// One bound value of a queued statement.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    /// A 64-bit integer.
    Int(i64),
    /// An integer or NULL.
    OptInt(Option<i64>),
    /// Text.
    Text(String),
    /// Text or NULL.
    OptText(Option<String>),
}

impl From<i64> for Arg {
    fn from(v: i64) -> Self {
        Arg::Int(v)
    }
}

impl From<Option<i64>> for Arg {
    fn from(v: Option<i64>) -> Self {
        Arg::OptInt(v)
    }
}

impl From<String> for Arg {
    fn from(v: String) -> Self {
        Arg::Text(v)
    }
}

impl From<&str> for Arg {
    fn from(v: &str) -> Self {
        Arg::Text(v.to_string())
    }
}

impl From<&String> for Arg {
    fn from(v: &String) -> Self {
        Arg::Text(v.clone())
    }
}

impl From<Option<String>> for Arg {
    fn from(v: Option<String>) -> Self {
        Arg::OptText(v)
    }
}

impl From<Option<&str>> for Arg {
    fn from(v: Option<&str>) -> Self {
        Arg::OptText(v.map(str::to_string))
    }
}

/// A statement with `$1..$n` placeholders and its values.
#[derive(Debug, Clone)]
struct Stmt {
    sql: Cow<'static, str>,
    args: Vec<Arg>,
}

/// Statements waiting to be sent, in order.
#[derive(Debug, Default)]
pub struct Batch {
    stmts: Vec<Stmt>,
}

impl Batch {
    /// Queues `sql` (placeholders `$1..$n`, numbered within the statement)
    /// with its values.
    pub fn push(&mut self, sql: impl Into<Cow<'static, str>>, args: Vec<Arg>) {
        self.stmts.push(Stmt {
            sql: sql.into(),
            args,
        });
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.stmts.is_empty()
    }

    /// Sends every queued statement on `conn` and empties the queue; the
    /// first failing statement's error is returned (the caller's
    /// transaction then rolls the rest back).
    pub async fn flush(&mut self, conn: &mut AnyConnection) -> Result<()> {
        if self.stmts.is_empty() {
            return Ok(());
        }
        let stmts = std::mem::take(&mut self.stmts);
        if conn.backend_name() == "SQLite" && stmts.len() > 1 {
            let (sql, args) = joined(&stmts);
            query_with(&sql, args).execute(&mut *conn).await?;
        } else {
            for s in stmts {
                query_with(&s.sql, s.args).execute(&mut *conn).await?;
            }
        }
        Ok(())
    }

    /// Sends every queued statement and then the read `sql` (placeholders
    /// `$1..$n`) with `args`, answering the read's first row: on SQLite all
    /// of it is one multi-statement query, so the queue rides along with
    /// the read at no extra round trip.
    pub async fn flush_then_fetch_optional(
        &mut self,
        conn: &mut AnyConnection,
        sql: &str,
        args: Vec<Arg>,
    ) -> Result<Option<AnyRow>> {
        if conn.backend_name() == "SQLite" && !self.stmts.is_empty() {
            let mut stmts = std::mem::take(&mut self.stmts);
            stmts.push(Stmt {
                sql: Cow::Owned(sql.to_string()),
                args,
            });
            let (sql, args) = joined(&stmts);
            // Not `fetch_optional`: sqlx's Any driver answers it from the
            // first statement's result alone, which here is a write's.
            let rows = query_with(&sql, args).fetch_all(&mut *conn).await?;
            return Ok(rows.into_iter().next());
        }
        self.flush(conn).await?;
        query_with(sql, args).fetch_optional(&mut *conn).await
    }
}

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// `sql` with `args` bound in order.
fn query_with(sql: &str, args: Vec<Arg>) -> AnyQuery<'_> {
    args.into_iter().fold(sqlx::query(sql), |q, a| match a {
        Arg::Int(v) => q.bind(v),
        Arg::OptInt(v) => q.bind(v),
        Arg::Text(v) => q.bind(v),
        Arg::OptText(v) => q.bind(v),
    })
}

/// One query text for all of `stmts`, each statement's placeholders moved
/// past the ones before it, and the values in order.
fn joined(stmts: &[Stmt]) -> (String, Vec<Arg>) {
    let mut sql = String::new();
    let mut args = Vec::new();
    for s in stmts {
        if !sql.is_empty() {
            sql.push_str(";\n");
        }
        sql.push_str(&renumber(&s.sql, args.len()));
        args.extend(s.args.iter().cloned());
    }
    (sql, args)
}

/// `sql` with every `$n` placeholder raised by `offset`. Our statements
/// hold no `$` inside string literals, so every `$` followed by digits is a
/// placeholder.
fn renumber(sql: &str, offset: usize) -> String {
    if offset == 0 {
        return sql.to_string();
    }
    let mut out = String::with_capacity(sql.len() + 8);
    let mut chars = sql.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        out.push(c);
        if c != '$' {
            continue;
        }
        let mut n = 0usize;
        let mut digits = false;
        while let Some(&(_, d)) = chars.peek() {
            match d.to_digit(10) {
                Some(v) => {
                    n = n * 10 + v as usize;
                    digits = true;
                    chars.next();
                }
                None => break,
            }
        }
        if digits {
            out.push_str(&(n + offset).to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_move_past_earlier_statements() {
        assert_eq!(renumber("VALUES ($1, $2, $10)", 3), "VALUES ($4, $5, $13)");
        assert_eq!(
            renumber("SET a = $1 WHERE id = $2", 0),
            "SET a = $1 WHERE id = $2"
        );
        let mut b = Batch::default();
        b.push(
            "INSERT INTO t (a, b) VALUES ($1, $2)",
            vec![1.into(), "x".into()],
        );
        b.push(
            "UPDATE u SET c = $2 WHERE id = $1",
            vec!["k".into(), Some(7).into()],
        );
        let (sql, args) = joined(&b.stmts);
        assert_eq!(
            sql,
            "INSERT INTO t (a, b) VALUES ($1, $2);\nUPDATE u SET c = $4 WHERE id = $3"
        );
        assert_eq!(
            args,
            vec![
                Arg::Int(1),
                Arg::Text("x".into()),
                Arg::Text("k".into()),
                Arg::OptInt(Some(7))
            ]
        );
    }

    #[tokio::test]
    async fn a_batch_runs_in_order_and_a_failure_names_the_statement_error() {
        use sqlx::Connection;
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect("sqlite::memory:")
            .await
            .unwrap();
        sqlx::query("CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER)")
            .execute(&mut conn)
            .await
            .unwrap();
        let mut b = Batch::default();
        b.push(
            "INSERT INTO t (k, v) VALUES ($1, $2)",
            vec!["a".into(), 1.into()],
        );
        b.push(
            "INSERT INTO t (k, v) VALUES ($1, $2)",
            vec!["b".into(), 2.into()],
        );
        b.push(
            "UPDATE t SET v = v + $2 WHERE k = $1",
            vec!["a".into(), 40.into()],
        );
        b.flush(&mut conn).await.unwrap();
        assert!(b.is_empty());
        let rows: Vec<(String, i64)> = sqlx::query_as("SELECT k, v FROM t ORDER BY k")
            .fetch_all(&mut conn)
            .await
            .unwrap();
        assert_eq!(rows, vec![("a".into(), 41), ("b".into(), 2)]);
        // A duplicate key fails the batch.
        b.push(
            "INSERT INTO t (k, v) VALUES ($1, $2)",
            vec!["c".into(), 3.into()],
        );
        b.push(
            "INSERT INTO t (k, v) VALUES ($1, $2)",
            vec!["a".into(), 9.into()],
        );
        let err = b.flush(&mut conn).await.unwrap_err().to_string();
        assert!(err.to_lowercase().contains("unique"), "{err}");
    }
}
