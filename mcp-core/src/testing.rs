//! Test support shared by every crate's tests (feature `testing`): a private
//! PostgreSQL schema per test on the project's test server.
//!
//! Project rule: PostgreSQL tests use `postgres://postgres@127.0.0.1:5432/test`
//! unless `NT_TEST_POSTGRES_URL` names another server; where it cannot be
//! reached the test prints `SKIPPED: ...` and returns, except under
//! `CI=true`, where it panics.
//!
//! Each test gets its own schema (`<prefix><unix secs>_<random>`) and a URL
//! whose connections put it first on the `search_path`, so parallel tests and
//! processes sharing the database never see each other's rows. The schema is
//! dropped by [`PgSchema::drop_schema`]; schemas a crashed run left behind
//! are dropped by a later run with the same prefix once six hours old.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::Connection;

use crate::store::redact;

/// The server PostgreSQL tests use unless `NT_TEST_POSTGRES_URL` is set.
pub const DEFAULT_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// Age after which a leftover test schema is dropped.
const STALE_SECS: u64 = 6 * 3600;

/// The server the PostgreSQL tests use.
pub fn pg_server_url() -> String {
    std::env::var("NT_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_PG_URL.to_string())
}

/// A private schema for one test.
#[derive(Debug)]
pub struct PgSchema {
    /// URL whose connections use the schema (pass it to `Store::open`).
    pub url: String,
    /// Schema name.
    pub schema: String,
    server: String,
}

impl PgSchema {
    /// Drops the schema and everything in it.
    pub async fn drop_schema(self) {
        if let Ok(mut conn) = sqlx::AnyConnection::connect(&self.server).await {
            let _ = sqlx::raw_sql(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema))
                .execute(&mut conn)
                .await;
            let _ = conn.close().await;
        }
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// A fresh schema named `<prefix>...` on the test server, or `None` (after
/// printing `SKIPPED`) when the server cannot be reached; panics under
/// `CI=true` instead of skipping. `prefix` is lower-case letters and `_`
/// (e.g. `nt_fantasy_`); `test` names the test in messages.
pub async fn pg_schema(prefix: &str, test: &str) -> Option<PgSchema> {
    assert!(
        prefix.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
        "schema prefix `{prefix}` must be lower-case letters and _"
    );
    sqlx::any::install_default_drivers();
    let server = pg_server_url();
    let connect = tokio::time::timeout(
        Duration::from_secs(5),
        sqlx::AnyConnection::connect(&server),
    )
    .await;
    let mut conn = match connect {
        Ok(Ok(conn)) => conn,
        Ok(Err(e)) => return unreachable_server(test, &server, &e.to_string()),
        Err(_) => return unreachable_server(test, &server, "no answer in 5 s"),
    };
    let now = now_secs();
    // Leftovers of runs that died before dropping their schema.
    let pattern = format!("{}%", prefix.replace('_', "\\_"));
    let names: Vec<String> = sqlx::query_scalar::<_, String>(
        "SELECT nspname::text FROM pg_namespace WHERE nspname LIKE $1",
    )
    .bind(&pattern)
    .fetch_all(&mut conn)
    .await
    .unwrap_or_default();
    for name in names {
        let born = name
            .strip_prefix(prefix)
            .and_then(|rest| rest.split('_').next())
            .and_then(|secs| secs.parse::<u64>().ok());
        if born.is_some_and(|b| b + STALE_SECS < now) {
            let _ = sqlx::raw_sql(&format!("DROP SCHEMA IF EXISTS {name} CASCADE"))
                .execute(&mut conn)
                .await;
        }
    }
    let schema = format!(
        "{prefix}{now}_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    );
    sqlx::raw_sql(&format!("CREATE SCHEMA {schema}"))
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("CREATE SCHEMA {schema} on {}: {e}", redact(&server)));
    let _ = conn.close().await;
    let sep = if server.contains('?') { '&' } else { '?' };
    Some(PgSchema {
        url: format!("{server}{sep}options=-c%20search_path%3D{schema}"),
        schema,
        server,
    })
}

fn unreachable_server(test: &str, server: &str, why: &str) -> Option<PgSchema> {
    let server = redact(server);
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{test}: CI=true but PostgreSQL is not reachable at {server}: {why}");
    }
    eprintln!("SKIPPED: {test}: PostgreSQL not reachable at {server}: {why}");
    None
}
