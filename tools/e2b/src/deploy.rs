//! The template builder and deployer.
//!
//! - [`build_request`]: renders the Dockerfile with parameters and produces
//!   the E2B build request (`POST /v2/templates` body, then the v2
//!   build-start body of [`crate::dockerfile::build_body`]).
//! - [`deploy_local`]: prepares a local sandbox from a template — its env,
//!   its `[files]` — and starts its start command in the background.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Value, json};

use crate::error::E2bError;
use crate::local::{LocalProvider, now_ms};
use crate::provider::{CreateSpec, SandboxInfo, SandboxProvider};
use crate::store;
use crate::templates::Template;

/// What `template_build` sends (or would send) to E2B.
#[derive(Debug, Clone, Serialize)]
pub struct BuildRequest {
    /// Template name.
    pub template: String,
    /// The rendered Dockerfile.
    pub dockerfile: String,
    /// Parameters applied.
    pub parameters: BTreeMap<String, String>,
    /// Body of `POST /v2/templates`.
    pub create: Value,
    /// Body of `POST /v2/templates/{templateID}/builds/{buildID}`.
    pub start: Value,
}

/// Renders `t` with `params` and produces its build request.
pub fn build_request(
    t: &Template,
    params: &BTreeMap<String, String>,
) -> Result<BuildRequest, E2bError> {
    let dockerfile =
        crate::dockerfile::render(&t.dockerfile, params).map_err(|reason| E2bError::Template {
            template: t.name.clone(),
            field: "parameters".into(),
            reason,
        })?;
    let start = crate::dockerfile::build_body(
        &dockerfile,
        t.e2b.start_cmd.as_deref(),
        t.e2b.ready_cmd.as_deref(),
    )
    .map_err(|reason| E2bError::Template {
        template: t.name.clone(),
        field: "e2b.Dockerfile".into(),
        reason,
    })?;
    Ok(BuildRequest {
        template: t.name.clone(),
        dockerfile,
        parameters: params.clone(),
        create: json!({
            "alias": t.e2b.template_name,
            "cpuCount": t.e2b.cpu_count,
            "memoryMB": t.e2b.memory_mb,
        }),
        start,
    })
}

/// A locally deployed template.
#[derive(Debug, Clone, Serialize)]
pub struct LocalDeployment {
    /// The sandbox.
    pub sandbox: SandboxInfo,
    /// The start command's run id, when the template has one.
    pub start_run: Option<String>,
    /// The start command.
    pub start_command: Option<String>,
}

/// A sandbox provider that can start a template's start command in the
/// background of a sandbox it made: the local process provider and the
/// Docker one.
#[async_trait::async_trait]
pub trait StartsInBackground: SandboxProvider {
    /// The server instance id written on the run's row.
    fn instance_id(&self) -> &str;
    /// Starts `command` as run `run_id` in sandbox `id`, without waiting.
    async fn start_in_background(
        &self,
        id: &str,
        run_id: &str,
        command: &str,
    ) -> Result<(), E2bError>;
}

#[async_trait::async_trait]
impl StartsInBackground for LocalProvider {
    fn instance_id(&self) -> &str {
        self.instance()
    }
    async fn start_in_background(
        &self,
        id: &str,
        run_id: &str,
        command: &str,
    ) -> Result<(), E2bError> {
        self.start_background(id, run_id, command).await
    }
}

#[async_trait::async_trait]
impl StartsInBackground for crate::docker::DockerProvider {
    fn instance_id(&self) -> &str {
        self.instance()
    }
    async fn start_in_background(
        &self,
        id: &str,
        run_id: &str,
        command: &str,
    ) -> Result<(), E2bError> {
        self.start_background(id, run_id, command).await
    }
}

/// Prepares a sandbox of `provider` from `spec` (made from template `t`)
/// and starts the template's start command in its background, recorded as
/// a `start` run.
pub async fn deploy_with(
    provider: &impl StartsInBackground,
    store_: &nt_mcp_core::Store,
    t: &Template,
    spec: CreateSpec,
) -> Result<LocalDeployment, E2bError> {
    let sandbox = provider.create(spec).await?;
    let mut start_run = None;
    if let Some(cmd) = &t.meta.start_command {
        let run_id = format!("run_{}", uuid::Uuid::new_v4().simple());
        store::insert_run(
            store_,
            &run_id,
            &sandbox.id,
            "start",
            cmd,
            provider.instance_id(),
            now_ms(),
        )
        .await?;
        provider
            .start_in_background(&sandbox.id, &run_id, cmd)
            .await?;
        start_run = Some(run_id);
    }
    Ok(LocalDeployment {
        sandbox,
        start_run,
        start_command: t.meta.start_command.clone(),
    })
}

/// Prepares a local sandbox from `spec` (made from template `t`) and starts
/// the template's start command in its background.
pub async fn deploy_local(
    local: &LocalProvider,
    store_: &nt_mcp_core::Store,
    t: &Template,
    spec: CreateSpec,
) -> Result<LocalDeployment, E2bError> {
    deploy_with(local, store_, t, spec).await
}

/// Creates a Docker sandbox from `spec` (made from template `t`) and
/// starts the template's start command detached in it.
pub async fn deploy_docker(
    docker: &crate::docker::DockerProvider,
    store_: &nt_mcp_core::Store,
    t: &Template,
    spec: CreateSpec,
) -> Result<LocalDeployment, E2bError> {
    deploy_with(docker, store_, t, spec).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::templates::Registry;

    #[test]
    fn the_trading_bot_build_request_is_e2bs_v2_shape() {
        let t = Registry::load(None)
            .expect("registry")
            .get("trading-bot")
            .expect("valid");
        let req = build_request(
            &t,
            &BTreeMap::from([("PYTHON_VERSION".into(), "3.11".into())]),
        )
        .expect("request");
        assert_eq!(
            req.create,
            json!({"alias": "nt-trading-bot", "cpuCount": 2, "memoryMB": 1024})
        );
        assert_eq!(req.start["fromImage"], "python:3.11-slim");
        assert_eq!(req.start["startCmd"], "python3 /home/user/bot/heartbeat.py");
        assert_eq!(
            req.start["steps"][0],
            json!({"type": "RUN", "args": ["pip install --no-cache-dir numpy pandas"], "force": false})
        );
        assert_eq!(
            req.start["steps"][1],
            json!({"type": "ENV", "args": ["PYTHONUNBUFFERED", "1"], "force": false})
        );
        let err =
            build_request(&t, &BTreeMap::from([("PY".into(), "3".into())])).expect_err("unknown");
        assert!(err.to_string().contains("`PY`"), "{err}");
    }
}
