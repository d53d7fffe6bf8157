//! The [`SandboxProvider`] contract both providers implement (the local
//! directory provider and the E2B cloud), and the values that cross it.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use serde::Serialize;
use tokio::sync::mpsc::UnboundedSender;

use crate::error::E2bError;

/// What a new sandbox is made from.
#[derive(Debug, Clone, Default)]
pub struct CreateSpec {
    /// Template name (`base`, `trading-bot`).
    pub template: String,
    /// Wall-clock life of the sandbox; it is killed when it passes.
    pub timeout: Duration,
    /// Environment every process in the sandbox gets (the template's plus the call's).
    pub env: BTreeMap<String, String>,
    /// Free-form labels.
    pub metadata: BTreeMap<String, String>,
    /// Files to place in the sandbox at creation (relative path, bytes).
    pub files: Vec<(String, Vec<u8>)>,
}

/// A sandbox as the providers describe it.
#[derive(Debug, Clone, Serialize)]
pub struct SandboxInfo {
    /// Our sandbox id.
    pub id: String,
    /// `local` or `e2b`.
    pub provider: String,
    /// Template it was made from.
    pub template: String,
    /// `running`, `killed`, `expired` or `reaped`.
    pub status: String,
    /// The E2B sandbox id when remote.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote_id: Option<String>,
    /// Creation time, ms since the epoch.
    pub created_ms: i64,
    /// When it is killed unless extended, ms since the epoch.
    pub expires_ms: i64,
    /// Labels given at creation.
    pub metadata: BTreeMap<String, String>,
    /// Names (never values) of the environment variables it carries.
    pub env_keys: Vec<String>,
}

/// A process to run in a sandbox.
#[derive(Debug, Clone, Default)]
pub struct RunRequest {
    /// Shell command line (run by `/bin/sh -c` inside the sandbox).
    pub command: String,
    /// Working directory relative to the sandbox root.
    pub cwd: Option<String>,
    /// Extra environment for this run (on top of the sandbox's).
    pub env: BTreeMap<String, String>,
    /// Bytes written to the process's standard input, then closed.
    pub stdin: Option<Vec<u8>>,
    /// Wall-clock limit; the whole process group is killed when it passes.
    pub timeout: Duration,
    /// The run record id (tags the processes so they can be found again).
    pub run_id: String,
    /// Cancelled when the caller gives up; the process group is then killed.
    pub cancel: nt_mcp_core::bundle::CancellationToken,
}

/// Which stream a chunk of output came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Stream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// A chunk of output while a process runs.
#[derive(Debug, Clone)]
pub struct OutputEvent {
    /// Which stream.
    pub stream: Stream,
    /// The bytes as read.
    pub data: Vec<u8>,
}

/// Where streamed output goes while a process runs (none: only the final answer).
pub type OutputSink = Option<UnboundedSender<OutputEvent>>;

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    /// The process exited by itself (see the exit code).
    Exited,
    /// The wall-clock limit passed; the group was killed.
    Timeout,
    /// The call was cancelled or the sandbox killed; the group was killed.
    Killed,
}

impl RunStatus {
    /// The status as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Exited => "exited",
            RunStatus::Timeout => "timeout",
            RunStatus::Killed => "killed",
        }
    }
}

/// The result of a finished run.
#[derive(Debug, Clone, Serialize)]
pub struct RunOutput {
    /// Kept standard output (lossy UTF-8), with a truncation note when capped.
    pub stdout: String,
    /// Kept standard error (lossy UTF-8), with a truncation note when capped.
    pub stderr: String,
    /// Exit code; `None` when killed by a signal.
    pub exit_code: Option<i32>,
    /// How it ended.
    pub status: RunStatus,
    /// Bytes the process wrote to stdout in all.
    pub stdout_bytes: u64,
    /// Bytes the process wrote to stderr in all.
    pub stderr_bytes: u64,
    /// Whether either stream was cut at the cap.
    pub truncated: bool,
    /// SHA-256 (hex) of everything written to stdout, then stderr.
    pub output_digest: String,
    /// Wall time in milliseconds.
    pub duration_ms: u64,
}

/// One entry of a sandbox directory.
#[derive(Debug, Clone, Serialize)]
pub struct FileEntry {
    /// Path relative to the sandbox root.
    pub path: String,
    /// `file`, `dir` or `symlink`.
    pub kind: String,
    /// Size in bytes (files).
    pub size: u64,
}

/// A place sandboxes live: a local directory tree or the E2B cloud.
#[async_trait]
pub trait SandboxProvider: Send + Sync {
    /// `local` or `e2b`.
    fn name(&self) -> &'static str;
    /// Creates a sandbox.
    async fn create(&self, spec: CreateSpec) -> Result<SandboxInfo, E2bError>;
    /// Sandboxes known to this provider; ended ones too when `include_ended`.
    async fn list(&self, include_ended: bool) -> Result<Vec<SandboxInfo>, E2bError>;
    /// One sandbox.
    async fn get(&self, id: &str) -> Result<SandboxInfo, E2bError>;
    /// Sets the sandbox to end `timeout` from now.
    async fn extend(&self, id: &str, timeout: Duration) -> Result<SandboxInfo, E2bError>;
    /// Kills the sandbox and every process in it.
    async fn kill(&self, id: &str) -> Result<SandboxInfo, E2bError>;
    /// Runs a process to its end (or its timeout), streaming output to `sink`.
    async fn run(&self, id: &str, req: RunRequest, sink: OutputSink)
    -> Result<RunOutput, E2bError>;
    /// Writes a file (parents created); returns the bytes written.
    async fn upload(&self, id: &str, path: &str, data: &[u8]) -> Result<u64, E2bError>;
    /// Reads a file.
    async fn download(&self, id: &str, path: &str) -> Result<Vec<u8>, E2bError>;
    /// Lists a directory (recursively up to `depth`).
    async fn list_files(
        &self,
        id: &str,
        path: &str,
        depth: u32,
    ) -> Result<Vec<FileEntry>, E2bError>;
}
