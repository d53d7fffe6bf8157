//! The Docker sandbox provider, chosen instead of the directory provider
//! when `E2B_LOCAL_DOCKER=1` (or `[bundle_config.e2b] local_docker = true`)
//! and no E2B key is set. Each sandbox is a container of the template's
//! image and a row in `e2b_sandboxes` (provider `docker`, `remote_id` the
//! container id), so list, get, extend and kill work as for the other
//! providers. The daemon is reached through [`crate::docker_api`].
//!
//! - Image: `docker_image` when configured, else the template's
//!   `e2b.Dockerfile` rendered with its defaults and built through `/build`
//!   (a tar context holding `Dockerfile`), tagged
//!   `nt-e2b/<template>:<first 12 hex of its SHA-256>` so an edit rebuilds.
//! - Container: labelled `nt.e2b.sandbox=<id>` (and the instance, the
//!   template), kept alive by a shell loop, `WorkingDir` `/home/user`,
//!   `HostConfig.Memory` and `NanoCpus` from the template's resources,
//!   the configured network mode. Its environment is exactly the
//!   sandbox's plus `NT_SANDBOX_ID`; a run adds exactly the call's
//!   variables plus `NT_SANDBOX_RUN` — nothing of the server's.
//! - Runs: an exec attached to stdout and stderr (no TTY), read as the
//!   multiplexed stream, capped like local output; stdin is uploaded as a
//!   file and redirected. Docker has no call to signal an exec's
//!   processes, so a run that passes its timeout, or is cancelled, kills
//!   the container and the sandbox ends (`killed`).
//! - Files: `PUT`/`GET /containers/{id}/archive` with tar; paths are
//!   taken under `/home/user` with the same checks as the E2B provider.
//! - Life: a task per sandbox removes its container when its time passes
//!   (an extension moves that time), as listing or reading it also does.
//! - Restart: [`DockerProvider::open`] lists containers by label and
//!   removes those whose sandbox row is gone, ended or expired; running
//!   rows whose container is gone become `reaped`.
//!
//! Tested against a fake Engine API (`tests/docker_fake.rs`); no Docker
//! daemon was available where this was written.

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use base64::Engine as _;
use nt_mcp_core::Store;
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::config::DockerSettings;
use crate::docker_api::{
    Body, Demux, DockerClient, FrameKind, encode, first_file, tar_listing, tar_of,
};
use crate::error::E2bError;
use crate::exec::output_digest;
use crate::local::{MAX_DOWNLOAD, RUN_MARKER, SANDBOX_MARKER, now_ms};
use crate::provider::{
    CreateSpec, FileEntry, OutputEvent, OutputSink, RunOutput, RunRequest, RunStatus, SandboxInfo,
    SandboxProvider, Stream,
};
use crate::remote::{HOME, remote_path};
use crate::store::{self, SandboxRow};
use crate::templates::Registry;

/// Label naming a container's sandbox.
pub const LABEL_SANDBOX: &str = "nt.e2b.sandbox";
/// Label naming the server instance that made a container.
pub const LABEL_INSTANCE: &str = "nt.e2b.instance";
/// Label naming a container's template.
pub const LABEL_TEMPLATE: &str = "nt.e2b.template";
/// What keeps a sandbox container alive between runs.
pub const KEEPALIVE: &str = "trap 'exit 0' TERM INT; while :; do sleep 3600 & wait $!; done";

/// What [`DockerProvider::open`] cleaned up.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DockerReapReport {
    /// Containers removed: (container id, sandbox id from its label).
    pub removed: Vec<(String, String)>,
    /// Sandboxes whose time had passed, now `expired`.
    pub expired: Vec<String>,
    /// Running sandboxes whose container was gone, now `reaped`.
    pub reaped: Vec<String>,
}

/// The Docker provider.
pub struct DockerProvider {
    store: Store,
    client: DockerClient,
    registry: Registry,
    settings: DockerSettings,
    output_cap: usize,
    instance: String,
    build_lock: tokio::sync::Mutex<()>,
}

fn short_id() -> String {
    format!("sbx_{}", &uuid::Uuid::new_v4().simple().to_string()[..16])
}

/// Kills and removes a container; one already gone is not an error.
async fn remove_container(client: &DockerClient, cid: &str) -> Result<(), E2bError> {
    let kill = client
        .request("POST", &format!("/containers/{cid}/kill"), Body::Empty)
        .await?;
    // 404: no such container; 409: not running. Both fine here.
    if !matches!(kill.status, 404 | 409) {
        kill.ok("killing the container").await?;
    }
    let del = client
        .request(
            "DELETE",
            &format!("/containers/{cid}?force=true&v=true"),
            Body::Empty,
        )
        .await?;
    if del.status != 404 {
        del.ok("removing the container").await?;
    }
    Ok(())
}

struct Capture {
    kept: Vec<u8>,
    total: u64,
    hash: Sha256,
}

impl Capture {
    fn new() -> Self {
        Self {
            kept: Vec::new(),
            total: 0,
            hash: Sha256::new(),
        }
    }

    /// Takes `data`; returns the part kept under `cap`.
    fn take(&mut self, data: &[u8], cap: usize) -> &[u8] {
        self.total += data.len() as u64;
        self.hash.update(data);
        let n = cap.saturating_sub(self.kept.len()).min(data.len());
        let start = self.kept.len();
        self.kept.extend_from_slice(&data[..n]);
        &self.kept[start..]
    }

    fn render(&self) -> String {
        let mut text = String::from_utf8_lossy(&self.kept).into_owned();
        if self.total > self.kept.len() as u64 {
            text.push_str(&format!(
                "\n[output truncated: kept {} of {} bytes]",
                self.kept.len(),
                self.total
            ));
        }
        text
    }
}

impl DockerProvider {
    /// Opens the provider (the daemon must answer `_ping`) and reaps the
    /// containers and rows an earlier server left behind.
    pub async fn open(
        store: Store,
        settings: DockerSettings,
        registry: Registry,
        output_cap: usize,
    ) -> Result<(Self, DockerReapReport), E2bError> {
        let client = DockerClient::new(&settings.host)?;
        client
            .request("GET", "/_ping", Body::Empty)
            .await?
            .ok("ping")
            .await?;
        let provider = Self {
            store,
            client,
            registry,
            settings,
            output_cap,
            instance: format!("inst_{}", uuid::Uuid::new_v4().simple()),
            build_lock: tokio::sync::Mutex::new(()),
        };
        let report = provider.reap().await?;
        for row in store::sandboxes(&provider.store, "docker", false).await? {
            provider.watch(&row.id);
        }
        Ok((provider, report))
    }

    /// This server instance's id (on the containers' labels).
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// The client (for tests and diagnostics).
    pub fn client(&self) -> &DockerClient {
        &self.client
    }

    async fn reap(&self) -> Result<DockerReapReport, E2bError> {
        let mut report = DockerReapReport::default();
        let now = now_ms();
        let filters = json!({ "label": [LABEL_SANDBOX] }).to_string();
        let list = self
            .client
            .call(
                "GET",
                &format!("/containers/json?all=true&filters={}", encode(&filters)),
                Body::Empty,
                "listing sandbox containers",
            )
            .await?;
        let mut alive = HashSet::new();
        for c in list.as_array().cloned().unwrap_or_default() {
            let cid = c["Id"].as_str().unwrap_or_default().to_string();
            let sid = c["Labels"][LABEL_SANDBOX]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let keep = match store::sandbox(&self.store, &sid).await? {
                Some(row) => {
                    row.provider == "docker" && row.status == "running" && row.expires_ms > now
                }
                None => false,
            };
            if keep {
                alive.insert(cid);
            } else {
                self.remove(&cid).await?;
                report.removed.push((cid, sid));
            }
        }
        for row in store::sandboxes(&self.store, "docker", false).await? {
            let cid = row.remote_id.clone().unwrap_or_default();
            if row.expires_ms <= now {
                store::set_sandbox_status(&self.store, &row.id, "expired", now).await?;
                report.expired.push(row.id);
            } else if !alive.contains(&cid) {
                store::set_sandbox_status(&self.store, &row.id, "reaped", now).await?;
                report.reaped.push(row.id);
            }
        }
        if !report.removed.is_empty() || !report.expired.is_empty() || !report.reaped.is_empty() {
            tracing::info!(?report, "e2b docker provider reaped orphans");
        }
        Ok(report)
    }

    async fn remove(&self, cid: &str) -> Result<(), E2bError> {
        remove_container(&self.client, cid).await
    }

    /// Ends sandbox `id` when its time passes (re-reading its row, so an
    /// extension or a kill is seen), without waiting for a call to notice.
    fn watch(&self, id: &str) {
        let (store, client, id) = (self.store.clone(), self.client.clone(), id.to_string());
        tokio::spawn(async move {
            loop {
                let row = match store::sandbox(&store, &id).await {
                    Ok(Some(row)) if row.status == "running" => row,
                    _ => return,
                };
                let left = row.expires_ms - now_ms();
                if left > 0 {
                    let wait = u64::try_from(left.min(60_000)).unwrap_or(60_000);
                    tokio::time::sleep(Duration::from_millis(wait)).await;
                    continue;
                }
                if let Some(cid) = &row.remote_id
                    && let Err(e) = remove_container(&client, cid).await
                {
                    tracing::warn!(sandbox = %id, error = %e, "e2b docker: expired container not removed");
                    return;
                }
                let _ = store::set_sandbox_status(&store, &id, "expired", now_ms()).await;
                return;
            }
        });
    }

    async fn end(&self, row: &SandboxRow, status: &str) -> Result<(), E2bError> {
        if let Some(cid) = &row.remote_id {
            self.remove(cid).await?;
        }
        store::set_sandbox_status(&self.store, &row.id, status, now_ms()).await
    }

    async fn row(&self, id: &str) -> Result<SandboxRow, E2bError> {
        let mut row = match store::sandbox(&self.store, id).await? {
            Some(row) if row.provider == "docker" => row,
            _ => return Err(E2bError::NotFound(id.to_string())),
        };
        if row.status == "running" && row.expires_ms <= now_ms() {
            self.end(&row, "expired").await?;
            row.status = "expired".into();
        }
        Ok(row)
    }

    async fn running(&self, id: &str) -> Result<(SandboxRow, String), E2bError> {
        let row = self.row(id).await?;
        if row.status != "running" {
            return Err(E2bError::Ended {
                id: id.to_string(),
                status: row.status,
            });
        }
        let cid = row
            .remote_id
            .clone()
            .ok_or_else(|| E2bError::NotFound(id.to_string()))?;
        Ok((row, cid))
    }

    /// The image for `template`: the configured one, or the template's
    /// Dockerfile built once per content hash.
    pub async fn image_for(&self, template: &str) -> Result<String, E2bError> {
        if let Some(image) = &self.settings.image {
            return Ok(image.clone());
        }
        let t = self.registry.get(template)?;
        let dockerfile =
            crate::dockerfile::render(&t.dockerfile, &BTreeMap::new()).map_err(|reason| {
                E2bError::Template {
                    template: t.name.clone(),
                    field: "e2b.Dockerfile".into(),
                    reason,
                }
            })?;
        let digest = hex::encode(Sha256::digest(dockerfile.as_bytes()));
        let tag = format!("nt-e2b/{}:{}", t.name, &digest[..12]);
        let _guard = self.build_lock.lock().await;
        let probe = self
            .client
            .request("GET", &format!("/images/{tag}/json"), Body::Empty)
            .await?;
        if probe.status == 200 {
            return Ok(tag);
        }
        if probe.status != 404 {
            probe.ok("inspecting the image").await?;
        }
        let context = tar_of(&[("Dockerfile".to_string(), dockerfile.as_bytes())])?;
        let labels = json!({ LABEL_TEMPLATE: t.name }).to_string();
        let mut resp = self
            .client
            .request(
                "POST",
                &format!(
                    "/build?t={}&dockerfile=Dockerfile&rm=true&labels={}",
                    encode(&tag),
                    encode(&labels)
                ),
                Body::Tar(&context),
            )
            .await?
            .ok("building the template image")
            .await?;
        // The answer is a stream of JSON objects: `stream` lines, then an
        // `error` (with `errorDetail`) when a step fails.
        let body = resp.bytes(64 * 1024 * 1024).await?;
        let mut last = Vec::new();
        for v in serde_json::Deserializer::from_slice(&body).into_iter::<Value>() {
            let v = v.map_err(|e| E2bError::Docker(format!("build output: {e}")))?;
            if let Some(err) = v["error"].as_str() {
                return Err(E2bError::Docker(format!(
                    "building {tag} for template `{}` failed: {err}",
                    t.name
                )));
            }
            if let Some(s) = v["stream"].as_str() {
                last.push(s.trim_end().to_string());
            }
        }
        tracing::info!(%tag, steps = last.len(), "e2b docker image built");
        Ok(tag)
    }

    async fn put_files(&self, cid: &str, files: &[(String, &[u8])]) -> Result<(), E2bError> {
        let mut entries = Vec::new();
        for (path, data) in files {
            let full = remote_path(path)?;
            if full == HOME {
                return Err(E2bError::invalid(
                    "path",
                    "names the sandbox root, not a file",
                ));
            }
            entries.push((full.trim_start_matches('/').to_string(), *data));
        }
        let tar = tar_of(&entries)?;
        self.client
            .request(
                "PUT",
                &format!("/containers/{cid}/archive?path=%2F"),
                Body::Tar(&tar),
            )
            .await?
            .ok("writing files into the container")
            .await?;
        Ok(())
    }

    /// GETs the archive of `full`: its stat (name, size, mode) and the tar.
    async fn get_archive(&self, cid: &str, full: &str) -> Result<(Value, Vec<u8>), E2bError> {
        let mut resp = self
            .client
            .request(
                "GET",
                &format!("/containers/{cid}/archive?path={}", encode(full)),
                Body::Empty,
            )
            .await?;
        if resp.status == 404 {
            let rel = full
                .strip_prefix(HOME)
                .unwrap_or(full)
                .trim_start_matches('/');
            return Err(E2bError::invalid(
                "path",
                format!("`{rel}` does not exist in the sandbox"),
            ));
        }
        resp = resp.ok("reading from the container").await?;
        let stat = resp
            .header("x-docker-container-path-stat")
            .and_then(|h| base64::engine::general_purpose::STANDARD.decode(h).ok())
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
            .unwrap_or(Value::Null);
        if stat["size"].as_u64().unwrap_or(0) > MAX_DOWNLOAD {
            return Err(E2bError::invalid(
                "path",
                format!(
                    "`{full}` is {} bytes; downloads stop at {MAX_DOWNLOAD} bytes",
                    stat["size"]
                ),
            ));
        }
        let body = resp
            .bytes(usize::try_from(MAX_DOWNLOAD).unwrap_or(usize::MAX) + (1 << 20))
            .await?;
        Ok((stat, body))
    }

    async fn exec_create(&self, cid: &str, body: &Value) -> Result<String, E2bError> {
        let v = self
            .client
            .call(
                "POST",
                &format!("/containers/{cid}/exec"),
                Body::Json(body),
                "creating the exec",
            )
            .await?;
        v["Id"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| E2bError::Docker("exec create answered no Id".into()))
    }

    async fn exit_code(&self, exec: &str) -> Result<Option<i32>, E2bError> {
        for _ in 0..50 {
            let v = self
                .client
                .call(
                    "GET",
                    &format!("/exec/{exec}/json"),
                    Body::Empty,
                    "inspecting the exec",
                )
                .await?;
            if v["Running"].as_bool() != Some(true) {
                return Ok(v["ExitCode"].as_i64().and_then(|c| i32::try_from(c).ok()));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(None)
    }

    /// Starts `command` detached in sandbox `id` (a template's start
    /// command); its output goes to `/home/user/start.log`.
    pub async fn start_background(
        &self,
        id: &str,
        run_id: &str,
        command: &str,
    ) -> Result<(), E2bError> {
        let (_, cid) = self.running(id).await?;
        let exec = self
            .exec_create(
                &cid,
                &json!({
                    "AttachStdout": false, "AttachStderr": false, "Tty": false,
                    "Cmd": ["/bin/sh", "-c", "exec /bin/sh -c \"$1\" > start.log 2>&1", "sh", command],
                    "Env": [format!("{RUN_MARKER}={run_id}")],
                    "WorkingDir": HOME,
                }),
            )
            .await?;
        self.client
            .request(
                "POST",
                &format!("/exec/{exec}/start"),
                Body::Json(&json!({"Detach": true, "Tty": false})),
            )
            .await?
            .ok("starting the start command")
            .await?;
        Ok(())
    }
}

#[async_trait]
impl SandboxProvider for DockerProvider {
    fn name(&self) -> &'static str {
        "docker"
    }

    async fn create(&self, spec: CreateSpec) -> Result<SandboxInfo, E2bError> {
        let image = self.image_for(&spec.template).await?;
        let resources = self
            .registry
            .get(&spec.template)
            .ok()
            .map(|t| t.meta.resources);
        let id = short_id();
        let mut env: Vec<String> = spec.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
        env.push(format!("{SANDBOX_MARKER}={id}"));
        let mut host = json!({ "NetworkMode": self.settings.network });
        if let Some(r) = &resources {
            if r.memory_mb > 0 {
                host["Memory"] = json!(u64::from(r.memory_mb) * 1024 * 1024);
            }
            if r.cpu_count > 0 {
                host["NanoCpus"] = json!(u64::from(r.cpu_count) * 1_000_000_000);
            }
        }
        let body = json!({
            "Image": image,
            "Entrypoint": ["/bin/sh", "-c"],
            "Cmd": [KEEPALIVE],
            "Env": env,
            "WorkingDir": HOME,
            "Labels": {
                LABEL_SANDBOX: id,
                LABEL_INSTANCE: self.instance,
                LABEL_TEMPLATE: spec.template,
            },
            "HostConfig": host,
        });
        let created = self
            .client
            .call(
                "POST",
                &format!("/containers/create?name=nt-e2b-{id}"),
                Body::Json(&body),
                "creating the container",
            )
            .await?;
        let cid = created["Id"]
            .as_str()
            .ok_or_else(|| E2bError::Docker("container create answered no Id".into()))?
            .to_string();
        let now = now_ms();
        let row = SandboxRow {
            id: id.clone(),
            provider: "docker".into(),
            template: spec.template.clone(),
            root: String::new(),
            remote_id: Some(cid.clone()),
            status: "running".into(),
            env: spec.env.clone(),
            metadata: spec.metadata.clone(),
            instance: self.instance.clone(),
            created_ms: now,
            expires_ms: now
                .saturating_add(i64::try_from(spec.timeout.as_millis()).unwrap_or(i64::MAX)),
        };
        store::insert_sandbox(&self.store, &row).await?;
        let started = async {
            if !spec.files.is_empty() {
                let files: Vec<(String, &[u8])> = spec
                    .files
                    .iter()
                    .map(|(p, d)| (p.clone(), d.as_slice()))
                    .collect();
                self.put_files(&cid, &files).await?;
            }
            self.client
                .request("POST", &format!("/containers/{cid}/start"), Body::Empty)
                .await?
                .ok("starting the container")
                .await
                .map(|_| ())
        }
        .await;
        if let Err(e) = started {
            let _ = self.end(&row, "killed").await;
            return Err(e);
        }
        self.watch(&row.id);
        Ok(row.info())
    }

    async fn list(&self, include_ended: bool) -> Result<Vec<SandboxInfo>, E2bError> {
        let now = now_ms();
        for row in store::sandboxes(&self.store, "docker", false).await? {
            if row.expires_ms <= now {
                self.end(&row, "expired").await?;
            }
        }
        store::infos(&self.store, "docker", include_ended).await
    }

    async fn get(&self, id: &str) -> Result<SandboxInfo, E2bError> {
        Ok(self.row(id).await?.info())
    }

    async fn extend(&self, id: &str, timeout: Duration) -> Result<SandboxInfo, E2bError> {
        let (mut row, _) = self.running(id).await?;
        store::extend_row(&self.store, &mut row, now_ms(), timeout).await?;
        Ok(row.info())
    }

    async fn kill(&self, id: &str) -> Result<SandboxInfo, E2bError> {
        let (mut row, _) = self.running(id).await?;
        self.end(&row, "killed").await?;
        row.status = "killed".into();
        Ok(row.info())
    }

    async fn run(
        &self,
        id: &str,
        req: RunRequest,
        sink: OutputSink,
    ) -> Result<RunOutput, E2bError> {
        let started = Instant::now();
        let (row, cid) = self.running(id).await?;
        let cwd = remote_path(req.cwd.as_deref().unwrap_or(""))?;
        let mut env: Vec<String> = req.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
        env.push(format!("{RUN_MARKER}={}", req.run_id));
        let cmd = match &req.stdin {
            Some(bytes) => {
                let rel = format!("/tmp/.nt-stdin-{}", req.run_id);
                let tar = tar_of(&[(rel.trim_start_matches('/').to_string(), bytes.as_slice())])?;
                self.client
                    .request(
                        "PUT",
                        &format!("/containers/{cid}/archive?path=%2F"),
                        Body::Tar(&tar),
                    )
                    .await?
                    .ok("writing stdin into the container")
                    .await?;
                json!([
                    "/bin/sh",
                    "-c",
                    "exec 0<\"$2\"; rm -f \"$2\"; exec /bin/sh -c \"$1\"",
                    "sh",
                    req.command,
                    rel
                ])
            }
            None => json!(["/bin/sh", "-c", req.command]),
        };
        let exec = self
            .exec_create(
                &cid,
                &json!({
                    "AttachStdin": false, "AttachStdout": true, "AttachStderr": true,
                    "Tty": false, "Cmd": cmd, "Env": env, "WorkingDir": cwd,
                }),
            )
            .await?;
        let mut resp = self
            .client
            .request(
                "POST",
                &format!("/exec/{exec}/start"),
                Body::Json(&json!({"Detach": false, "Tty": false})),
            )
            .await?
            .ok("starting the exec")
            .await?;
        let cap = self.output_cap;
        let (mut out, mut err) = (Capture::new(), Capture::new());
        let mut demux = Demux::default();
        let read = async {
            while let Some(chunk) = resp.chunk().await? {
                for (kind, data) in demux.push(&chunk)? {
                    let (c, stream) = match kind {
                        FrameKind::Stdout => (&mut out, Stream::Stdout),
                        FrameKind::Stderr => (&mut err, Stream::Stderr),
                        FrameKind::Stdin => continue,
                    };
                    let kept = c.take(&data, cap);
                    if let (Some(tx), false) = (&sink, kept.is_empty()) {
                        let _ = tx.send(OutputEvent {
                            stream,
                            data: kept.to_vec(),
                        });
                    }
                }
            }
            Ok::<(), E2bError>(())
        };
        let ended = tokio::select! {
            r = read => { r?; None }
            () = tokio::time::sleep(req.timeout) => Some(RunStatus::Timeout),
            () = req.cancel.cancelled() => Some(RunStatus::Killed),
        };
        let (status, exit_code) = match ended {
            None => (RunStatus::Exited, self.exit_code(&exec).await?),
            Some(s) => {
                // No exec kill in the Engine API: the container goes.
                self.end(&row, "killed").await?;
                (s, None)
            }
        };
        let digest = output_digest(
            &out.hash.clone().finalize().into(),
            &err.hash.clone().finalize().into(),
        );
        Ok(RunOutput {
            stdout: out.render(),
            stderr: err.render(),
            exit_code,
            status,
            stdout_bytes: out.total,
            stderr_bytes: err.total,
            truncated: out.total > out.kept.len() as u64 || err.total > err.kept.len() as u64,
            output_digest: digest,
            duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        })
    }

    async fn upload(&self, id: &str, path: &str, data: &[u8]) -> Result<u64, E2bError> {
        let (_, cid) = self.running(id).await?;
        self.put_files(&cid, &[(path.to_string(), data)]).await?;
        Ok(data.len() as u64)
    }

    async fn download(&self, id: &str, path: &str) -> Result<Vec<u8>, E2bError> {
        let (_, cid) = self.running(id).await?;
        let full = remote_path(path)?;
        let (stat, tar) = self.get_archive(&cid, &full).await?;
        // Go's os.FileMode: the directory bit is 1 << 31.
        if stat["mode"].as_u64().unwrap_or(0) & (1 << 31) != 0 {
            return Err(E2bError::invalid(
                "path",
                format!("`{path}` is not a file in the sandbox"),
            ));
        }
        if let Some(data) = first_file(&tar)? {
            return Ok(data);
        }
        Err(E2bError::invalid(
            "path",
            format!("`{path}` is not a file in the sandbox"),
        ))
    }

    async fn list_files(
        &self,
        id: &str,
        path: &str,
        depth: u32,
    ) -> Result<Vec<FileEntry>, E2bError> {
        let (_, cid) = self.running(id).await?;
        let full = remote_path(path)?;
        let (stat, tar) = self.get_archive(&cid, &full).await?;
        if stat["mode"].as_u64().unwrap_or(0) & (1 << 31) == 0 {
            return Err(E2bError::invalid(
                "path",
                format!("`{path}` is not a directory in the sandbox"),
            ));
        }
        let base = full
            .strip_prefix(HOME)
            .unwrap_or("")
            .trim_start_matches('/')
            .to_string();
        tar_listing(&tar, &base, depth)
    }
}
