//! The in-sandbox daemon (envd) client, as E2B documents it
//! (`spec/envd/process/process.proto`, `spec/envd/filesystem`, `envd.yaml`):
//!
//! - processes over the Connect protocol with JSON messages:
//!   `POST /process.Process/Start` is server-streaming — the request and
//!   every answer are envelopes (1 flag byte, 4-byte big-endian length,
//!   JSON), events `start {pid}`, `data {stdout|stderr: base64}`,
//!   `end {exitCode, exited, status}`, `keepalive`; the end-of-stream
//!   envelope (flag 0x02) may carry an error. `SendInput`, `CloseStdin`,
//!   `SendSignal` are unary (`application/json`).
//! - files: `GET /files?path=P&username=user` answers the bytes,
//!   `POST /files?path=P&username=user` takes a multipart `file` part;
//!   `POST /filesystem.Filesystem/ListDir` lists (unary Connect).
//!
//! The daemon listens on port 49983 of each sandbox
//! (`https://49983-<sandboxID>.<domain>`); `X-Access-Token` carries the
//! sandbox's envd token, `Authorization: Basic user:` names the user.

use std::time::{Duration, Instant};

use base64::Engine as _;
use nt_venue_http::reqwest;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::error::E2bError;
use crate::provider::{
    FileEntry, OutputEvent, OutputSink, RunOutput, RunRequest, RunStatus, Stream,
};

/// The daemon's port inside a sandbox.
pub const ENVD_PORT: u16 = 49983;

/// The user processes run as.
pub const USER: &str = "user";

/// One sandbox's daemon.
#[derive(Clone)]
pub struct Envd {
    client: reqwest::Client,
    base: String,
    sandbox_id: String,
    token: Option<String>,
}

/// Frames `msg` as one Connect envelope.
pub fn envelope(flags: u8, msg: &Value) -> Vec<u8> {
    let body = msg.to_string().into_bytes();
    let mut out = Vec::with_capacity(body.len() + 5);
    out.push(flags);
    out.extend_from_slice(&u32::try_from(body.len()).unwrap_or(u32::MAX).to_be_bytes());
    out.extend_from_slice(&body);
    out
}

/// Takes complete envelopes off the front of `buf`.
pub fn take_envelopes(buf: &mut Vec<u8>) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    loop {
        if buf.len() < 5 {
            break;
        }
        let len = u32::from_be_bytes([buf[1], buf[2], buf[3], buf[4]]) as usize;
        if buf.len() < 5 + len {
            break;
        }
        let flags = buf[0];
        let msg = buf[5..5 + len].to_vec();
        buf.drain(..5 + len);
        out.push((flags, msg));
    }
    out
}

struct Kept {
    kept: Vec<u8>,
    total: u64,
    hasher: Sha256,
}

impl Kept {
    fn new() -> Self {
        Self {
            kept: Vec::new(),
            total: 0,
            hasher: Sha256::new(),
        }
    }

    fn add(&mut self, data: &[u8], cap: usize) -> &[u8] {
        self.total += data.len() as u64;
        self.hasher.update(data);
        let take = cap.saturating_sub(self.kept.len()).min(data.len());
        let start = self.kept.len();
        self.kept.extend_from_slice(&data[..take]);
        &self.kept[start..]
    }

    fn text(&self) -> String {
        let mut t = String::from_utf8_lossy(&self.kept).into_owned();
        if self.total > self.kept.len() as u64 {
            t.push_str(&format!(
                "\n[output truncated: kept {} of {} bytes]",
                self.kept.len(),
                self.total
            ));
        }
        t
    }
}

impl Envd {
    /// The daemon of E2B sandbox `sandbox_id` at `base` (see [`Envd::url_for`]).
    pub fn new(
        client: reqwest::Client,
        base: &str,
        sandbox_id: &str,
        token: Option<String>,
    ) -> Self {
        Self {
            client,
            base: base.trim_end_matches('/').to_string(),
            sandbox_id: sandbox_id.to_string(),
            token,
        }
    }

    /// The daemon URL of a sandbox: the fixed `envd_url` when configured,
    /// else `https://49983-<id>.<domain>`.
    pub fn url_for(fixed: Option<&str>, sandbox_id: &str, domain: &str) -> String {
        match fixed {
            Some(url) => url.to_string(),
            None => format!("https://{ENVD_PORT}-{sandbox_id}.{domain}"),
        }
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:"));
        let mut rb = self
            .client
            .request(method, format!("{}{path}", self.base))
            .header("Authorization", format!("Basic {basic}"))
            .header("E2b-Sandbox-Id", &self.sandbox_id)
            .header("E2b-Sandbox-Port", ENVD_PORT.to_string());
        if let Some(t) = &self.token {
            rb = rb.header("X-Access-Token", t);
        }
        rb
    }

    async fn unary(&self, method: &str, body: &Value) -> Result<Value, E2bError> {
        let resp = self
            .request(reqwest::Method::POST, &format!("/{method}"))
            .header("Content-Type", "application/json")
            .header("Connect-Protocol-Version", "1")
            .body(body.to_string())
            .send()
            .await
            .map_err(|e| {
                E2bError::Upstream(format!(
                    "envd {method}: {}",
                    nt_venue_http::transport_detail(e)
                ))
            })?;
        let status = resp.status().as_u16();
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| E2bError::Upstream(format!("envd {method}: {e}")))?;
        if !(200..300).contains(&status) {
            return Err(E2bError::Upstream(format!(
                "envd {method}: HTTP {status}: {}",
                nt_venue_http::venue_message(&bytes)
            )));
        }
        Ok(serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    /// Runs `req.command` with `/bin/bash -l -c` (as E2B's SDKs do),
    /// streaming output to `sink`, capping kept output at `cap` per stream;
    /// on timeout or cancellation sends SIGKILL to the process.
    pub async fn run(
        &self,
        req: &RunRequest,
        cap: usize,
        sink: OutputSink,
    ) -> Result<RunOutput, E2bError> {
        let started = Instant::now();
        let mut process =
            json!({"cmd": "/bin/bash", "args": ["-l", "-c", req.command], "envs": req.env});
        if let Some(cwd) = &req.cwd {
            process["cwd"] = json!(cwd);
        }
        let start = json!({"process": process, "stdin": req.stdin.is_some()});
        let resp = self
            .request(reqwest::Method::POST, "/process.Process/Start")
            .header("Content-Type", "application/connect+json")
            .header("Connect-Timeout-Ms", req.timeout.as_millis().to_string())
            .body(envelope(0, &start))
            .send()
            .await
            .map_err(|e| {
                E2bError::Upstream(format!(
                    "envd start: {}",
                    nt_venue_http::transport_detail(e)
                ))
            })?;
        if !resp.status().is_success() {
            let status = resp.status().as_u16();
            let body = resp.bytes().await.unwrap_or_default();
            return Err(E2bError::Upstream(format!(
                "envd start: HTTP {status}: {}",
                nt_venue_http::venue_message(&body)
            )));
        }
        let mut out = Kept::new();
        let mut err = Kept::new();
        let mut pid: Option<u64> = None;
        let mut exit: Option<i32> = None;
        let mut ended = false;
        let mut stream_error: Option<String> = None;
        let mut buf = Vec::new();
        let mut resp = resp;
        let deadline = tokio::time::sleep(req.timeout);
        tokio::pin!(deadline);
        let mut status = RunStatus::Exited;
        'read: loop {
            let chunk = tokio::select! {
                c = resp.chunk() => c.map_err(|e| E2bError::Upstream(format!("envd stream: {e}")))?,
                () = &mut deadline => { status = RunStatus::Timeout; break 'read; }
                () = req.cancel.cancelled() => { status = RunStatus::Killed; break 'read; }
            };
            let Some(chunk) = chunk else { break };
            buf.extend_from_slice(&chunk);
            for (flags, msg) in take_envelopes(&mut buf) {
                let v: Value = serde_json::from_slice(&msg).unwrap_or(Value::Null);
                if flags & 0x02 != 0 {
                    if let Some(e) = v.get("error") {
                        stream_error = Some(format!(
                            "{}: {}",
                            e["code"].as_str().unwrap_or("error"),
                            e["message"].as_str().unwrap_or("")
                        ));
                    }
                    break 'read;
                }
                let event = &v["event"];
                if let Some(p) = event["start"]["pid"].as_u64() {
                    pid = Some(p);
                    if let Some(stdin) = &req.stdin {
                        let data = base64::engine::general_purpose::STANDARD.encode(stdin);
                        self.unary(
                            "process.Process/SendInput",
                            &json!({"process": {"pid": p}, "input": {"stdin": data}}),
                        )
                        .await?;
                        self.unary(
                            "process.Process/CloseStdin",
                            &json!({"process": {"pid": p}}),
                        )
                        .await?;
                    }
                }
                for (key, stream, kept) in [
                    ("stdout", Stream::Stdout, &mut out),
                    ("stderr", Stream::Stderr, &mut err),
                ] {
                    if let Some(b64) = event["data"][key].as_str() {
                        let bytes = base64::engine::general_purpose::STANDARD
                            .decode(b64)
                            .unwrap_or_default();
                        let fresh = kept.add(&bytes, cap).to_vec();
                        if let (Some(tx), false) = (&sink, fresh.is_empty()) {
                            let _ = tx.send(OutputEvent {
                                stream,
                                data: fresh,
                            });
                        }
                    }
                }
                if event.get("end").is_some() {
                    ended = true;
                    exit = event["end"]["exitCode"]
                        .as_i64()
                        .and_then(|c| i32::try_from(c).ok())
                        .or(Some(0));
                    if event["end"]["exited"] == json!(false) {
                        exit = None;
                    }
                }
            }
        }
        if status != RunStatus::Exited {
            if let Some(p) = pid {
                let _ = self
                    .unary(
                        "process.Process/SendSignal",
                        &json!({"process": {"pid": p}, "signal": "SIGNAL_SIGKILL"}),
                    )
                    .await;
            }
            exit = None;
        } else if let Some(e) = stream_error {
            return Err(E2bError::Upstream(format!("envd process: {e}")));
        } else if !ended {
            return Err(E2bError::Upstream(
                "envd process stream ended without an end event".into(),
            ));
        }
        let (os, es): ([u8; 32], [u8; 32]) = (
            out.hasher.clone().finalize().into(),
            err.hasher.clone().finalize().into(),
        );
        Ok(RunOutput {
            stdout: out.text(),
            stderr: err.text(),
            exit_code: exit,
            status,
            stdout_bytes: out.total,
            stderr_bytes: err.total,
            truncated: out.total > out.kept.len() as u64 || err.total > err.kept.len() as u64,
            output_digest: crate::exec::output_digest(&os, &es),
            duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        })
    }

    /// Writes a file (multipart `file` part).
    pub async fn write(&self, path: &str, data: &[u8]) -> Result<u64, E2bError> {
        let boundary = format!("nt{}", uuid::Uuid::new_v4().simple());
        let name = path.rsplit('/').next().unwrap_or("file").replace('"', "");
        let mut body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        )
        .into_bytes();
        body.extend_from_slice(data);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let resp = self
            .request(reqwest::Method::POST, "/files")
            .query(&[("path", path), ("username", USER)])
            .header(
                "Content-Type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .timeout(Duration::from_secs(60))
            .body(body)
            .send()
            .await
            .map_err(|e| {
                E2bError::Upstream(format!(
                    "envd write: {}",
                    nt_venue_http::transport_detail(e)
                ))
            })?;
        let status = resp.status().as_u16();
        if !(200..300).contains(&status) {
            let b = resp.bytes().await.unwrap_or_default();
            return Err(E2bError::Upstream(format!(
                "envd write {path}: HTTP {status}: {}",
                nt_venue_http::venue_message(&b)
            )));
        }
        Ok(data.len() as u64)
    }

    /// Reads a file.
    pub async fn read(&self, path: &str) -> Result<Vec<u8>, E2bError> {
        let resp = self
            .request(reqwest::Method::GET, "/files")
            .query(&[("path", path), ("username", USER)])
            .timeout(Duration::from_secs(60))
            .send()
            .await
            .map_err(|e| {
                E2bError::Upstream(format!("envd read: {}", nt_venue_http::transport_detail(e)))
            })?;
        let status = resp.status().as_u16();
        let b = resp
            .bytes()
            .await
            .map_err(|e| E2bError::Upstream(format!("envd read: {e}")))?;
        match status {
            200..=299 => Ok(b.to_vec()),
            404 => Err(E2bError::invalid(
                "path",
                format!("`{path}` does not exist in the sandbox"),
            )),
            _ => Err(E2bError::Upstream(format!(
                "envd read {path}: HTTP {status}: {}",
                nt_venue_http::venue_message(&b)
            ))),
        }
    }

    /// Lists a directory.
    pub async fn list(&self, path: &str, depth: u32) -> Result<Vec<FileEntry>, E2bError> {
        let v = self
            .unary(
                "filesystem.Filesystem/ListDir",
                &json!({"path": path, "depth": depth}),
            )
            .await?;
        Ok(v["entries"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|e| FileEntry {
                        path: e["path"].as_str().unwrap_or("").to_string(),
                        kind: match e["type"].as_str().unwrap_or("") {
                            "FILE_TYPE_DIRECTORY" => "dir",
                            "FILE_TYPE_SYMLINK" => "symlink",
                            _ => "file",
                        }
                        .to_string(),
                        size: e["size"]
                            .as_u64()
                            .or_else(|| e["size"].as_str().and_then(|s| s.parse().ok()))
                            .unwrap_or(0),
                    })
                    .collect()
            })
            .unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_round_trip_and_wait_for_whole_frames() {
        let a = envelope(0, &json!({"a": 1}));
        assert_eq!(&a[..5], &[0, 0, 0, 0, 7]);
        let mut buf = a.clone();
        buf.extend_from_slice(&envelope(2, &json!({}))[..3]);
        let got = take_envelopes(&mut buf);
        assert_eq!(got, vec![(0, b"{\"a\":1}".to_vec())]);
        assert_eq!(buf.len(), 3, "the partial frame stays");
    }
}
