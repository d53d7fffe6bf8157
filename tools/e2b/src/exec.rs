//! Running one process in a local sandbox: its own process group, an
//! environment built from nothing (`env_clear`), CPU-time, memory and
//! file-size limits set by `ulimit` in a wrapping `/bin/sh` (no unsafe
//! code), output read as it comes with a cap per stream, and the whole
//! group killed (`killpg`, SIGKILL) on timeout, cancellation, or once the
//! leader has exited, so no grandchild outlives its run.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use nt_mcp_core::bundle::CancellationToken;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

use crate::error::E2bError;
use crate::provider::{OutputEvent, OutputSink, RunOutput, RunStatus, Stream};

/// Resource limits applied to every process of a local sandbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// CPU seconds per process (`ulimit -t`); 0 = unlimited.
    pub cpu_secs: u64,
    /// Virtual memory per process in MiB (`ulimit -v`); 0 = unlimited.
    pub memory_mb: u64,
    /// Largest file a process may write, in MiB (`ulimit -f`); 0 = unlimited.
    pub file_mb: u64,
    /// Bytes kept per stream (stdout, stderr); the rest is counted, not kept.
    pub output_cap: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            cpu_secs: 600,
            memory_mb: 2048,
            file_mb: 256,
            output_cap: 64 * 1024,
        }
    }
}

impl Limits {
    /// The `ulimit` prefix of the wrapper script. `/bin/sh` (POSIX) counts
    /// `-f` in 512-byte blocks and `-v` in KiB.
    pub fn ulimit_script(&self) -> String {
        let mut parts = Vec::new();
        if self.cpu_secs > 0 {
            parts.push(format!("ulimit -t {}", self.cpu_secs));
        }
        if self.memory_mb > 0 {
            parts.push(format!("ulimit -v {}", self.memory_mb * 1024));
        }
        if self.file_mb > 0 {
            parts.push(format!("ulimit -f {}", self.file_mb * 2048));
        }
        parts.push("exec /bin/sh -c \"$1\"".to_string());
        parts.join(" && ")
    }
}

/// One process to start.
#[derive(Debug, Clone)]
pub struct ProcessSpec {
    /// Shell command line.
    pub command: String,
    /// Working directory (already resolved inside the sandbox).
    pub cwd: PathBuf,
    /// The complete environment of the process (nothing else is inherited).
    pub env: BTreeMap<String, String>,
    /// Standard input bytes, then EOF; `None` gives an empty stdin.
    pub stdin: Option<Vec<u8>>,
    /// Wall-clock limit.
    pub timeout: Duration,
    /// Resource limits.
    pub limits: Limits,
}

/// Kills every process of group `pgid` (ignores a group already gone).
pub fn kill_group(pgid: i32) {
    if pgid > 1 {
        let _ = killpg(Pid::from_raw(pgid), Signal::SIGKILL);
    }
}

struct Captured {
    kept: Vec<u8>,
    total: u64,
    digest: [u8; 32],
}

async fn capture<R: AsyncRead + Unpin>(
    mut reader: R,
    cap: usize,
    stream: Stream,
    sink: OutputSink,
) -> Captured {
    let mut kept = Vec::new();
    let mut total = 0u64;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 8192];
    loop {
        let n = match reader.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        total += n as u64;
        hasher.update(&buf[..n]);
        let room = cap.saturating_sub(kept.len());
        if room > 0 {
            let take = room.min(n);
            kept.extend_from_slice(&buf[..take]);
            if let Some(tx) = &sink {
                let _ = tx.send(OutputEvent {
                    stream,
                    data: buf[..take].to_vec(),
                });
            }
        }
    }
    Captured {
        kept,
        total,
        digest: hasher.finalize().into(),
    }
}

fn render(c: &Captured) -> String {
    let mut text = String::from_utf8_lossy(&c.kept).into_owned();
    if c.total > c.kept.len() as u64 {
        text.push_str(&format!(
            "\n[output truncated: kept {} of {} bytes]",
            c.kept.len(),
            c.total
        ));
    }
    text
}

/// The run's output digest: SHA-256 (hex) of the text
/// `stdout:<hex sha256 of stdout>\nstderr:<hex sha256 of stderr>`, so it
/// covers every byte written, kept or not.
pub fn output_digest(stdout_sha: &[u8; 32], stderr_sha: &[u8; 32]) -> String {
    let text = format!(
        "stdout:{}\nstderr:{}",
        hex::encode(stdout_sha),
        hex::encode(stderr_sha)
    );
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// Starts `spec`, reports its process group id through `on_start`, and
/// waits for it to end, time out or be cancelled.
pub async fn run_process(
    spec: ProcessSpec,
    sink: OutputSink,
    cancel: CancellationToken,
    on_start: impl FnOnce(i32),
) -> Result<RunOutput, E2bError> {
    let started = Instant::now();
    let mut cmd = tokio::process::Command::new("/bin/sh");
    cmd.arg("-c")
        .arg(spec.limits.ulimit_script())
        .arg("sh")
        .arg(&spec.command)
        .current_dir(&spec.cwd)
        .env_clear()
        .envs(&spec.env)
        .stdin(if spec.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let mut child = cmd.spawn()?;
    let pgid = child
        .id()
        .and_then(|id| i32::try_from(id).ok())
        .unwrap_or(0);
    on_start(pgid);
    if let (Some(bytes), Some(mut stdin)) = (spec.stdin.clone(), child.stdin.take()) {
        tokio::spawn(async move {
            let _ = stdin.write_all(&bytes).await;
            let _ = stdin.shutdown().await;
        });
    }
    let cap = spec.limits.output_cap;
    let out = child
        .stdout
        .take()
        .map(|r| tokio::spawn(capture(r, cap, Stream::Stdout, sink.clone())));
    let err = child
        .stderr
        .take()
        .map(|r| tokio::spawn(capture(r, cap, Stream::Stderr, sink.clone())));

    let (status, exit) = tokio::select! {
        waited = child.wait() => {
            let waited = waited?;
            (RunStatus::Exited, waited.code())
        }
        () = tokio::time::sleep(spec.timeout) => {
            kill_group(pgid);
            let _ = child.wait().await;
            (RunStatus::Timeout, None)
        }
        () = cancel.cancelled() => {
            kill_group(pgid);
            let _ = child.wait().await;
            (RunStatus::Killed, None)
        }
    };
    // The leader is gone: end whatever it left behind in its group, so
    // the pipes close and nothing outlives the run.
    kill_group(pgid);
    let empty = || Captured {
        kept: Vec::new(),
        total: 0,
        digest: Sha256::digest(b"").into(),
    };
    let join = |h: Option<tokio::task::JoinHandle<Captured>>| async move {
        match h {
            Some(h) => match tokio::time::timeout(Duration::from_secs(2), h).await {
                Ok(Ok(c)) => c,
                _ => empty(),
            },
            None => empty(),
        }
    };
    let stdout = join(out).await;
    let stderr = join(err).await;
    Ok(RunOutput {
        stdout: render(&stdout),
        stderr: render(&stderr),
        exit_code: exit,
        status,
        stdout_bytes: stdout.total,
        stderr_bytes: stderr.total,
        truncated: stdout.total > stdout.kept.len() as u64
            || stderr.total > stderr.kept.len() as u64,
        output_digest: output_digest(&stdout.digest, &stderr.digest),
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wrapper_sets_each_limit_in_its_unit() {
        let l = Limits {
            cpu_secs: 5,
            memory_mb: 100,
            file_mb: 1,
            output_cap: 10,
        };
        assert_eq!(
            l.ulimit_script(),
            "ulimit -t 5 && ulimit -v 102400 && ulimit -f 2048 && exec /bin/sh -c \"$1\""
        );
        let none = Limits {
            cpu_secs: 0,
            memory_mb: 0,
            file_mb: 0,
            output_cap: 10,
        };
        assert_eq!(none.ulimit_script(), "exec /bin/sh -c \"$1\"");
    }

    #[test]
    fn the_digest_of_empty_output_is_reproducible() {
        // sha256("") = e3b0c442...; the digest hashes the two hex lines.
        let e: [u8; 32] = Sha256::digest(b"").into();
        let line = "stdout:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\nstderr:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert_eq!(output_digest(&e, &e), hex::encode(Sha256::digest(line)));
    }
}
