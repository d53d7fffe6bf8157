//! The `diagnostics` bundle: tools that let a client check its own handling
//! of progress notifications, cancellation, deadlines and background jobs
//! (the MCP reference "everything" server's `longRunningOperation` and `echo`).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::Deserialize;

use crate::bundle::{ToolBundle, ToolCtx, ToolOutput};
use crate::error::ToolError;
use crate::route::{ToolRouter, route};

/// Hosts `diag_long_running` and `diag_echo`.
pub struct DiagnosticsBundle;

/// Input of `diag_long_running`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LongRunningInput {
    /// Total duration in milliseconds (1-600000).
    pub duration_ms: u64,
    /// Number of progress steps (1-1000).
    #[serde(default = "default_steps")]
    pub steps: u32,
}

fn default_steps() -> u32 {
    10
}

/// Input of `diag_echo`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EchoInput {
    /// Text to send back.
    pub message: String,
}

#[async_trait]
impl ToolBundle for DiagnosticsBundle {
    fn name(&self) -> &'static str {
        "diagnostics"
    }

    fn routes(self: Arc<Self>) -> ToolRouter {
        ToolRouter::new(
            self,
            [
                route(
                    "diag_long_running",
                    "Runs for `duration_ms`, reporting progress after each of `steps` equal steps and \
                     stopping when cancelled. Use it to check how a client handles progress, \
                     cancellation and deadline-to-job hand-over.",
                    long_running,
                )
                .deadline(Duration::from_secs(30)),
                route("diag_echo", "Returns `message` unchanged.", echo),
            ],
        )
    }
}

async fn long_running(
    _b: Arc<DiagnosticsBundle>,
    input: LongRunningInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    if !(1..=600_000).contains(&input.duration_ms) {
        return Err(ToolError::invalid(
            "duration_ms",
            "must be between 1 and 600000",
        ));
    }
    if !(1..=1000).contains(&input.steps) {
        return Err(ToolError::invalid("steps", "must be between 1 and 1000"));
    }
    let step = Duration::from_millis(input.duration_ms) / input.steps;
    let total = f64::from(input.steps);
    for i in 1..=input.steps {
        tokio::select! {
            () = tokio::time::sleep(step) => {}
            () = ctx.cancel.cancelled() => return Err(ToolError::cancelled()),
        }
        ctx.progress
            .report(
                f64::from(i),
                Some(total),
                format!("step {i} of {}", input.steps),
            )
            .await;
    }
    Ok(ToolOutput::new(
        format!("finished {} steps in {} ms", input.steps, input.duration_ms),
        serde_json::json!({"steps": input.steps, "duration_ms": input.duration_ms}),
    ))
}

async fn echo(
    _b: Arc<DiagnosticsBundle>,
    input: EchoInput,
    _ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    Ok(ToolOutput::new(
        input.message.clone(),
        serde_json::json!({ "message": input.message }),
    ))
}
