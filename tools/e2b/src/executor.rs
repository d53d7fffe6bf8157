//! The process executor: every run goes through one queue with a
//! concurrency limit (a semaphore), gets a per-run timeout, and leaves a
//! run record (command, duration, exit code, output digest) in
//! `e2b_runs` whether it exits, times out, is killed or fails to start.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use nt_mcp_core::Store;
use tokio::sync::Semaphore;

use crate::error::E2bError;
use crate::local::now_ms;
use crate::provider::{OutputSink, RunOutput, RunRequest, SandboxProvider};
use crate::store;

/// Runs processes through a provider, at most `limit` at a time.
pub struct Executor {
    permits: Arc<Semaphore>,
    limit: usize,
    max_timeout: Duration,
    in_flight: AtomicUsize,
    high_water: AtomicUsize,
    instance: String,
}

/// A run's output and its record id.
#[derive(Debug, Clone)]
pub struct Finished {
    /// Run record id.
    pub run_id: String,
    /// Milliseconds spent waiting for a slot.
    pub queued_ms: u64,
    /// The output.
    pub output: RunOutput,
}

struct Slot<'a>(&'a AtomicUsize);

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Executor {
    /// An executor running at most `limit` processes at once, none longer
    /// than `max_timeout`; `instance` is written on its run records.
    pub fn new(limit: usize, max_timeout: Duration, instance: impl Into<String>) -> Self {
        let limit = limit.max(1);
        Self {
            permits: Arc::new(Semaphore::new(limit)),
            limit,
            max_timeout,
            in_flight: AtomicUsize::new(0),
            high_water: AtomicUsize::new(0),
            instance: instance.into(),
        }
    }

    /// The concurrency limit.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// The longest timeout a run may ask for.
    pub fn max_timeout(&self) -> Duration {
        self.max_timeout
    }

    /// Most runs ever in flight at once.
    pub fn high_water(&self) -> usize {
        self.high_water.load(Ordering::SeqCst)
    }

    /// Queues `req` on sandbox `sandbox_id` of `provider`, waits for a slot,
    /// runs it and records it. `kind` is `run`, `agent` or `start`.
    pub async fn run(
        &self,
        store: &Store,
        provider: &dyn SandboxProvider,
        sandbox_id: &str,
        kind: &str,
        mut req: RunRequest,
        sink: OutputSink,
    ) -> Result<Finished, E2bError> {
        if req.command.trim().is_empty() {
            return Err(E2bError::invalid("command", "must not be empty"));
        }
        if req.timeout.is_zero() || req.timeout > self.max_timeout {
            return Err(E2bError::invalid(
                "timeout_secs",
                format!(
                    "must be between 1 and {} seconds",
                    self.max_timeout.as_secs()
                ),
            ));
        }
        let queued = std::time::Instant::now();
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| E2bError::Refused("the executor is shutting down".into()))?;
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        let _slot = Slot(&self.in_flight);
        self.high_water.fetch_max(now, Ordering::SeqCst);
        let queued_ms = u64::try_from(queued.elapsed().as_millis()).unwrap_or(u64::MAX);

        req.run_id = format!("run_{}", uuid::Uuid::new_v4().simple());
        store::insert_run(
            store,
            &req.run_id,
            sandbox_id,
            kind,
            &req.command,
            &self.instance,
            now_ms(),
        )
        .await?;
        let run_id = req.run_id.clone();
        match provider.run(sandbox_id, req, sink).await {
            Ok(output) => {
                store::finish_run(store, &run_id, &output).await?;
                Ok(Finished {
                    run_id,
                    queued_ms,
                    output,
                })
            }
            Err(err) => {
                store::fail_run(store, &run_id, &err.to_string(), "failed").await?;
                Err(err)
            }
        }
    }
}
