//! The local sandbox provider: each sandbox is a directory under a root
//! folder and a row in `e2b_sandboxes`; each process runs through
//! [`crate::exec`] in its own process group with an environment built only
//! from the sandbox's and the call's variables (plus `PATH`, `HOME` and
//! the `NT_SANDBOX_ID` / `NT_SANDBOX_RUN` markers), never the server's.
//!
//! The markers let a restarted server find what an earlier instance left
//! running: [`LocalProvider::open`] kills every process whose environment
//! names a run still marked `running` by an instance that is gone (see
//! [`crate::instance`]: a live server sharing the database keeps its runs), and ends the
//! sandboxes whose time has passed (processes killed, directory removed).
//!
//! What it is not: a filesystem or network jail. Processes run as the
//! server's user; the path checks guard the bundle's own file tools
//! (upload, download, cwd), not what a process may open by absolute path.
//! Untrusted code belongs in E2B (set `E2B_API_KEY`). The environment a
//! caller gives is kept in the sandbox's row so runs after a restart get
//! it: callers' secrets passed as env are stored in the database.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use nt_mcp_core::Store;
use nt_mcp_core::bundle::CancellationToken;
use serde::Serialize;

use crate::error::E2bError;
use crate::exec::{Limits, ProcessSpec, kill_group, run_process};
use crate::instance::Instance;
use crate::paths::{relative, resolve};
use crate::provider::{
    CreateSpec, FileEntry, OutputSink, RunOutput, RunRequest, SandboxInfo, SandboxProvider,
};
use crate::store::{self, SandboxRow};

/// `PATH` a sandbox process gets unless the call sets its own.
pub const SANDBOX_PATH: &str = "/usr/local/bin:/usr/bin:/bin";
/// Largest file `download` reads.
pub const MAX_DOWNLOAD: u64 = 64 * 1024 * 1024;
/// Environment marker naming the sandbox of a process.
pub const SANDBOX_MARKER: &str = "NT_SANDBOX_ID";
/// Environment marker naming the run of a process.
pub const RUN_MARKER: &str = "NT_SANDBOX_RUN";

/// Where local sandboxes live and how they are limited.
#[derive(Debug, Clone)]
pub struct LocalConfig {
    /// Folder holding one directory per sandbox.
    pub root: PathBuf,
    /// Limits of every process.
    pub limits: Limits,
}

/// What [`LocalProvider::open`] cleaned up.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ReapReport {
    /// Runs another instance left `running`, now `orphaned`.
    pub orphan_runs: Vec<String>,
    /// Processes killed.
    pub killed_pids: Vec<i32>,
    /// Sandboxes whose time had passed, now `expired`.
    pub expired: Vec<String>,
}

struct LiveRun {
    run_id: String,
    pgid: Arc<Mutex<i32>>,
    cancel: CancellationToken,
}

/// The local provider.
pub struct LocalProvider {
    store: Store,
    config: LocalConfig,
    instance: Instance,
    live: Mutex<HashMap<String, Vec<LiveRun>>>,
}

/// Milliseconds since the epoch now.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Pids of this user's processes whose environment holds `KEY=value`
/// (Linux `/proc`; elsewhere none are found).
pub fn marked_pids(key: &str, value: &str) -> Vec<i32> {
    let wanted = format!("{key}={value}");
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let me = std::process::id();
    let mut pids = Vec::new();
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == me {
            continue;
        }
        let Ok(environ) = std::fs::read(entry.path().join("environ")) else {
            continue;
        };
        if environ.split(|b| *b == 0).any(|v| v == wanted.as_bytes())
            && let Ok(pid) = i32::try_from(pid)
        {
            pids.push(pid);
        }
    }
    pids
}

fn kill_marked(key: &str, value: &str) -> Vec<i32> {
    let pids = marked_pids(key, value);
    for pid in &pids {
        let _ = kill(Pid::from_raw(*pid), Signal::SIGKILL);
    }
    pids
}

impl LocalProvider {
    /// Opens the provider over `store` (migrated), creating the root folder
    /// and reaping what an earlier server instance left behind.
    pub async fn open(store: Store, config: LocalConfig) -> Result<(Self, ReapReport), E2bError> {
        std::fs::create_dir_all(&config.root)?;
        let provider = Self {
            store,
            config,
            instance: Instance::new(),
            live: Mutex::new(HashMap::new()),
        };
        let mut report = ReapReport::default();
        for (run_id, _sandbox, owner) in
            store::foreign_running_runs(&provider.store, provider.instance.id()).await?
        {
            // A live neighbour's run (another server on this database) is
            // not ours to reap.
            if !crate::instance::is_gone(&owner) {
                continue;
            }
            report.killed_pids.extend(kill_marked(RUN_MARKER, &run_id));
            store::fail_run(
                &provider.store,
                &run_id,
                "the server instance running it stopped; its processes were killed at restart",
                "orphaned",
            )
            .await?;
            report.orphan_runs.push(run_id);
        }
        let (expired, pids) = provider.sweep().await?;
        report.expired = expired;
        report.killed_pids.extend(pids);
        if !report.orphan_runs.is_empty() || !report.expired.is_empty() {
            tracing::info!(?report, "e2b local provider reaped orphans");
        }
        Ok((provider, report))
    }

    /// This server instance's id (written on the rows it creates).
    pub fn instance(&self) -> &str {
        self.instance.id()
    }

    /// The configuration.
    pub fn config(&self) -> &LocalConfig {
        &self.config
    }

    /// Ends every running sandbox whose time has passed; returns their ids
    /// and the pids killed.
    pub async fn sweep(&self) -> Result<(Vec<String>, Vec<i32>), E2bError> {
        let now = now_ms();
        let mut ended = Vec::new();
        let mut pids = Vec::new();
        for row in store::sandboxes(&self.store, "local", false).await? {
            if row.expires_ms <= now {
                pids.extend(self.end(&row, "expired").await?);
                ended.push(row.id);
            }
        }
        Ok((ended, pids))
    }

    async fn end(&self, row: &SandboxRow, status: &str) -> Result<Vec<i32>, E2bError> {
        let runs = self
            .live
            .lock()
            .map(|mut live| live.remove(&row.id).unwrap_or_default())
            .unwrap_or_default();
        for run in &runs {
            run.cancel.cancel();
            let pgid = run.pgid.lock().map(|g| *g).unwrap_or(0);
            kill_group(pgid);
        }
        let pids = kill_marked(SANDBOX_MARKER, &row.id);
        store::set_sandbox_status(&self.store, &row.id, status, now_ms()).await?;
        let dir = Path::new(&row.root);
        if dir.starts_with(&self.config.root) && dir.exists() {
            let _ = tokio::fs::remove_dir_all(dir).await;
        }
        Ok(pids)
    }

    async fn running(&self, id: &str) -> Result<SandboxRow, E2bError> {
        let row = self.row(id).await?;
        if row.status != "running" {
            return Err(E2bError::Ended {
                id: id.to_string(),
                status: row.status,
            });
        }
        Ok(row)
    }

    async fn row(&self, id: &str) -> Result<SandboxRow, E2bError> {
        let mut row = match store::sandbox(&self.store, id).await? {
            Some(row) if row.provider == "local" => row,
            _ => return Err(E2bError::NotFound(id.to_string())),
        };
        if row.status == "running" && row.expires_ms <= now_ms() {
            self.end(&row, "expired").await?;
            row.status = "expired".into();
        }
        Ok(row)
    }

    fn env_for(
        &self,
        row: &SandboxRow,
        run_env: &BTreeMap<String, String>,
        run_id: &str,
    ) -> BTreeMap<String, String> {
        let mut env = BTreeMap::new();
        env.insert("PATH".to_string(), SANDBOX_PATH.to_string());
        env.insert("HOME".to_string(), row.root.clone());
        env.extend(row.env.clone());
        env.extend(run_env.clone());
        env.insert(SANDBOX_MARKER.to_string(), row.id.clone());
        env.insert(RUN_MARKER.to_string(), run_id.to_string());
        env
    }

    /// Starts `command` in the background of sandbox `id` (a template's
    /// start command): it lives until the sandbox ends; its output lands in
    /// `start.log` in the sandbox when it stops.
    pub async fn start_background(
        &self,
        id: &str,
        run_id: &str,
        command: &str,
    ) -> Result<(), E2bError> {
        let row = self.running(id).await?;
        let remaining =
            Duration::from_millis(u64::try_from(row.expires_ms - now_ms()).unwrap_or(0));
        let spec = ProcessSpec {
            command: command.to_string(),
            cwd: PathBuf::from(&row.root),
            env: self.env_for(&row, &BTreeMap::new(), run_id),
            stdin: None,
            timeout: remaining,
            limits: self.config.limits,
        };
        let cancel = CancellationToken::new();
        let pgid = Arc::new(Mutex::new(0));
        self.register(id, run_id, pgid.clone(), cancel.clone());
        let store = self.store.clone();
        let run_id = run_id.to_string();
        let root = PathBuf::from(&row.root);
        tokio::spawn(async move {
            let slot = pgid.clone();
            let result = run_process(spec, None, cancel, move |g| {
                if let Ok(mut s) = slot.lock() {
                    *s = g;
                }
            })
            .await;
            match result {
                Ok(out) => {
                    let log = format!("{}{}", out.stdout, out.stderr);
                    let _ = tokio::fs::write(root.join("start.log"), log).await;
                    let _ = store::finish_run(&store, &run_id, &out).await;
                }
                Err(e) => {
                    let _ = store::fail_run(&store, &run_id, &e.to_string(), "failed").await;
                }
            }
        });
        Ok(())
    }

    fn register(&self, id: &str, run_id: &str, pgid: Arc<Mutex<i32>>, cancel: CancellationToken) {
        if let Ok(mut live) = self.live.lock() {
            live.entry(id.to_string()).or_default().push(LiveRun {
                run_id: run_id.to_string(),
                pgid,
                cancel,
            });
        }
    }

    fn unregister(&self, id: &str, run_id: &str) {
        if let Ok(mut live) = self.live.lock()
            && let Some(runs) = live.get_mut(id)
        {
            runs.retain(|r| r.run_id != run_id);
        }
    }

    /// The directory of sandbox `id`.
    pub async fn dir(&self, id: &str) -> Result<PathBuf, E2bError> {
        Ok(PathBuf::from(self.running(id).await?.root))
    }
}

fn walk(root: &Path, dir: &Path, depth: u32, out: &mut Vec<FileEntry>) -> Result<(), E2bError> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let meta = std::fs::symlink_metadata(entry.path())?;
        let kind = if meta.file_type().is_symlink() {
            "symlink"
        } else if meta.is_dir() {
            "dir"
        } else {
            "file"
        };
        out.push(FileEntry {
            path: relative(root, &entry.path()),
            kind: kind.to_string(),
            size: if kind == "file" { meta.len() } else { 0 },
        });
        if kind == "dir" && depth > 1 {
            walk(root, &entry.path(), depth - 1, out)?;
        }
    }
    Ok(())
}

#[async_trait]
impl SandboxProvider for LocalProvider {
    fn name(&self) -> &'static str {
        "local"
    }

    async fn create(&self, spec: CreateSpec) -> Result<SandboxInfo, E2bError> {
        let id = format!("sbx_{}", &uuid::Uuid::new_v4().simple().to_string()[..16]);
        let root = self.config.root.join(&id);
        std::fs::create_dir_all(&root)?;
        for (path, data) in &spec.files {
            let full = resolve(&root, path)?;
            if let Some(parent) = full.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(full, data)?;
        }
        let now = now_ms();
        let row = SandboxRow {
            id,
            provider: "local".into(),
            template: spec.template,
            root: root.to_string_lossy().into_owned(),
            remote_id: None,
            status: "running".into(),
            env: spec.env,
            metadata: spec.metadata,
            instance: self.instance.id().to_string(),
            created_ms: now,
            expires_ms: now.saturating_add(ms(spec.timeout)),
        };
        store::insert_sandbox(&self.store, &row).await?;
        Ok(row.info())
    }

    async fn list(&self, include_ended: bool) -> Result<Vec<SandboxInfo>, E2bError> {
        self.sweep().await?;
        store::infos(&self.store, "local", include_ended).await
    }

    async fn get(&self, id: &str) -> Result<SandboxInfo, E2bError> {
        Ok(self.row(id).await?.info())
    }

    async fn extend(&self, id: &str, timeout: Duration) -> Result<SandboxInfo, E2bError> {
        let mut row = self.running(id).await?;
        store::extend_row(&self.store, &mut row, now_ms(), timeout).await?;
        Ok(row.info())
    }

    async fn kill(&self, id: &str) -> Result<SandboxInfo, E2bError> {
        let mut row = self.running(id).await?;
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
        let row = self.running(id).await?;
        let root = PathBuf::from(&row.root);
        let cwd = match req.cwd.as_deref() {
            Some(c) if !c.trim().is_empty() => resolve(&root, c)?,
            _ => root.clone(),
        };
        if !cwd.is_dir() {
            return Err(E2bError::invalid(
                "cwd",
                "is not a directory in the sandbox",
            ));
        }
        let remaining =
            Duration::from_millis(u64::try_from(row.expires_ms - now_ms()).unwrap_or(0));
        let spec = ProcessSpec {
            command: req.command.clone(),
            cwd,
            env: self.env_for(&row, &req.env, &req.run_id),
            stdin: req.stdin.clone(),
            timeout: req.timeout.min(remaining),
            limits: self.config.limits,
        };
        let cancel = req.cancel.child_token();
        let pgid = Arc::new(Mutex::new(0));
        self.register(id, &req.run_id, pgid.clone(), cancel.clone());
        let result = run_process(spec, sink, cancel, move |g| {
            if let Ok(mut s) = pgid.lock() {
                *s = g;
            }
        })
        .await;
        self.unregister(id, &req.run_id);
        result
    }

    async fn upload(&self, id: &str, path: &str, data: &[u8]) -> Result<u64, E2bError> {
        let root = self.dir(id).await?;
        let full = resolve(&root, path)?;
        if full == root {
            return Err(E2bError::invalid(
                "path",
                "names the sandbox root, not a file",
            ));
        }
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent)?;
        }
        tokio::fs::write(&full, data).await?;
        Ok(data.len() as u64)
    }

    async fn download(&self, id: &str, path: &str) -> Result<Vec<u8>, E2bError> {
        let root = self.dir(id).await?;
        let full = resolve(&root, path)?;
        if !full.is_file() {
            return Err(E2bError::invalid(
                "path",
                format!("`{path}` is not a file in the sandbox"),
            ));
        }
        let size = std::fs::metadata(&full)?.len();
        if size > MAX_DOWNLOAD {
            return Err(E2bError::invalid(
                "path",
                format!("`{path}` is {size} bytes; downloads stop at {MAX_DOWNLOAD} bytes"),
            ));
        }
        Ok(tokio::fs::read(full).await?)
    }

    async fn list_files(
        &self,
        id: &str,
        path: &str,
        depth: u32,
    ) -> Result<Vec<FileEntry>, E2bError> {
        let root = self.dir(id).await?;
        let full = resolve(&root, path)?;
        if !full.is_dir() {
            return Err(E2bError::invalid(
                "path",
                format!("`{path}` is not a directory in the sandbox"),
            ));
        }
        let mut out = Vec::new();
        walk(&root, &full, depth.max(1), &mut out)?;
        Ok(out)
    }
}
