//! The E2B provider: sandboxes in the E2B cloud through [`crate::api`]
//! (control plane) and [`crate::envd`] (processes and files inside), with a
//! row per sandbox in `e2b_sandboxes` (provider `e2b`) so `sandbox_list`
//! shows ours. Paths are checked lexically (no `..`, no absolute path)
//! and taken relative to `/home/user`; symlinks inside a VM sandbox are
//! the VM's business.

use std::collections::HashMap;
use std::path::{Component, Path};
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use nt_mcp_core::Store;

use crate::api::E2bApi;
use crate::config::E2bConfig;
use crate::envd::Envd;
use crate::error::E2bError;
use crate::local::now_ms;
use crate::provider::{
    CreateSpec, FileEntry, OutputSink, RunOutput, RunRequest, SandboxInfo, SandboxProvider,
};
use crate::store::{self, SandboxRow};

/// The sandbox user's home, where relative paths start.
pub const HOME: &str = "/home/user";

/// The E2B provider.
pub struct RemoteProvider {
    store: Store,
    api: E2bApi,
    envd_url: Option<String>,
    domain: String,
    output_cap: usize,
    http: nt_venue_http::reqwest::Client,
    tokens: Mutex<HashMap<String, Option<String>>>,
    instance: String,
}

/// `rel` as a path under [`HOME`], refusing `..` and absolute paths.
pub fn remote_path(rel: &str) -> Result<String, E2bError> {
    let p = Path::new(rel.trim());
    let refuse = |reason: &str| E2bError::PathEscape {
        path: rel.to_string(),
        reason: reason.to_string(),
    };
    let mut parts = Vec::new();
    for c in p.components() {
        match c {
            Component::Normal(s) => parts.push(s.to_string_lossy().into_owned()),
            Component::CurDir => {}
            Component::ParentDir => return Err(refuse("`..` is not allowed")),
            Component::RootDir | Component::Prefix(_) => {
                return Err(refuse(
                    "absolute paths are not allowed; give a path relative to the sandbox root",
                ));
            }
        }
    }
    Ok(if parts.is_empty() {
        HOME.to_string()
    } else {
        format!("{HOME}/{}", parts.join("/"))
    })
}

impl RemoteProvider {
    /// A provider over `store` with the E2B settings of `config` and `key`.
    pub fn new(store: Store, config: &E2bConfig, key: &str) -> Result<Self, E2bError> {
        nt_venue_http::install_crypto_provider();
        let http = nt_venue_http::client_builder()
            .build()
            .map_err(|e| E2bError::Config(format!("http client: {e}")))?;
        Ok(Self {
            store,
            api: E2bApi::new(&config.api_url, key)?,
            envd_url: config.envd_url.clone(),
            domain: config.domain.clone(),
            output_cap: config.limits.output_cap,
            http,
            tokens: Mutex::new(HashMap::new()),
            instance: format!("inst_{}", uuid::Uuid::new_v4().simple()),
        })
    }

    /// The control-plane client.
    pub fn api(&self) -> &E2bApi {
        &self.api
    }

    async fn row(&self, id: &str) -> Result<SandboxRow, E2bError> {
        match store::sandbox(&self.store, id).await? {
            Some(row) if row.provider == "e2b" => Ok(row),
            _ => Err(E2bError::NotFound(id.to_string())),
        }
    }

    async fn running(&self, id: &str) -> Result<(SandboxRow, String), E2bError> {
        let row = self.row(id).await?;
        if row.status != "running" {
            return Err(E2bError::Ended {
                id: id.to_string(),
                status: row.status,
            });
        }
        let remote = row
            .remote_id
            .clone()
            .ok_or_else(|| E2bError::NotFound(id.to_string()))?;
        Ok((row, remote))
    }

    async fn envd(&self, remote: &str) -> Result<Envd, E2bError> {
        let cached = self.tokens.lock().ok().and_then(|t| t.get(remote).cloned());
        let token = match cached {
            Some(t) => t,
            None => {
                let s = self
                    .api
                    .get_sandbox(remote)
                    .await?
                    .ok_or_else(|| E2bError::NotFound(remote.to_string()))?;
                if let Ok(mut t) = self.tokens.lock() {
                    t.insert(remote.to_string(), s.envd_access_token.clone());
                }
                s.envd_access_token
            }
        };
        let base = Envd::url_for(self.envd_url.as_deref(), remote, &self.domain);
        Ok(Envd::new(self.http.clone(), &base, remote, token))
    }
}

#[async_trait]
impl SandboxProvider for RemoteProvider {
    fn name(&self) -> &'static str {
        "e2b"
    }

    async fn create(&self, spec: CreateSpec) -> Result<SandboxInfo, E2bError> {
        let secs = spec.timeout.as_secs().max(1);
        let s = self
            .api
            .create_sandbox(&spec.template, secs, &spec.metadata, &spec.env)
            .await?;
        if let Ok(mut t) = self.tokens.lock() {
            t.insert(s.sandbox_id.clone(), s.envd_access_token.clone());
        }
        let now = now_ms();
        let row = SandboxRow {
            id: format!("sbx_{}", &uuid::Uuid::new_v4().simple().to_string()[..16]),
            provider: "e2b".into(),
            template: spec.template.clone(),
            root: String::new(),
            remote_id: Some(s.sandbox_id.clone()),
            status: "running".into(),
            env: spec.env.clone(),
            metadata: spec.metadata.clone(),
            instance: self.instance.clone(),
            created_ms: now,
            expires_ms: now.saturating_add(i64::try_from(secs * 1000).unwrap_or(i64::MAX)),
        };
        store::insert_sandbox(&self.store, &row).await?;
        if !spec.files.is_empty() {
            let envd = self.envd(&s.sandbox_id).await?;
            for (path, data) in &spec.files {
                envd.write(&remote_path(path)?, data).await?;
            }
        }
        Ok(row.info())
    }

    async fn list(&self, include_ended: bool) -> Result<Vec<SandboxInfo>, E2bError> {
        let alive: Vec<String> = self
            .api
            .list_sandboxes()
            .await?
            .into_iter()
            .map(|s| s.sandbox_id)
            .collect();
        let now = now_ms();
        let mut out = Vec::new();
        for mut row in store::sandboxes(&self.store, "e2b", true).await? {
            let gone = row.status == "running"
                && row.remote_id.as_ref().is_some_and(|r| !alive.contains(r));
            if gone {
                store::set_sandbox_status(&self.store, &row.id, "expired", now).await?;
                row.status = "expired".into();
            }
            if include_ended || row.status == "running" {
                out.push(row.info());
            }
        }
        Ok(out)
    }

    async fn get(&self, id: &str) -> Result<SandboxInfo, E2bError> {
        Ok(self.row(id).await?.info())
    }

    async fn extend(&self, id: &str, timeout: Duration) -> Result<SandboxInfo, E2bError> {
        let (mut row, remote) = self.running(id).await?;
        self.api
            .set_timeout(&remote, timeout.as_secs().max(1))
            .await?;
        store::extend_row(&self.store, &mut row, now_ms(), timeout).await?;
        Ok(row.info())
    }

    async fn kill(&self, id: &str) -> Result<SandboxInfo, E2bError> {
        let (mut row, remote) = self.running(id).await?;
        self.api.kill_sandbox(&remote).await?;
        store::set_sandbox_status(&self.store, id, "killed", now_ms()).await?;
        row.status = "killed".into();
        Ok(row.info())
    }

    async fn run(
        &self,
        id: &str,
        mut req: RunRequest,
        sink: OutputSink,
    ) -> Result<RunOutput, E2bError> {
        let (row, remote) = self.running(id).await?;
        req.cwd = Some(remote_path(req.cwd.as_deref().unwrap_or(""))?);
        let mut env = row.env.clone();
        env.extend(req.env.clone());
        req.env = env;
        self.envd(&remote)
            .await?
            .run(&req, self.output_cap, sink)
            .await
    }

    async fn upload(&self, id: &str, path: &str, data: &[u8]) -> Result<u64, E2bError> {
        let (_, remote) = self.running(id).await?;
        self.envd(&remote)
            .await?
            .write(&remote_path(path)?, data)
            .await
    }

    async fn download(&self, id: &str, path: &str) -> Result<Vec<u8>, E2bError> {
        let (_, remote) = self.running(id).await?;
        self.envd(&remote).await?.read(&remote_path(path)?).await
    }

    async fn list_files(
        &self,
        id: &str,
        path: &str,
        depth: u32,
    ) -> Result<Vec<FileEntry>, E2bError> {
        let (_, remote) = self.running(id).await?;
        self.envd(&remote)
            .await?
            .list(&remote_path(path)?, depth.max(1))
            .await
    }
}
