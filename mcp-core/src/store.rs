//! Storage: one sqlx pool over SQLite (a file by default, `sqlite::memory:`
//! for throwaway state) or PostgreSQL (`postgres://` URL), with embedded
//! migrations from `migrations/` applied at start.
//!
//! Queries are written once for both backends: `$1`-style placeholders,
//! `BIGINT` for integers and times (milliseconds since the epoch), `TEXT`
//! for decimals and JSON. Where DDL must differ a [`Migration`] carries
//! both texts.

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, ConnectOptions, Executor, Row};

use crate::error::CoreError;

/// Which database a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite (file or memory).
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// One schema change, with its SQLite and PostgreSQL texts (often the same).
#[derive(Debug, Clone)]
pub struct Migration {
    /// Unique, ordered id: `core/0001_jobs_audit`, `fantasy/0001_leagues`.
    pub id: &'static str,
    /// SQL for SQLite (may hold several statements).
    pub sqlite: &'static str,
    /// SQL for PostgreSQL (may hold several statements).
    pub postgres: &'static str,
}

impl Migration {
    /// A migration whose SQL runs unchanged on both backends (one file).
    pub const fn portable(id: &'static str, sql: &'static str) -> Self {
        Self {
            id,
            sqlite: sql,
            postgres: sql,
        }
    }
}

/// The runtime's own migrations.
pub fn core_migrations() -> Vec<Migration> {
    vec![
        Migration {
            id: "core/0001_jobs_audit",
            sqlite: include_str!("../../migrations/core/sqlite/0001_jobs_audit.sql"),
            postgres: include_str!("../../migrations/core/postgres/0001_jobs_audit.sql"),
        },
        Migration {
            id: "core/0002_job_cancel",
            sqlite: include_str!("../../migrations/core/sqlite/0002_job_cancel.sql"),
            postgres: include_str!("../../migrations/core/postgres/0002_job_cancel.sql"),
        },
        Migration {
            id: "core/0003_rate_limit_buckets",
            sqlite: include_str!("../../migrations/core/sqlite/0003_rate_limit_buckets.sql"),
            postgres: include_str!("../../migrations/core/postgres/0003_rate_limit_buckets.sql"),
        },
    ]
}

/// A handle on the database, cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    url_redacted: String,
}

/// The default database: `state.db` under the user's data directory.
pub fn default_sqlite_url() -> String {
    let dir = dirs::data_dir()
        .unwrap_or_else(|| PathBuf::from("."))
        .join("neural-trader-mcp");
    format!("sqlite://{}?mode=rwc", dir.join("state.db").display())
}

impl Store {
    /// Opens the database at `url` (`sqlite://path`, `sqlite::memory:`,
    /// `postgres://...`). Creates the SQLite file and its folder if needed.
    pub async fn open(url: &str) -> Result<Self, CoreError> {
        let (pool, options, backend, url) = Self::prepare(url)?;
        let pool = pool.connect_with(options).await?;
        Ok(Self {
            pool,
            backend,
            url_redacted: redact(&url),
        })
    }

    /// Like [`Store::open`], but connects on first use instead of now: the
    /// server answers `initialize` and `tools/list` while the database opens
    /// and its migrations are checked ([`Store::migrate`] is the first use).
    /// A bad URL still fails here; an unreachable database fails at first use.
    pub fn open_lazy(url: &str) -> Result<Self, CoreError> {
        let (pool, options, backend, url) = Self::prepare(url)?;
        Ok(Self {
            pool: pool.connect_lazy_with(options),
            backend,
            url_redacted: redact(&url),
        })
    }

    /// The pool settings, connect options, backend and full URL for `url`.
    fn prepare(
        url: &str,
    ) -> Result<(AnyPoolOptions, AnyConnectOptions, Backend, String), CoreError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            return Err(CoreError::Config(format!(
                "database URL must start with sqlite: or postgres:// (got `{}`)",
                redact(url)
            )));
        };
        let memory = url.contains(":memory:") || url.contains("mode=memory");
        if backend == Backend::Sqlite
            && !memory
            && let Some(path) = sqlite_path(url)
            && let Some(parent) = path.parent()
            && !parent.as_os_str().is_empty()
        {
            std::fs::create_dir_all(parent)?;
        }
        let url = if backend == Backend::Sqlite && !memory && !url.contains("mode=") {
            let sep = if url.contains('?') { '&' } else { '?' };
            format!("{url}{sep}mode=rwc")
        } else {
            url.to_string()
        };
        let options = AnyConnectOptions::from_str(&url)?.disable_statement_logging();
        let pool = AnyPoolOptions::new().acquire_timeout(Duration::from_secs(10));
        let pool = match backend {
            // One connection: a memory database exists per connection, and a
            // single writer avoids SQLITE_BUSY between our own tasks.
            // Not tested before each acquire: the in-process connection
            // cannot go stale, and the ping is a round trip to its worker
            // thread ahead of every statement or transaction. Never closed
            // for idleness or age: a memory database would vanish with it.
            Backend::Sqlite => pool.max_connections(1).test_before_acquire(false).idle_timeout(None).max_lifetime(None).after_connect(|conn, _| {
                Box::pin(async move {
                    conn.execute("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000; PRAGMA foreign_keys=ON;")
                        .await?;
                    Ok(())
                })
            }),
            Backend::Postgres => pool.max_connections(8),
        };
        Ok((pool, options, backend, url))
    }

    /// The sqlx pool, for queries.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Which backend this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The URL with any password removed, for `server_info` and logs.
    pub fn url_redacted(&self) -> &str {
        &self.url_redacted
    }

    /// Applies the migrations not yet applied, in the order given. Safe when
    /// several processes start at once on one PostgreSQL database (an
    /// advisory lock serialises them).
    pub fn migrate<'a>(
        &'a self,
        migrations: &'a [Migration],
    ) -> futures::future::BoxFuture<'a, Result<Vec<&'static str>, CoreError>> {
        // Boxed so the future is provably `Send` where it is spawned (sqlx's
        // executor bounds defeat the compiler's proof through `async fn`).
        Box::pin(self.migrate_now(migrations))
    }

    async fn migrate_now(&self, migrations: &[Migration]) -> Result<Vec<&'static str>, CoreError> {
        let mut conn = self.pool.acquire().await?;
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_lock(74210001)")
                .execute(&mut *conn)
                .await?;
        }
        let result = apply_migrations(&mut conn, self.backend, migrations).await;
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_unlock(74210001)")
                .execute(&mut *conn)
                .await?;
        }
        Ok(result?)
    }
}

/// Applies on `conn` the migrations it has not applied yet, each in its own
/// transaction with its `nt_migrations` row.
async fn apply_migrations(
    conn: &mut sqlx::AnyConnection,
    backend: Backend,
    migrations: &[Migration],
) -> Result<Vec<&'static str>, sqlx::Error> {
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS nt_migrations (id TEXT PRIMARY KEY, applied_ms BIGINT NOT NULL)",
    )
    .execute(&mut *conn)
    .await?;
    let rows = sqlx::query("SELECT id FROM nt_migrations")
        .fetch_all(&mut *conn)
        .await?;
    let done: Vec<String> = rows.iter().map(|row| row.get::<String, _>(0)).collect();
    let mut applied = Vec::new();
    for migration in migrations {
        if done.iter().any(|id| id == migration.id) {
            continue;
        }
        let sql = match backend {
            Backend::Sqlite => migration.sqlite,
            Backend::Postgres => migration.postgres,
        };
        sqlx::query("BEGIN").execute(&mut *conn).await?;
        let step = async {
            // No arguments: one simple query, several statements allowed.
            (&mut *conn).execute(sql).await?;
            sqlx::query("INSERT INTO nt_migrations (id, applied_ms) VALUES ($1, $2)")
                .bind(migration.id)
                .bind(crate::clock::Clock::now_ms(&crate::clock::SystemClock))
                .execute(&mut *conn)
                .await
        }
        .await;
        match step {
            Ok(_) => {
                sqlx::query("COMMIT").execute(&mut *conn).await?;
            }
            Err(err) => {
                let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
                return Err(err);
            }
        }
        tracing::info!(migration = migration.id, "applied migration");
        applied.push(migration.id);
    }
    Ok(applied)
}

fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next()?;
    if path.is_empty() {
        None
    } else {
        Some(PathBuf::from(path))
    }
}

/// Removes the password from a database URL.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let creds = &url[scheme_end + 3..at];
            match creds.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme_end + 3],
                    &creds[..colon],
                    &url[at..]
                ),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords() {
        assert_eq!(
            redact("postgres://u:secret@host/db"),
            "postgres://u:***@host/db"
        );
        assert_eq!(redact("postgres://u@host/db"), "postgres://u@host/db");
        assert_eq!(redact("sqlite::memory:"), "sqlite::memory:");
    }

    #[test]
    fn finds_sqlite_paths() {
        assert_eq!(
            sqlite_path("sqlite:///tmp/x/state.db?mode=rwc"),
            Some(PathBuf::from("/tmp/x/state.db"))
        );
        assert_eq!(sqlite_path("sqlite:rel.db"), Some(PathBuf::from("rel.db")));
    }

    #[tokio::test]
    async fn migrations_apply_once() {
        let store = Store::open("sqlite::memory:").await.expect("open");
        let first = store.migrate(&core_migrations()).await.expect("migrate");
        assert_eq!(
            first,
            vec![
                "core/0001_jobs_audit",
                "core/0002_job_cancel",
                "core/0003_rate_limit_buckets"
            ]
        );
        let second = store.migrate(&core_migrations()).await.expect("migrate");
        assert!(second.is_empty());
    }

    #[tokio::test]
    async fn creates_the_sqlite_file_and_folder() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("nested/state.db");
        let store = Store::open(&format!("sqlite://{}", path.display()))
            .await
            .expect("open");
        store.migrate(&core_migrations()).await.expect("migrate");
        assert!(path.exists());
    }
}
