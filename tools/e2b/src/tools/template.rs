//! Template tools: `template_list`, `template_show`, `template_validate`,
//! `template_build`, `template_deploy`, `template_build_status`.

use std::collections::BTreeMap;
use std::sync::Arc;

use nt_mcp_core::route::route;
use nt_mcp_core::{NoArgs, ToolCtx, ToolError, ToolOutput, ToolRouter};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use crate::bundle::E2bBundle;
use crate::deploy::{build_request, deploy_local};
use crate::local::now_ms;
use crate::store::{self, BuildRow};
use crate::templates::Source;
use crate::tools::sandbox::spec_for;

/// Input naming a template.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NameInput {
    /// Template name.
    pub name: String,
}

/// Input of `template_validate`: a known template by name, or files given inline.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ValidateInput {
    /// Template name (a known template, or the folder name of the inline files).
    pub name: String,
    /// Inline `e2b.toml` text (with `dockerfile` and `template_toml`).
    #[serde(default)]
    pub e2b_toml: Option<String>,
    /// Inline `e2b.Dockerfile` text.
    #[serde(default)]
    pub dockerfile: Option<String>,
    /// Inline `template.toml` text.
    #[serde(default)]
    pub template_toml: Option<String>,
}

/// Input of `template_build`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BuildInput {
    /// Template name.
    pub name: String,
    /// Build parameters: values for the Dockerfile's `ARG`s.
    #[serde(default)]
    pub parameters: BTreeMap<String, String>,
}

/// Input of `template_build_status`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BuildStatusInput {
    /// Build id from `template_build`.
    pub build_id: String,
}

/// Input of `template_deploy`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeployInput {
    /// Template name.
    pub name: String,
    /// Environment for the sandbox (must include the template's required_env).
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Life of the sandbox in seconds (default: the template's).
    #[serde(default)]
    pub timeout_secs: Option<u64>,
}

/// The routes of this family.
pub fn routes(b: Arc<E2bBundle>) -> ToolRouter {
    ToolRouter::new(
        b,
        [
            route("template_list", "Lists the sandbox templates with their description and whether each validates.", list),
            route("template_show", "Shows a template: e2b.toml, Dockerfile, metadata, parameters, tasks.", show),
            route(
                "template_validate",
                "Validates a template (by name, or files given inline); a broken one fails with the field named.",
                validate,
            ),
            route(
                "template_build",
                "Renders a template's Dockerfile with parameters and produces the E2B build request; submits it to E2B when E2B_API_KEY is set (poll template_build_status).",
                build,
            )
            .writes()
            .not_idempotent(),
            route(
                "template_deploy",
                "Deploys a template: an E2B sandbox of the built template when E2B is configured, else a local sandbox prepared from the template's files with its start command running.",
                deploy,
            )
            .writes()
            .not_idempotent(),
            route("template_build_status", "Status and logs of a template build (polls E2B when the build was submitted).", build_status),
        ],
    )
}

async fn list(b: Arc<E2bBundle>, _input: NoArgs, _ctx: ToolCtx) -> Result<ToolOutput, ToolError> {
    let mut rows = Vec::new();
    let mut lines = Vec::new();
    for s in b.registry.sources() {
        match s.validate() {
            Ok(t) => {
                lines.push(format!("{}: {}", t.name, t.meta.description));
                rows.push(json!({"name": t.name, "description": t.meta.description, "e2b_name": t.e2b.template_name,
                    "cpu_count": t.e2b.cpu_count, "memory_mb": t.e2b.memory_mb, "tasks": t.meta.tasks.keys().collect::<Vec<_>>(),
                    "required_env": t.meta.required_env, "origin": t.origin, "valid": true}));
            }
            Err(e) => {
                lines.push(format!("{}: INVALID {e}", s.name));
                rows.push(json!({"name": s.name, "origin": s.origin, "valid": false, "error": e.to_string()}));
            }
        }
    }
    Ok(ToolOutput::new(
        format!("{} template(s)\n{}", rows.len(), lines.join("\n")),
        json!({"templates": rows}),
    ))
}

async fn show(b: Arc<E2bBundle>, input: NameInput, _ctx: ToolCtx) -> Result<ToolOutput, ToolError> {
    let t = b.registry.get(&input.name)?;
    let params = crate::dockerfile::parameters(&t.dockerfile).unwrap_or_default();
    Ok(ToolOutput::new(
        format!(
            "template {}: {}\n--- e2b.Dockerfile ---\n{}",
            t.name, t.meta.description, t.dockerfile
        ),
        json!({"template": t, "parameters": params}),
    ))
}

async fn validate(
    b: Arc<E2bBundle>,
    input: ValidateInput,
    _ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    let source = match (input.e2b_toml, input.dockerfile, input.template_toml) {
        (None, None, None) => b.registry.source(&input.name)?.clone(),
        (Some(e2b_toml), Some(dockerfile), Some(meta_toml)) => Source {
            name: input.name.clone(),
            e2b_toml,
            dockerfile,
            meta_toml,
            origin: "inline".into(),
        },
        _ => {
            return Err(ToolError::invalid(
                "e2b_toml",
                "give all three of e2b_toml, dockerfile and template_toml, or none",
            ));
        }
    };
    let t = source.validate()?;
    Ok(ToolOutput::new(
        format!("template {} is valid", t.name),
        json!({"name": t.name, "valid": true, "e2b_name": t.e2b.template_name}),
    ))
}

async fn build(
    b: Arc<E2bBundle>,
    input: BuildInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    let t = b.registry.get(&input.name)?;
    let req = build_request(&t, &input.parameters)?;
    let now = now_ms();
    let mut row = BuildRow {
        id: format!("bld_{}", &uuid::Uuid::new_v4().simple().to_string()[..16]),
        template: t.name.clone(),
        target: "local".into(),
        remote_template: None,
        remote_build: None,
        status: "prepared".into(),
        request: serde_json::to_value(&req).unwrap_or_default(),
        logs: vec![
            "build request prepared; E2B is not configured, so nothing was submitted".into(),
        ],
        created_ms: now,
        updated_ms: now,
    };
    if let Some(api) = b.api()? {
        let (template_id, build_id) = api.request_build(&req.create).await?;
        api.start_build(&template_id, &build_id, &req.start).await?;
        row.target = "e2b".into();
        row.remote_template = Some(template_id);
        row.remote_build = Some(build_id);
        row.status = "building".into();
        row.logs = vec!["submitted to E2B".into()];
    }
    store::save_build(&ctx.store, &row).await?;
    Ok(ToolOutput::new(
        format!(
            "build {} of {}: {} ({})\n--- rendered Dockerfile ---\n{}",
            row.id, t.name, row.status, row.target, req.dockerfile
        ),
        json!({"build": row}),
    ))
}

async fn build_status(
    b: Arc<E2bBundle>,
    input: BuildStatusInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    let mut row = store::build(&ctx.store, &input.build_id)
        .await?
        .ok_or_else(|| ToolError::not_found(format!("no build `{}`", input.build_id)))?;
    if let (Some(api), Some(tid), Some(bid)) = (
        b.api()?,
        row.remote_template.clone(),
        row.remote_build.clone(),
    ) && !matches!(row.status.as_str(), "ready" | "error")
    {
        let (status, logs) = api.build_status(&tid, &bid, row.logs.len()).await?;
        row.status = status;
        row.logs.extend(logs);
        row.updated_ms = now_ms();
        store::save_build(&ctx.store, &row).await?;
    }
    Ok(ToolOutput::new(
        format!(
            "build {} of {}: {}\n{}",
            row.id,
            row.template,
            row.status,
            row.logs.join("\n")
        ),
        json!({"build": row}),
    ))
}

async fn deploy(
    b: Arc<E2bBundle>,
    input: DeployInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    b.require_exec("template_deploy")?;
    let (spec, t) = spec_for(
        &b,
        &input.name,
        input.timeout_secs,
        input.env,
        BTreeMap::new(),
    )?;
    let engine = b.engine(&ctx.store).await?;
    if b.remote() {
        let info = engine.provider.create(spec).await?;
        return Ok(ToolOutput::from_venue(
            "e2b",
            format!("deployed {} as E2B sandbox {}", t.name, info.id),
            json!({"sandbox": info, "template": t.name}),
        ));
    }
    if let Some(docker) = &engine.docker {
        let d = crate::deploy::deploy_docker(docker, &ctx.store, &t, spec).await?;
        return Ok(ToolOutput::from_venue(
            "docker",
            format!("deployed {} as docker sandbox {}", t.name, d.sandbox.id),
            json!({"deployment": d, "template": t.name}),
        ));
    }
    let d = deploy_local(&engine.local, &ctx.store, &t, spec).await?;
    Ok(ToolOutput::from_venue(
        "local",
        format!(
            "deployed {} as local sandbox {}{}",
            t.name,
            d.sandbox.id,
            d.start_command
                .as_deref()
                .map(|c| format!("; started `{c}`"))
                .unwrap_or_default()
        ),
        json!({"deployment": d, "template": t.name}),
    ))
}
