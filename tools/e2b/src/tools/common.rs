//! Shared by the handlers: running a process while streaming progress
//! notifications to the client, and the text of a run's answer.

use std::time::{Duration, Instant};

use nt_mcp_core::{ToolCtx, ToolError};
use serde_json::{Value, json};

use crate::bundle::Engine;
use crate::executor::Finished;
use crate::provider::{OutputEvent, RunRequest, Stream};

/// Least time between two output-driven progress notifications.
const MIN_GAP: Duration = Duration::from_millis(200);

/// Runs `req` in sandbox `sandbox_id` through the executor, reporting
/// progress to the client: once at the start, on output (the latest line,
/// at most every 200 ms, the first line at once) and every second; `progress` is the seconds run so
/// far and `total` the run's timeout. Cancelling the call kills the run.
pub async fn run_with_progress(
    engine: &Engine,
    ctx: &ToolCtx,
    sandbox_id: &str,
    kind: &str,
    mut req: RunRequest,
) -> Result<Finished, ToolError> {
    req.cancel = ctx.cancel.child_token();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<OutputEvent>();
    let progress = ctx.progress.clone();
    let total = req.timeout.as_secs_f64();
    let command = req.command.chars().take(80).collect::<String>();
    let started = Instant::now();
    let forward = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        let mut last_line = String::new();
        let mut last_sent: Option<Instant> = None;
        let mut last_output: Option<Instant> = None;
        let mut bytes = 0usize;
        loop {
            let message = tokio::select! {
                event = rx.recv() => match event {
                    None => break,
                    Some(event) => {
                        bytes += event.data.len();
                        let text = String::from_utf8_lossy(&event.data);
                        if let Some(line) = text.lines().rev().find(|l| !l.trim().is_empty()) {
                            let tag = match event.stream { Stream::Stdout => "stdout", Stream::Stderr => "stderr" };
                            last_line = format!("{tag}: {}", line.chars().take(200).collect::<String>());
                        }
                        if last_output.is_some_and(|t: Instant| t.elapsed() < MIN_GAP) {
                            continue;
                        }
                        last_output = Some(Instant::now());
                        last_line.clone()
                    }
                },
                _ = tick.tick() => {
                    if last_sent.is_none() {
                        format!("started `{command}`")
                    } else {
                        format!("running {}s, {bytes} bytes of output; {last_line}", started.elapsed().as_secs())
                    }
                }
            };
            last_sent = Some(Instant::now());
            progress
                .report(started.elapsed().as_secs_f64(), Some(total), message)
                .await;
        }
    });
    let result = engine
        .executor
        .run(
            &ctx.store,
            engine.provider.as_ref(),
            sandbox_id,
            kind,
            req,
            Some(tx),
        )
        .await;
    let _ = forward.await;
    let done = result?;
    if ctx.cancel.is_cancelled() {
        return Err(ToolError::cancelled());
    }
    Ok(done)
}

/// The answer text and body of a finished run.
pub fn run_answer(sandbox_id: &str, done: &Finished) -> (String, Value) {
    let o = &done.output;
    let head = match (o.status, o.exit_code) {
        (crate::provider::RunStatus::Exited, Some(code)) => format!("exit code {code}"),
        (crate::provider::RunStatus::Exited, None) => "ended by a signal".to_string(),
        (crate::provider::RunStatus::Timeout, _) => {
            "timed out; the process group was killed".to_string()
        }
        (crate::provider::RunStatus::Killed, _) => "killed".to_string(),
    };
    let text = format!(
        "sandbox {sandbox_id} run {}: {head} after {} ms\n--- stdout ---\n{}\n--- stderr ---\n{}",
        done.run_id, o.duration_ms, o.stdout, o.stderr
    );
    let body = json!({
        "sandbox_id": sandbox_id,
        "run_id": done.run_id,
        "status": o.status,
        "exit_code": o.exit_code,
        "stdout": o.stdout,
        "stderr": o.stderr,
        "stdout_bytes": o.stdout_bytes,
        "stderr_bytes": o.stderr_bytes,
        "truncated": o.truncated,
        "output_digest": o.output_digest,
        "duration_ms": o.duration_ms,
        "queued_ms": done.queued_ms,
    });
    (text, body)
}
