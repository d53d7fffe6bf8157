//! Sandbox tools: `sandbox_create`, `sandbox_list`, `sandbox_run`,
//! `sandbox_upload`, `sandbox_download`, `sandbox_kill`, `sandbox_extend`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use nt_mcp_core::route::{Route, route};
use nt_mcp_core::{ToolCtx, ToolError, ToolOutput, ToolRouter};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use crate::bundle::E2bBundle;
use crate::provider::{CreateSpec, RunRequest};
use crate::tools::common::{run_answer, run_with_progress};

/// Largest file `sandbox_download` returns (larger ones are cut with a note).
pub const DOWNLOAD_CAP: usize = 1024 * 1024;

/// How file content is written in a call or answer.
#[derive(Debug, Clone, Copy, Default, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    /// UTF-8 text.
    #[default]
    Utf8,
    /// Base64 bytes.
    Base64,
}

/// Input of `sandbox_create`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateInput {
    /// Template name (`template_list`); default `base`.
    #[serde(default)]
    pub template: Option<String>,
    /// Life of the sandbox in seconds (default: the template's).
    #[serde(default)]
    pub timeout_secs: Option<u64>,
    /// Environment for every process in the sandbox (added to the template's).
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Free-form labels.
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
}

/// Input of `sandbox_list`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListInput {
    /// Also list killed and expired sandboxes.
    #[serde(default)]
    pub include_ended: bool,
}

/// Input of `sandbox_run`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RunInput {
    /// Sandbox id.
    pub sandbox_id: String,
    /// Shell command line (run by `/bin/sh -c` in the sandbox).
    pub command: String,
    /// Working directory, relative to the sandbox root.
    #[serde(default)]
    pub cwd: Option<String>,
    /// Extra environment for this run.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Text written to the process's standard input.
    #[serde(default)]
    pub stdin: Option<String>,
    /// Wall-clock limit in seconds (default 60).
    #[serde(default)]
    pub timeout_secs: Option<u64>,
}

/// Input of `sandbox_upload`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UploadInput {
    /// Sandbox id.
    pub sandbox_id: String,
    /// File path relative to the sandbox root (parents are created).
    pub path: String,
    /// The content.
    pub content: String,
    /// `utf8` (default) or `base64`.
    #[serde(default)]
    pub encoding: Encoding,
}

/// Input of `sandbox_download`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DownloadInput {
    /// Sandbox id.
    pub sandbox_id: String,
    /// File path relative to the sandbox root; a directory (or empty) lists it.
    #[serde(default)]
    pub path: String,
    /// `utf8` (default) or `base64` for the answer.
    #[serde(default)]
    pub encoding: Encoding,
    /// Listing depth for a directory (default 2).
    #[serde(default)]
    pub depth: Option<u32>,
}

/// Input of `sandbox_kill`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KillInput {
    /// Sandbox id.
    pub sandbox_id: String,
}

/// Input of `sandbox_extend`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtendInput {
    /// Sandbox id.
    pub sandbox_id: String,
    /// New life from now, in seconds (1-86400).
    pub timeout_secs: u64,
}

/// The routes of this family.
pub fn routes(b: Arc<E2bBundle>) -> ToolRouter {
    let list: [Route<E2bBundle>; 7] = [
        route(
            "sandbox_create",
            "Creates an isolated sandbox from a template (local directory with its own process group and limits, or an E2B sandbox when E2B_API_KEY is set). Returns its id; it ends after `timeout_secs` unless extended.",
            create,
        )
        .writes()
        .not_idempotent(),
        route("sandbox_list", "Lists sandboxes (running ones unless include_ended).", list_sandboxes),
        route(
            "sandbox_run",
            "Runs a shell command in a sandbox and returns stdout, stderr and the exit code. Streams progress while it runs; output is capped per stream with a note; the whole process group is killed at the timeout.",
            run,
        )
        .writes()
        .not_idempotent()
        .deadline(Duration::from_secs(660)),
        route("sandbox_upload", "Writes a file in a sandbox (paths outside the sandbox are refused).", upload)
            .writes(),
        route(
            "sandbox_download",
            "Reads a file from a sandbox, or lists a directory (empty path: the root).",
            download,
        ),
        route("sandbox_kill", "Kills a sandbox and every process in it.", kill).writes(),
        route("sandbox_extend", "Sets a sandbox to end `timeout_secs` from now.", extend).writes(),
    ];
    ToolRouter::new(b, list)
}

pub(crate) fn check_env(env: &BTreeMap<String, String>, field: &str) -> Result<(), ToolError> {
    if let Some(bad) = env.keys().find(|k| !crate::templates::valid_env_name(k)) {
        return Err(ToolError::invalid(
            field,
            format!("`{bad}` is not a variable name"),
        ));
    }
    Ok(())
}

/// Builds the creation spec of template `name` with the caller's env.
pub(crate) fn spec_for(
    b: &E2bBundle,
    name: &str,
    timeout_secs: Option<u64>,
    env: BTreeMap<String, String>,
    metadata: BTreeMap<String, String>,
) -> Result<(CreateSpec, crate::templates::Template), ToolError> {
    let template = b.registry.get(name).map_err(ToolError::from)?;
    check_env(&env, "env")?;
    if let Some(missing) = template
        .meta
        .required_env
        .iter()
        .find(|k| !env.contains_key(*k))
    {
        return Err(ToolError::invalid(
            "env",
            format!("template `{name}` needs `{missing}`"),
        ));
    }
    let secs = timeout_secs.unwrap_or(template.meta.resources.timeout_secs);
    if !(1..=86_400).contains(&secs) {
        return Err(ToolError::invalid(
            "timeout_secs",
            "must be between 1 and 86400",
        ));
    }
    let mut all_env = template.meta.env.clone();
    all_env.extend(env);
    let files = template
        .meta
        .files
        .iter()
        .map(|(p, c)| (p.clone(), c.clone().into_bytes()))
        .collect();
    // E2B takes the built template's id, or its alias (`template_name`).
    let target = match (b.remote(), &template.e2b.template_id) {
        (true, Some(id)) => id.clone(),
        (true, None) => template.e2b.template_name.clone(),
        (false, _) => name.to_string(),
    };
    Ok((
        CreateSpec {
            template: target,
            timeout: Duration::from_secs(secs),
            env: all_env,
            metadata,
            files,
        },
        template,
    ))
}

async fn create(
    b: Arc<E2bBundle>,
    input: CreateInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    b.require_exec("sandbox_create")?;
    let name = input.template.unwrap_or_else(|| "base".into());
    let (spec, _) = spec_for(&b, &name, input.timeout_secs, input.env, input.metadata)?;
    let engine = b.engine(&ctx.store).await?;
    let info = engine.provider.create(spec).await?;
    let text = format!(
        "created sandbox {} ({}, template {}), ends at {} ms",
        info.id, info.provider, info.template, info.expires_ms
    );
    Ok(ToolOutput::from_venue(
        engine.provider.name(),
        text,
        json!({ "sandbox": info }),
    ))
}

async fn list_sandboxes(
    b: Arc<E2bBundle>,
    input: ListInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    let engine = b.engine(&ctx.store).await?;
    let list = engine.provider.list(input.include_ended).await?;
    let lines: Vec<String> = list
        .iter()
        .map(|s| format!("{} {} {} ends {}", s.id, s.status, s.template, s.expires_ms))
        .collect();
    Ok(ToolOutput::from_venue(
        engine.provider.name(),
        format!("{} sandbox(es)\n{}", list.len(), lines.join("\n")),
        json!({ "sandboxes": list, "count": list.len() }),
    ))
}

async fn run(b: Arc<E2bBundle>, input: RunInput, ctx: ToolCtx) -> Result<ToolOutput, ToolError> {
    b.require_exec("sandbox_run")?;
    check_env(&input.env, "env")?;
    let engine = b.engine(&ctx.store).await?;
    let secs = input.timeout_secs.unwrap_or(60);
    let req = RunRequest {
        command: input.command,
        cwd: input.cwd,
        env: input.env,
        stdin: input.stdin.map(String::into_bytes),
        timeout: Duration::from_secs(secs),
        ..RunRequest::default()
    };
    let done = run_with_progress(&engine, &ctx, &input.sandbox_id, "run", req).await?;
    let (text, body) = run_answer(&input.sandbox_id, &done);
    Ok(ToolOutput::from_venue(engine.provider.name(), text, body))
}

async fn upload(
    b: Arc<E2bBundle>,
    input: UploadInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    b.require_exec("sandbox_upload")?;
    let data = match input.encoding {
        Encoding::Utf8 => input.content.into_bytes(),
        Encoding::Base64 => base64::engine::general_purpose::STANDARD
            .decode(input.content.trim())
            .map_err(|e| ToolError::invalid("content", format!("not base64: {e}")))?,
    };
    let engine = b.engine(&ctx.store).await?;
    let n = engine
        .provider
        .upload(&input.sandbox_id, &input.path, &data)
        .await?;
    Ok(ToolOutput::from_venue(
        engine.provider.name(),
        format!("wrote {n} bytes to {} in {}", input.path, input.sandbox_id),
        json!({"sandbox_id": input.sandbox_id, "path": input.path, "bytes": n}),
    ))
}

/// A file's bytes as answer content: text or base64, cut at the cap.
pub(crate) fn encode(data: &[u8], encoding: Encoding) -> (String, bool) {
    let cut = data.len() > DOWNLOAD_CAP;
    let kept = &data[..data.len().min(DOWNLOAD_CAP)];
    let content = match encoding {
        Encoding::Utf8 => String::from_utf8_lossy(kept).into_owned(),
        Encoding::Base64 => base64::engine::general_purpose::STANDARD.encode(kept),
    };
    (content, cut)
}

async fn download(
    b: Arc<E2bBundle>,
    input: DownloadInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    let engine = b.engine(&ctx.store).await?;
    let p = &engine.provider;
    let path = input.path.trim();
    let as_dir = path.is_empty() || path.ends_with('/') || input.depth.is_some();
    if as_dir {
        let entries = p
            .list_files(&input.sandbox_id, path, input.depth.unwrap_or(2))
            .await?;
        let lines: Vec<String> = entries
            .iter()
            .map(|e| format!("{} {} {}", e.kind, e.size, e.path))
            .collect();
        return Ok(ToolOutput::from_venue(
            p.name(),
            format!(
                "{} entries under `{path}`\n{}",
                entries.len(),
                lines.join("\n")
            ),
            json!({"sandbox_id": input.sandbox_id, "path": path, "entries": entries}),
        ));
    }
    let data = p.download(&input.sandbox_id, path).await?;
    let (content, cut) = encode(&data, input.encoding);
    let note = if cut {
        format!(
            "\n[content truncated: kept {DOWNLOAD_CAP} of {} bytes]",
            data.len()
        )
    } else {
        String::new()
    };
    Ok(ToolOutput::from_venue(
        p.name(),
        format!("{path} ({} bytes)\n{content}{note}", data.len()),
        json!({"sandbox_id": input.sandbox_id, "path": path, "bytes": data.len(), "content": content, "truncated": cut}),
    ))
}

async fn kill(b: Arc<E2bBundle>, input: KillInput, ctx: ToolCtx) -> Result<ToolOutput, ToolError> {
    let engine = b.engine(&ctx.store).await?;
    let info = engine.provider.kill(&input.sandbox_id).await?;
    Ok(ToolOutput::from_venue(
        engine.provider.name(),
        format!("sandbox {} {}", info.id, info.status),
        json!({ "sandbox": info }),
    ))
}

async fn extend(
    b: Arc<E2bBundle>,
    input: ExtendInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    if !(1..=86_400).contains(&input.timeout_secs) {
        return Err(ToolError::invalid(
            "timeout_secs",
            "must be between 1 and 86400",
        ));
    }
    let engine = b.engine(&ctx.store).await?;
    let info = engine
        .provider
        .extend(&input.sandbox_id, Duration::from_secs(input.timeout_secs))
        .await?;
    Ok(ToolOutput::from_venue(
        engine.provider.name(),
        format!("sandbox {} now ends at {} ms", info.id, info.expires_ms),
        json!({ "sandbox": info }),
    ))
}
