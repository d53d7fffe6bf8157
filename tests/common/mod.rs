//! Helpers shared by the integration tests: start the real binary, connect a
//! real rmcp client over stdio or streamable HTTP, call tools, read the
//! database the server wrote.
#![allow(dead_code, missing_docs)]

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rmcp::model::{CallToolRequestParams, CallToolResult, ProgressNotificationParam};
use rmcp::service::{NotificationContext, RunningService};
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::{ConfigureCommandExt, StreamableHttpClientTransport, TokioChildProcess};
use rmcp::{ClientHandler, RoleClient, ServiceExt};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};

pub const BIN: &str = env!("CARGO_BIN_EXE_neural-trader-mcp");

/// A client that records the progress notifications it receives.
#[derive(Clone, Default)]
pub struct TestClient {
    pub progress: Arc<Mutex<Vec<ProgressNotificationParam>>>,
}

impl ClientHandler for TestClient {
    async fn on_progress(
        &self,
        params: ProgressNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        self.progress.lock().expect("lock").push(params);
    }
}

pub type Client = RunningService<RoleClient, TestClient>;

/// A temporary SQLite database file the server and the test both open.
pub struct TempDb {
    pub dir: tempfile::TempDir,
    pub url: String,
}

pub fn temp_db() -> TempDb {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("state.db").display());
    TempDb { dir, url }
}

/// Starts the binary on stdio with `args` and connects a client.
pub async fn stdio_client(args: &[&str]) -> Client {
    stdio_client_with_env(args, &[]).await
}

/// Starts the binary on stdio with `args` and extra environment variables.
pub async fn stdio_client_with_env(args: &[&str], envs: &[(&str, String)]) -> Client {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let envs: Vec<(String, String)> = envs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    let transport =
        TokioChildProcess::builder(tokio::process::Command::new(BIN).configure(|cmd| {
            cmd.args(&args)
                .env("RUST_LOG", "warn")
                .envs(envs.iter().map(|(k, v)| (k, v)));
        }))
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn server")
        .0;
    TestClient::default()
        .serve(transport)
        .await
        .expect("initialize over stdio")
}

/// A server process serving HTTP; killed when dropped.
pub struct HttpProc {
    pub child: tokio::process::Child,
    pub url: String,
}

/// Installs rustls's ring provider for this test process: the workspace
/// builds reqwest with `rustls-no-provider` (no aws-lc-sys), so every
/// process that makes a reqwest client must install one first.
pub fn install_crypto_provider() {
    nt_venue_http::install_crypto_provider();
}

/// Starts the binary with `--listen 127.0.0.1:0` plus `args` and waits for its address.
pub async fn http_server(args: &[&str], envs: &[(&str, &str)]) -> HttpProc {
    install_crypto_provider();
    let mut cmd = tokio::process::Command::new(BIN);
    cmd.args(args)
        .args(["--listen", "127.0.0.1:0"])
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn server");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let url = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.expect("read stderr") {
            if let Some(url) = line.strip_prefix("listening on ") {
                return url.trim().to_string();
            }
            eprintln!("server: {line}");
        }
        panic!("server exited before listening");
    })
    .await
    .expect("server did not start listening within 60 s");
    // Keep draining stderr so the server never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    HttpProc { child, url }
}

/// Connects a client over streamable HTTP, with an optional bearer token.
pub async fn http_client(url: &str, token: Option<&str>) -> Result<Client, String> {
    let mut config = StreamableHttpClientTransportConfig::with_uri(url.to_string());
    if let Some(token) = token {
        config = config.auth_header(token.to_string());
    }
    let transport = StreamableHttpClientTransport::from_config(config);
    TestClient::default()
        .serve(transport)
        .await
        .map_err(|err| err.to_string())
}

pub fn params(name: &str, args: Value) -> CallToolRequestParams {
    let map = match args {
        Value::Object(map) => map,
        _ => serde_json::Map::new(),
    };
    CallToolRequestParams::new(name.to_string()).with_arguments(map)
}

/// Sends a `tools/call` that can be cancelled; the client attaches a progress token.
pub async fn start_call(
    client: &Client,
    name: &str,
    args: Value,
) -> rmcp::service::RequestHandle<RoleClient> {
    client
        .send_cancellable_request(
            rmcp::model::ClientRequest::CallToolRequest(rmcp::model::Request::new(params(
                name, args,
            ))),
            rmcp::service::PeerRequestOptions::no_options(),
        )
        .await
        .expect("send")
}

/// Runs the binary to completion with `args` (no stdin) and returns its output.
pub fn run_bin(args: &[&str]) -> std::process::Output {
    std::process::Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run the binary")
}

/// Calls a tool and returns the result (tool errors included; protocol errors panic).
pub async fn call(client: &Client, name: &str, args: Value) -> CallToolResult {
    client
        .call_tool(params(name, args))
        .await
        .unwrap_or_else(|err| panic!("calling {name}: {err}"))
}

pub fn text(result: &CallToolResult) -> String {
    result
        .content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn structured(result: &CallToolResult) -> Value {
    result.structured_content.clone().unwrap_or(Value::Null)
}

pub fn is_error(result: &CallToolResult) -> bool {
    result.is_error == Some(true)
}

/// Audit rows for `tool`: (caller, outcome, args_digest), oldest first.
/// Rows of read calls are written by the group-commit writer a few
/// milliseconds after the answer, so this reads until two reads 50 ms apart
/// agree (at most 3 s).
pub async fn audit_rows(db_url: &str, tool: &str) -> Vec<(String, String, String)> {
    let store = nt_mcp_core::Store::open(db_url).await.expect("open db");
    let read = || async {
        let rows = sqlx::query(
            "SELECT caller, outcome, args_digest FROM audit_log WHERE tool = $1 ORDER BY id",
        )
        .bind(tool)
        .fetch_all(store.pool())
        .await
        .expect("query audit_log");
        use sqlx::Row;
        rows.iter()
            .map(|r| {
                (
                    r.get::<String, _>(0),
                    r.get::<String, _>(1),
                    r.get::<String, _>(2),
                )
            })
            .collect::<Vec<_>>()
    };
    let mut last = read().await;
    for _ in 0..60 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let now = read().await;
        if now == last && !now.is_empty() {
            break;
        }
        last = now;
    }
    last
}

/// Writes a manifest into `dir` and returns its path.
pub fn write_manifest(dir: &std::path::Path, name: &str, text: &str) -> String {
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text).expect("write manifest");
    path.display().to_string()
}
