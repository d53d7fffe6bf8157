//! The `system` bundle every variant hosts: liveness, what the server is,
//! and the background jobs of the caller.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use crate::bundle::{
    NoArgs, PromptArg, PromptSpec, ResourceSpec, ResourceText, Scope, ToolBundle, ToolCtx,
    ToolOutput,
};
use crate::error::ToolError;
use crate::jobs::JobManager;
use crate::registry::ServerSummary;
use crate::route::{ToolRouter, route};

/// Longest `wait_ms` a `job_status` call may block for.
const MAX_WAIT_MS: u64 = 30_000;

/// Hosts `ping`, `server_info`, `job_status`, `job_cancel`, `job_list`.
pub struct SystemBundle {
    jobs: Arc<JobManager>,
    summary: Arc<OnceLock<ServerSummary>>,
}

impl SystemBundle {
    /// A system bundle over the job manager; `summary` is filled once the
    /// runtime is resolved.
    pub fn new(jobs: Arc<JobManager>, summary: Arc<OnceLock<ServerSummary>>) -> Self {
        Self { jobs, summary }
    }
}

/// Input of `job_status`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JobStatusInput {
    /// The id a deadline-passed call answered with.
    pub job_id: String,
    /// Wait up to this many milliseconds (max 30000) for the job to finish before answering.
    #[serde(default)]
    pub wait_ms: Option<u64>,
}

/// Input of `job_cancel`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JobCancelInput {
    /// The job to stop.
    pub job_id: String,
}

/// Input of `job_list`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JobListInput {
    /// Only jobs with this status: running, succeeded, failed, cancelled.
    #[serde(default)]
    pub status: Option<String>,
    /// At most this many (1-200, default 20).
    #[serde(default)]
    pub limit: Option<u32>,
}

/// Input of `ping`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PingInput {
    /// Echoed back, to match answers to calls.
    #[serde(default)]
    pub message: Option<String>,
}

#[async_trait]
impl ToolBundle for SystemBundle {
    fn name(&self) -> &'static str {
        "system"
    }

    fn routes(self: Arc<Self>) -> ToolRouter {
        ToolRouter::new(
            self,
            [
                route(
                    "ping",
                    "Checks the server is alive; echoes `message`.",
                    ping,
                ),
                route(
                    "server_info",
                    "What this server is: version, variant, bundles, tool count, which venues are \
                     live and which simulated, whether live trading is enabled, storage.",
                    server_info,
                ),
                route(
                    "job_status",
                    "Status, progress and (when done) the result of a background job. A call that \
                     passed its deadline in the timeout-tolerant variant answers with a job id; poll \
                     it here, optionally waiting up to `wait_ms` for it to finish.",
                    job_status,
                ),
                route(
                    "job_cancel",
                    "Asks a running background job to stop; it ends as `cancelled`.",
                    job_cancel,
                )
                .writes()
                .not_idempotent(),
                route(
                    "job_list",
                    "Your background jobs, newest first (everyone's with the admin scope).",
                    job_list,
                ),
            ],
        )
    }

    fn resources(&self) -> Vec<ResourceSpec> {
        vec![
            ResourceSpec {
                uri: "jobs://recent".into(),
                name: "recent-jobs".into(),
                description: "Your 20 most recent background jobs with their status.".into(),
                mime_type: "application/json".into(),
            },
            ResourceSpec {
                uri: "server://info".into(),
                name: "server-info".into(),
                description: "This server's variant, bundles and venues (as server_info).".into(),
                mime_type: "application/json".into(),
            },
        ]
    }

    fn prompts(&self) -> Vec<PromptSpec> {
        vec![PromptSpec {
            name: "explore_server".into(),
            description: "Find out what this server can do and whether its venues are live,                           before acting on a goal."
                .into(),
            arguments: vec![PromptArg {
                name: "goal".into(),
                description: "What you want to get done (e.g. 'find a mispriced market').".into(),
                required: false,
            }],
        }]
    }

    fn render_prompt(
        &self,
        name: &str,
        args: &std::collections::BTreeMap<String, String>,
    ) -> Result<String, ToolError> {
        if name != "explore_server" {
            return Err(ToolError::not_found(format!("no prompt {name}")));
        }
        let goal = args
            .get("goal")
            .map(|g| format!("My goal: {g}\n\n"))
            .unwrap_or_default();
        Ok(format!(
            "{goal}1. Call `server_info` and note which bundles are hosted and which venues are \
             live, paper or simulated; say so before any trade.\n\
             2. Read the resources the server lists (glossaries, tool guides) for the bundles \
             that fit the goal.\n\
             3. Use read-only tools first to gather facts; size any order from those facts and \
             state the risk.\n\
             4. Long calls may answer with a job id: poll `job_status` with `wait_ms` until it \
             ends.\n\
             5. Report what you did, with the venue each answer came from."
        ))
    }

    async fn read_resource(&self, uri: &str, ctx: ToolCtx) -> Result<ResourceText, ToolError> {
        let value = match uri {
            "jobs://recent" => serde_json::to_value(
                self.jobs
                    .list(&ctx.caller.id, ctx.caller.has(Scope::Admin), None, 20)
                    .await?,
            ),
            "server://info" => serde_json::to_value(self.summary.get()),
            _ => return Err(ToolError::not_found(format!("no resource {uri}"))),
        }
        .map_err(|err| ToolError::internal(err.to_string()))?;
        Ok(ResourceText {
            mime_type: "application/json".into(),
            text: serde_json::to_string_pretty(&value).unwrap_or_default(),
        })
    }
}

async fn ping(
    _sys: Arc<SystemBundle>,
    input: PingInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    let now = ctx.clock.now_ms();
    let text = match &input.message {
        Some(m) => format!("pong: {m}"),
        None => "pong".to_string(),
    };
    Ok(ToolOutput::new(
        text,
        serde_json::json!({"pong": true, "message": input.message, "server_time_ms": now}),
    ))
}

async fn server_info(
    sys: Arc<SystemBundle>,
    _input: NoArgs,
    _ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    let summary = sys
        .summary
        .get()
        .ok_or_else(|| ToolError::internal("server still starting"))?;
    let venues: Vec<String> = summary
        .venues
        .iter()
        .flat_map(|(bundle, vs)| {
            vs.iter()
                .map(move |v| format!("{bundle}:{}={:?}", v.name, v.mode).to_lowercase())
        })
        .collect();
    let text = format!(
        "neural-trader-mcp {} variant `{}`: {} tools from [{}]; venues: {}; live trading {}; store {}",
        summary.version,
        summary.variant,
        summary.tool_count,
        summary.bundles.join(", "),
        if venues.is_empty() {
            "none".to_string()
        } else {
            venues.join(", ")
        },
        if summary.live_trading {
            "ENABLED"
        } else {
            "disabled"
        },
        summary.store
    );
    Ok(ToolOutput::new(text, summary))
}

async fn job_status(
    sys: Arc<SystemBundle>,
    input: JobStatusInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    let admin = ctx.caller.has(Scope::Admin);
    if let Some(wait) = input.wait_ms {
        if wait > MAX_WAIT_MS {
            return Err(ToolError::invalid(
                "wait_ms",
                format!("at most {MAX_WAIT_MS}"),
            ));
        }
        // Check access before waiting.
        sys.jobs
            .status(&input.job_id, &ctx.caller.id, admin)
            .await?;
        tokio::select! {
            () = sys.jobs.wait(&input.job_id, Duration::from_millis(wait)) => {}
            () = ctx.cancel.cancelled() => return Err(ToolError::cancelled()),
        }
    }
    let view = sys
        .jobs
        .status(&input.job_id, &ctx.caller.id, admin)
        .await?;
    let text = match (&view.status[..], &view.result, &view.progress) {
        ("succeeded", Some(result), _) => format!(
            "job {} succeeded:\n{}",
            view.id,
            result.get("text").and_then(Value::as_str).unwrap_or("")
        ),
        (status, _, Some(p)) => format!(
            "job {} {status}: progress {}{}{}",
            view.id,
            p.progress,
            p.total.map(|t| format!("/{t}")).unwrap_or_default(),
            p.message
                .as_ref()
                .map(|m| format!(" ({m})"))
                .unwrap_or_default()
        ),
        (status, _, None) => format!("job {} {status}", view.id),
    };
    Ok(ToolOutput::new(text, view))
}

async fn job_cancel(
    sys: Arc<SystemBundle>,
    input: JobCancelInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    let admin = ctx.caller.has(Scope::Admin);
    let view = sys
        .jobs
        .cancel(&input.job_id, &ctx.caller.id, admin)
        .await?;
    sys.jobs.wait(&input.job_id, Duration::from_secs(3)).await;
    let view = sys
        .jobs
        .status(&view.id, &ctx.caller.id, admin)
        .await
        .unwrap_or(view);
    Ok(ToolOutput::new(
        format!("job {} is {}", view.id, view.status),
        view,
    ))
}

async fn job_list(
    sys: Arc<SystemBundle>,
    input: JobListInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    let admin = ctx.caller.has(Scope::Admin);
    let limit = input.limit.unwrap_or(20);
    if !(1..=200).contains(&limit) {
        return Err(ToolError::invalid("limit", "must be between 1 and 200"));
    }
    if let Some(status) = &input.status {
        const KNOWN: [&str; 4] = ["running", "succeeded", "failed", "cancelled"];
        if !KNOWN.contains(&status.as_str()) {
            return Err(ToolError::invalid(
                "status",
                format!("must be one of {}", KNOWN.join(", ")),
            ));
        }
    }
    let jobs = sys
        .jobs
        .list(
            &ctx.caller.id,
            admin,
            input.status.as_deref(),
            i64::from(limit),
        )
        .await?;
    let lines: Vec<String> = jobs
        .iter()
        .map(|j| format!("{} {} {}", j.id, j.tool, j.status))
        .collect();
    let text = if lines.is_empty() {
        "no jobs".to_string()
    } else {
        lines.join("\n")
    };
    Ok(ToolOutput::new(text, serde_json::json!({ "jobs": jobs })))
}
