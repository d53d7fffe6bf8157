//! Background jobs: a tool call that outlives its deadline in a variant with
//! `on_deadline = "job"` keeps running here; the agent polls `job_status`,
//! lists with `job_list` and stops it with `job_cancel`. Jobs are recorded in
//! the `jobs` table so their outcome survives the session that started them.
//!
//! Several server processes may share the database (replicas behind one
//! address): any of them shows, awaits and cancels any job. A cancel from a
//! process that does not run the job is recorded in the job's row
//! (`cancel_requested_ms`); the process running it looks for that every
//! 250 ms and cancels the job, then records its end as usual.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use sqlx::Row;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::bundle::ToolOutput;
use crate::clock::Clock;
use crate::error::{ToolError, ToolErrorKind};
use crate::middleware::audit::{self, AuditEntry};
use crate::progress::{Progress, ProgressSnapshot};
use crate::store::Store;

/// How long a cancelled job gets to stop on its own before it is aborted.
const CANCEL_GRACE: Duration = Duration::from_secs(2);
/// How often a running job records that it is alive.
const HEARTBEAT: Duration = Duration::from_secs(10);
/// A job of another process silent this long is reported `lost`.
const LOST_AFTER_MS: i64 = 60_000;
/// How often a running job looks for a cancel request from another process.
const CANCEL_POLL: Duration = Duration::from_millis(250);
/// How often `wait` looks at the row of a job another process runs.
const WAIT_POLL: Duration = Duration::from_millis(50);

/// A job as `job_status` reports it.
#[derive(Debug, Clone, Serialize)]
pub struct JobView {
    /// Job id.
    pub id: String,
    /// Tool that runs in it (served name).
    pub tool: String,
    /// Who started it.
    pub caller: String,
    /// `running`, `succeeded`, `failed`, `cancelled`; `running_elsewhere` (another
    /// server process runs it) or `lost` (that process stopped without an end).
    pub status: String,
    /// Latest progress while running, final progress after.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub progress: Option<ProgressSnapshot>,
    /// The tool's answer once it succeeded: `{text, structured}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<serde_json::Value>,
    /// The tool's error once it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<serde_json::Value>,
    /// Started, ms since the epoch.
    pub created_ms: i64,
    /// Last change, ms since the epoch.
    pub updated_ms: i64,
}

struct Running {
    cancel: CancellationToken,
    progress: Progress,
}

/// Owns the running jobs of this process and the `jobs` table.
pub struct JobManager {
    store: Store,
    clock: Arc<dyn Clock>,
    variant: String,
    instance: String,
    running: Mutex<HashMap<String, Running>>,
}

/// What a new job is.
pub struct NewJob {
    /// Served tool name.
    pub tool: String,
    /// Caller id.
    pub caller: String,
    /// Digest of the arguments, for the audit row written when it ends.
    pub args_digest: String,
    /// The running tool.
    pub handle: JoinHandle<Result<ToolOutput, ToolError>>,
    /// Its cancellation token.
    pub cancel: CancellationToken,
    /// Its progress reporter.
    pub progress: Progress,
}

impl JobManager {
    /// A manager for `variant`, recording in `store`.
    pub fn new(store: Store, clock: Arc<dyn Clock>, variant: &str) -> Self {
        Self {
            store,
            clock,
            variant: variant.to_string(),
            instance: uuid::Uuid::new_v4().to_string(),
            running: Mutex::new(HashMap::new()),
        }
    }

    fn running(&self) -> std::sync::MutexGuard<'_, HashMap<String, Running>> {
        match self.running.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Takes over a running tool call as a job and returns its id. A watcher
    /// records the outcome when the tool ends.
    pub async fn adopt(self: &Arc<Self>, job: NewJob) -> Result<String, ToolError> {
        let id = format!("job_{}", uuid::Uuid::new_v4().simple());
        let now = self.clock.now_ms();
        sqlx::query(
            "INSERT INTO jobs (id, variant, tool, caller, instance, status, created_ms, updated_ms) \
             VALUES ($1, $2, $3, $4, $5, 'running', $6, $6)",
        )
        .bind(&id)
        .bind(&self.variant)
        .bind(&job.tool)
        .bind(&job.caller)
        .bind(&self.instance)
        .bind(now)
        .execute(self.store.pool())
        .await?;
        self.running().insert(
            id.clone(),
            Running {
                cancel: job.cancel.clone(),
                progress: job.progress.clone(),
            },
        );
        let manager = Arc::clone(self);
        let job_id = id.clone();
        tokio::spawn(async move { manager.watch(job_id, job).await });
        Ok(id)
    }

    async fn watch(self: Arc<Self>, id: String, job: NewJob) {
        let NewJob {
            tool,
            caller,
            args_digest,
            mut handle,
            cancel,
            progress,
        } = job;
        let mut heartbeat = tokio::time::interval(HEARTBEAT);
        heartbeat.tick().await;
        let mut cancel_poll = tokio::time::interval(CANCEL_POLL);
        cancel_poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        cancel_poll.tick().await;
        let outcome = loop {
            tokio::select! {
                joined = &mut handle => break joined,
                () = cancel.cancelled() => {
                    break match tokio::time::timeout(CANCEL_GRACE, &mut handle).await {
                        Ok(joined) => joined,
                        Err(_) => {
                            handle.abort();
                            Ok(Err(ToolError::cancelled()))
                        }
                    };
                }
                _ = heartbeat.tick() => {
                    // Tells other processes sharing the database this job is alive.
                    let beat = sqlx::query("UPDATE jobs SET updated_ms = $1 WHERE id = $2")
                        .bind(self.clock.now_ms())
                        .bind(&id)
                        .execute(self.store.pool())
                        .await;
                    if let Err(err) = beat {
                        tracing::warn!(job = %id, error = %err, "job heartbeat not recorded");
                    }
                }
                _ = cancel_poll.tick() => {
                    // Another process may have asked for this job to stop.
                    match self.cancel_requested(&id).await {
                        Ok(true) => cancel.cancel(),
                        Ok(false) => {}
                        Err(err) => {
                            tracing::warn!(job = %id, error = %err, "could not look for a cancel request");
                        }
                    }
                }
            }
        };
        let (status, result, error) = match outcome {
            Ok(Ok(output)) => (
                "succeeded",
                Some(
                    serde_json::json!({"text": output.text, "structured": output.structured, "images": output.images}),
                ),
                None,
            ),
            Ok(Err(err)) if err.kind == ToolErrorKind::Cancelled => {
                ("cancelled", None, serde_json::to_value(&err).ok())
            }
            Ok(Err(err)) => ("failed", None, serde_json::to_value(&err).ok()),
            Err(join) => (
                "failed",
                None,
                serde_json::to_value(ToolError::internal(format!("the tool crashed: {join}"))).ok(),
            ),
        };
        let snapshot = progress.snapshot();
        let now = self.clock.now_ms();
        let write = async {
            let mut tx = self.store.pool().begin().await?;
            sqlx::query(
                "UPDATE jobs SET status = $1, progress = $2, total = $3, message = $4, result = $5, \
                 error = $6, updated_ms = $7 WHERE id = $8",
            )
            .bind(status)
            .bind(snapshot.progress)
            .bind(snapshot.total)
            .bind(snapshot.message.clone())
            .bind(result.as_ref().map(|v| v.to_string()))
            .bind(error.as_ref().map(|v| v.to_string()))
            .bind(now)
            .bind(&id)
            .execute(&mut *tx)
            .await?;
            let outcome = format!("job {id} {status}");
            audit::append(
                &mut *tx,
                &AuditEntry {
                    at_ms: now,
                    variant: &self.variant,
                    tool: &tool,
                    caller: &caller,
                    args_digest: &args_digest,
                    outcome: &outcome,
                    detail: None,
                },
            )
            .await?;
            tx.commit().await
        };
        if let Err(err) = write.await {
            tracing::error!(job = %id, error = %err, "could not record the end of a job");
        }
        self.running().remove(&id);
    }

    /// The job `id`, if `caller` may see it (its own, or any with `admin`).
    pub async fn status(&self, id: &str, caller: &str, admin: bool) -> Result<JobView, ToolError> {
        let row = self.row(id).await?.ok_or_else(|| not_found(id))?;
        let view = self.view(&row)?;
        if view.caller != caller && !admin {
            return Err(not_found(id));
        }
        Ok(view)
    }

    /// Asks job `id` to stop. A job another server process runs gets a cancel
    /// request in its row, which that process acts on within a moment; a job
    /// whose process stopped (`lost`) cannot be reached.
    pub async fn cancel(&self, id: &str, caller: &str, admin: bool) -> Result<JobView, ToolError> {
        let view = self.status(id, caller, admin).await?;
        if view.status == "running" {
            if let Some(token) = self.running().get(id).map(|r| r.cancel.clone()) {
                token.cancel();
            }
            return Ok(view);
        }
        if view.status == "running_elsewhere" {
            sqlx::query(
                "UPDATE jobs SET cancel_requested_ms = $1 \
                 WHERE id = $2 AND status = 'running' AND cancel_requested_ms IS NULL",
            )
            .bind(self.clock.now_ms())
            .bind(id)
            .execute(self.store.pool())
            .await?;
            return Ok(view);
        }
        Err(ToolError::refused(format!(
            "job {id} is already {}; only running jobs can be cancelled",
            view.status
        )))
    }

    /// Whether a cancel request was recorded for job `id`.
    async fn cancel_requested(&self, id: &str) -> Result<bool, sqlx::Error> {
        let requested: Option<Option<i64>> =
            sqlx::query_scalar("SELECT cancel_requested_ms FROM jobs WHERE id = $1")
                .bind(id)
                .fetch_optional(self.store.pool())
                .await?;
        Ok(requested.flatten().is_some())
    }

    /// The caller's most recent jobs (all callers' with `admin`), newest first.
    pub async fn list(
        &self,
        caller: &str,
        admin: bool,
        status: Option<&str>,
        limit: i64,
    ) -> Result<Vec<JobView>, ToolError> {
        let rows = sqlx::query(
            "SELECT id, tool, caller, instance, status, progress, total, message, result, error, \
             created_ms, updated_ms FROM jobs \
             WHERE ($1 = 1 OR caller = $2) AND ($3 = '' OR status = $3) \
             ORDER BY created_ms DESC LIMIT $4",
        )
        .bind(i64::from(admin))
        .bind(caller)
        .bind(status.unwrap_or(""))
        .bind(limit)
        .fetch_all(self.store.pool())
        .await?;
        rows.iter().map(|row| self.view(row)).collect()
    }

    /// Waits until job `id` is no longer running or `timeout` passes. A job of
    /// another server process is followed through its row until that process
    /// records its end (or stops beating: `lost`).
    pub async fn wait(&self, id: &str, timeout: Duration) {
        let deadline = tokio::time::Instant::now() + timeout;
        while tokio::time::Instant::now() < deadline {
            if self.running().contains_key(id) {
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
            let status = match self.row(id).await {
                Ok(Some(row)) => self.view(&row).map(|view| view.status),
                // No such job, or the row is unreadable: nothing to wait for.
                Ok(None) => return,
                Err(err) => Err(err.into()),
            };
            match status.as_deref() {
                // Ours and ending right now, or another process's and running.
                Ok("finishing" | "running_elsewhere") => {}
                Ok(_) => return,
                Err(err) => {
                    tracing::warn!(job = %id, error = %err.message, "could not follow a job");
                }
            }
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            tokio::time::sleep(WAIT_POLL.min(left)).await;
        }
    }

    async fn row(&self, id: &str) -> Result<Option<sqlx::any::AnyRow>, sqlx::Error> {
        sqlx::query(
            "SELECT id, tool, caller, instance, status, progress, total, message, result, error, \
             created_ms, updated_ms FROM jobs WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(self.store.pool())
        .await
    }

    fn view(&self, row: &sqlx::any::AnyRow) -> Result<JobView, ToolError> {
        let id: String = row.try_get("id")?;
        let instance: String = row.try_get("instance")?;
        let mut status: String = row.try_get("status")?;
        let live = self.running().get(&id).map(|r| r.progress.snapshot());
        let progress = match &live {
            Some(snapshot) => Some(snapshot.clone()),
            None => row
                .try_get::<Option<f64>, _>("progress")?
                .map(|progress| ProgressSnapshot {
                    progress,
                    total: row.try_get::<Option<f64>, _>("total").ok().flatten(),
                    message: row.try_get::<Option<String>, _>("message").ok().flatten(),
                }),
        };
        if status == "running" && live.is_none() && instance == self.instance {
            // Ours, not in memory: the watcher is writing its end right now.
            status = "finishing".into();
        } else if status == "running" && instance != self.instance {
            let updated: i64 = row.try_get("updated_ms")?;
            status = if self.clock.now_ms() - updated > LOST_AFTER_MS {
                // Its server stopped without recording an end.
                "lost".into()
            } else {
                "running_elsewhere".into()
            };
        }
        let parse = |col: &str| -> Option<serde_json::Value> {
            row.try_get::<Option<String>, _>(col)
                .ok()
                .flatten()
                .and_then(|text| serde_json::from_str(&text).ok())
        };
        Ok(JobView {
            tool: row.try_get("tool")?,
            caller: row.try_get("caller")?,
            status,
            progress,
            result: parse("result"),
            error: parse("error"),
            created_ms: row.try_get("created_ms")?,
            updated_ms: row.try_get("updated_ms")?,
            id,
        })
    }
}

fn not_found(id: &str) -> ToolError {
    ToolError::not_found(format!("no job {id}"))
        .with_field("job_id")
        .with_hint("job_list shows your jobs")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::store::core_migrations;

    async fn manager(clock: Arc<ManualClock>) -> Arc<JobManager> {
        let store = Store::open("sqlite::memory:").await.expect("open");
        store.migrate(&core_migrations()).await.expect("migrate");
        Arc::new(JobManager::new(store, clock, "test"))
    }

    #[tokio::test]
    async fn jobs_of_a_silent_process_are_reported_lost() {
        let clock = Arc::new(ManualClock::new(1_000_000));
        let jobs = manager(clock.clone()).await;
        sqlx::query(
            "INSERT INTO jobs (id, variant, tool, caller, instance, status, created_ms, updated_ms) \
             VALUES ('job_x', 'test', 'slow', 'me', 'another-process', 'running', $1, $1)",
        )
        .bind(1_000_000_i64)
        .execute(jobs.store.pool())
        .await
        .expect("insert");
        assert_eq!(
            jobs.status("job_x", "me", false)
                .await
                .expect("status")
                .status,
            "running_elsewhere"
        );
        clock.advance(LOST_AFTER_MS + 1);
        assert_eq!(
            jobs.status("job_x", "me", false)
                .await
                .expect("status")
                .status,
            "lost"
        );
        // Other callers cannot see it; admins can.
        assert!(jobs.status("job_x", "someone", false).await.is_err());
        assert!(jobs.status("job_x", "someone", true).await.is_ok());
        let cancel = jobs.cancel("job_x", "me", false).await;
        assert!(
            cancel.is_err(),
            "a job of another process cannot be cancelled here"
        );
    }

    #[tokio::test]
    async fn another_process_on_the_same_sqlite_file_waits_for_and_cancels_a_job() {
        let clock = Arc::new(ManualClock::new(5));
        let owner = manager(clock.clone()).await;
        let other = Arc::new(JobManager::new(owner.store.clone(), clock, "test"));
        let cancel = CancellationToken::new();
        let token = cancel.clone();
        let handle = tokio::spawn(async move {
            token.cancelled().await;
            Err(ToolError::cancelled())
        });
        let id = owner
            .adopt(NewJob {
                tool: "slow".into(),
                caller: "me".into(),
                args_digest: "d".into(),
                handle,
                cancel,
                progress: Progress::recording(),
            })
            .await
            .expect("adopt");
        let asked = other.cancel(&id, "me", false).await.expect("cancel");
        assert_eq!(asked.status, "running_elsewhere");
        other.wait(&id, Duration::from_secs(3)).await;
        let view = other.status(&id, "me", false).await.expect("status");
        assert_eq!(view.status, "cancelled");
    }

    #[tokio::test]
    async fn an_adopted_job_records_its_result_and_audit_row() {
        let clock = Arc::new(ManualClock::new(5));
        let jobs = manager(clock).await;
        let progress = Progress::recording();
        let reporter = progress.clone();
        let handle = tokio::spawn(async move {
            reporter.report(3.0, Some(3.0), "done").await;
            Ok(ToolOutput::new("all done", serde_json::json!({"n": 3})))
        });
        let id = jobs
            .adopt(NewJob {
                tool: "slow".into(),
                caller: "me".into(),
                args_digest: "d".into(),
                handle,
                cancel: CancellationToken::new(),
                progress,
            })
            .await
            .expect("adopt");
        jobs.wait(&id, Duration::from_secs(5)).await;
        let view = jobs.status(&id, "me", false).await.expect("status");
        assert_eq!(view.status, "succeeded");
        assert_eq!(view.result.expect("result")["structured"]["n"], 3);
        assert_eq!(view.progress.expect("progress").progress, 3.0);
        let outcome: String = sqlx::query("SELECT outcome FROM audit_log WHERE tool = 'slow'")
            .fetch_one(jobs.store.pool())
            .await
            .expect("audit row")
            .get(0);
        assert_eq!(outcome, format!("job {id} succeeded"));
    }
}
