//! The agent runner, `agent_run`: a named task of a template (or a given
//! command) in a fresh sandbox of that template, with progress streamed to
//! the client, the listed artifacts collected, and the sandbox torn down.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use nt_mcp_core::route::route;
use nt_mcp_core::{ToolCtx, ToolError, ToolOutput, ToolRouter};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use crate::bundle::E2bBundle;
use crate::provider::RunRequest;
use crate::tools::common::{run_answer, run_with_progress};
use crate::tools::sandbox::{Encoding, encode, spec_for};

/// Input of `agent_run`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentRunInput {
    /// Template name (default `base`).
    #[serde(default)]
    pub template: Option<String>,
    /// A task the template names in its `[tasks]` (e.g. `backtest`).
    #[serde(default)]
    pub task: Option<String>,
    /// A command to run instead of a named task.
    #[serde(default)]
    pub command: Option<String>,
    /// Environment for the sandbox (added to the template's).
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Files to write before the run (`path -> text`).
    #[serde(default)]
    pub files: BTreeMap<String, String>,
    /// Files to collect after the run (paths relative to the sandbox root).
    #[serde(default)]
    pub artifacts: Vec<String>,
    /// Wall-clock limit of the run in seconds (default 300).
    #[serde(default)]
    pub timeout_secs: Option<u64>,
    /// Keep the sandbox after the run instead of tearing it down.
    #[serde(default)]
    pub keep: bool,
}

/// The routes of this family.
pub fn routes(b: Arc<E2bBundle>) -> ToolRouter {
    ToolRouter::new(
        b,
        [route(
            "agent_run",
            "Runs a named task of a template (or `command`) in a fresh sandbox: writes `files`, streams progress while it runs, collects `artifacts`, then tears the sandbox down (unless keep). Use it for backtest scripts and swarm workers.",
            agent_run,
        )
        .writes()
        .not_idempotent()
        .deadline(Duration::from_secs(660))],
    )
}

async fn agent_run(
    b: Arc<E2bBundle>,
    input: AgentRunInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    b.require_exec("agent_run")?;
    let name = input.template.clone().unwrap_or_else(|| "base".into());
    let secs = input.timeout_secs.unwrap_or(300);
    let (mut spec, template) = spec_for(
        &b,
        &name,
        Some(secs.saturating_add(60).min(86_400)),
        input.env,
        BTreeMap::new(),
    )?;
    let command = match (&input.task, &input.command) {
        (Some(_), Some(_)) => {
            return Err(ToolError::invalid(
                "task",
                "give `task` or `command`, not both",
            ));
        }
        (Some(task), None) => template.meta.tasks.get(task).cloned().ok_or_else(|| {
            ToolError::invalid(
                "task",
                format!(
                    "template `{name}` has no task `{task}`; its tasks: {}",
                    template
                        .meta
                        .tasks
                        .keys()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })?,
        (None, Some(cmd)) => cmd.clone(),
        (None, None) => return Err(ToolError::invalid("task", "give a task name or a command")),
    };
    if input.artifacts.len() > 32 {
        return Err(ToolError::invalid("artifacts", "at most 32 paths"));
    }
    spec.metadata.insert(
        "agent_task".into(),
        input.task.clone().unwrap_or_else(|| "command".into()),
    );
    for (path, text) in &input.files {
        spec.files.push((path.clone(), text.clone().into_bytes()));
    }
    let engine = b.engine(&ctx.store).await?;
    let p = &engine.provider;
    let info = p.create(spec).await?;
    let run = run_with_progress(
        &engine,
        &ctx,
        &info.id,
        "agent",
        RunRequest {
            command,
            timeout: Duration::from_secs(secs),
            ..RunRequest::default()
        },
    )
    .await;
    let mut artifacts = Vec::new();
    if run.is_ok() {
        for path in &input.artifacts {
            artifacts.push(match p.download(&info.id, path).await {
                Ok(data) => {
                    let (content, cut) = encode(&data, Encoding::Utf8);
                    json!({"path": path, "bytes": data.len(), "content": content, "truncated": cut})
                }
                Err(e) => json!({"path": path, "error": e.to_string()}),
            });
        }
    }
    let torn_down = if input.keep {
        false
    } else {
        p.kill(&info.id).await.is_ok()
    };
    let done = run?;
    let (text, mut body) = run_answer(&info.id, &done);
    body["template"] = json!(name);
    body["task"] = json!(input.task);
    body["artifacts"] = json!(artifacts);
    body["torn_down"] = json!(torn_down);
    let names: Vec<String> = artifacts
        .iter()
        .map(|a| {
            format!(
                "{} ({})",
                a["path"].as_str().unwrap_or(""),
                a["bytes"]
                    .as_u64()
                    .map_or("missing".into(), |n| format!("{n} bytes"))
            )
        })
        .collect();
    Ok(ToolOutput::from_venue(
        p.name(),
        format!(
            "{text}\nartifacts: {}\nsandbox {}",
            names.join(", "),
            if torn_down { "torn down" } else { "kept" }
        ),
        body,
    ))
}
