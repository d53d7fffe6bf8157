//! The E2B provider against a local fake of E2B on 127.0.0.1: the REST
//! API (sandboxes, timeout, kill, the v2 template build flow and its
//! status) and the envd daemon (the Connect server-streaming
//! `process.Process/Start`, `SendSignal`, `/files`). The fake checks the
//! `X-API-Key` header, the envd access token and the request bodies, and
//! answers in the documented shapes.
#![allow(missing_docs)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use base64::Engine as _;
use nt_e2b::E2bBundle;
use nt_e2b::envd::{envelope, take_envelopes};
use nt_mcp_core::bundle::BundleSettings;
use nt_mcp_core::{NewBundle, Store, ToolBundle, ToolCtx, ToolRouter};
use serde_json::{Value, json};

#[derive(Default)]
struct Fake {
    /// (method, path, body) of every request, in order.
    seen: Mutex<Vec<(String, String, Value)>>,
    files: Mutex<Vec<(String, Vec<u8>)>>,
}

const KEY: &str = "e2b_test_key";
const TOKEN: &str = "envd-token-1";

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

async fn handle(
    State(fake): State<Arc<Fake>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let query = uri.query().unwrap_or("").to_string();
    let is_envd = path.starts_with("/process.")
        || path.starts_with("/files")
        || path.starts_with("/filesystem.");
    if is_envd {
        if headers.get("x-access-token").and_then(|v| v.to_str().ok()) != Some(TOKEN) {
            return (StatusCode::UNAUTHORIZED, "missing envd token").into_response();
        }
    } else if headers.get("x-api-key").and_then(|v| v.to_str().ok()) != Some(KEY) {
        return (
            StatusCode::UNAUTHORIZED,
            r#"{"code":401,"message":"Invalid API key"}"#,
        )
            .into_response();
    }
    let json_body: Value = if path == "/process.Process/Start" {
        let mut buf = body.to_vec();
        let frames = take_envelopes(&mut buf);
        serde_json::from_slice(&frames[0].1).unwrap_or(Value::Null)
    } else if path == "/files" {
        json!({"raw": String::from_utf8_lossy(&body), "query": query})
    } else {
        serde_json::from_slice(&body).unwrap_or(Value::Null)
    };
    fake.seen
        .lock()
        .expect("lock")
        .push((method.to_string(), path.clone(), json_body.clone()));
    match (method.as_str(), path.as_str()) {
        ("POST", "/sandboxes") => (
            StatusCode::CREATED,
            axum::Json(json!({"sandboxID": "isb-1", "templateID": json_body["templateID"], "clientID": "c1",
                "envdVersion": "0.2.0", "envdAccessToken": TOKEN})),
        )
            .into_response(),
        ("GET", "/sandboxes") => axum::Json(json!([{"sandboxID": "isb-1", "templateID": "nt-base", "clientID": "c1",
            "startedAt": "2026-01-01T00:00:00Z", "endAt": "2026-01-01T00:05:00Z", "cpuCount": 2, "memoryMB": 512, "metadata": {}}]))
        .into_response(),
        ("POST", "/sandboxes/isb-1/timeout") | ("DELETE", "/sandboxes/isb-1") => StatusCode::NO_CONTENT.into_response(),
        ("POST", "/v2/templates") => axum::Json(json!({"templateID": "tpl-9", "buildID": "bld-9", "public": false, "aliases": [json_body["alias"]]})).into_response(),
        ("POST", "/v2/templates/tpl-9/builds/bld-9") => StatusCode::ACCEPTED.into_response(),
        ("GET", "/templates/tpl-9/builds/bld-9/status") => axum::Json(json!({"templateID": "tpl-9", "buildID": "bld-9",
            "status": "ready", "logs": ["step 1/3 RUN apt-get", "build done"]})).into_response(),
        ("POST", "/process.Process/Start") => {
            let cmd = json_body["process"]["args"][2].as_str().unwrap_or("").to_string();
            let frames: Vec<Vec<u8>> = if cmd == "sleep forever" {
                vec![envelope(0, &json!({"event": {"start": {"pid": 42}}}))]
            } else {
                vec![
                    envelope(0, &json!({"event": {"start": {"pid": 41}}})),
                    envelope(0, &json!({"event": {"data": {"stdout": b64("hello ")}}})),
                    envelope(0, &json!({"event": {"keepalive": {}}})),
                    envelope(0, &json!({"event": {"data": {"stdout": b64("world\n")}}})),
                    envelope(0, &json!({"event": {"data": {"stderr": b64("warn\n")}}})),
                    envelope(0, &json!({"event": {"end": {"exitCode": 3, "exited": true, "status": "exit status 3"}}})),
                    envelope(2, &json!({})),
                ]
            };
            let forever = cmd == "sleep forever";
            let stream = futures::stream::unfold((frames, 0usize), move |(frames, i)| async move {
                if i < frames.len() {
                    tokio::time::sleep(Duration::from_millis(30)).await;
                    let f = Bytes::from(frames[i].clone());
                    Some((Ok::<_, std::io::Error>(f), (frames, i + 1)))
                } else if forever {
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                    None
                } else {
                    None
                }
            });
            Response::builder()
                .header("content-type", "application/connect+json")
                .body(Body::from_stream(stream))
                .expect("response")
        }
        ("POST", "/process.Process/SendSignal") => axum::Json(json!({})).into_response(),
        ("POST", "/files") => {
            let raw = String::from_utf8_lossy(&body).to_string();
            let content = raw.split("\r\n\r\n").nth(1).and_then(|r| r.rsplit_once("\r\n--")).map(|(c, _)| c.to_string()).unwrap_or_default();
            fake.files.lock().expect("lock").push((query.clone(), content.into_bytes()));
            axum::Json(json!([{"name": "a.txt", "type": "file", "path": "/home/user/a.txt"}])).into_response()
        }
        ("GET", "/files") => {
            let files = fake.files.lock().expect("lock");
            match files.iter().rev().find(|(q, _)| *q == query) {
                Some((_, data)) => data.clone().into_response(),
                None => (StatusCode::NOT_FOUND, r#"{"code":404,"message":"file not found"}"#).into_response(),
            }
        }
        _ => (StatusCode::NOT_FOUND, format!("no route {method} {path}")).into_response(),
    }
}

async fn start() -> (String, Arc<Fake>) {
    let fake = Arc::new(Fake::default());
    let app = Router::new().fallback(any(handle)).with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, fake)
}

async fn setup(url: &str, key: &str) -> (ToolRouter, ToolCtx, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = format!(
        "sandbox_root = \"{}\"\napi_key = \"{key}\"\napi_url = \"{url}\"\nenvd_url = \"{url}\"\n",
        dir.path().display()
    );
    let table: toml::Table = text.parse().expect("toml");
    let settings = BundleSettings {
        table: table.into_iter().collect(),
        live_trading: false,
    };
    let bundle = Arc::new(E2bBundle::from_settings(&settings).expect("bundle"));
    let store = Store::open("sqlite::memory:").await.expect("store");
    store.migrate(&bundle.migrations()).await.expect("migrate");
    (bundle.routes(), ToolCtx::new(store), dir)
}

fn find(fake: &Fake, method: &str, path: &str) -> Vec<Value> {
    fake.seen
        .lock()
        .expect("lock")
        .iter()
        .filter(|(m, p, _)| m == method && p == path)
        .map(|(_, _, b)| b.clone())
        .collect()
}

#[tokio::test]
async fn sandboxes_processes_and_files_through_the_e2b_api_and_envd() {
    let (url, fake) = start().await;
    let (router, ctx, _dir) = setup(&url, KEY).await;
    let created = router
        .call("sandbox_create", json!({"template": "base", "env": {"GREETING": "hi"}, "metadata": {"who": "test"}, "timeout_secs": 300}), ctx.clone())
        .await
        .unwrap_or_else(|e| panic!("{}", e.to_text()))
        .structured;
    assert_eq!(created["venue"], "e2b");
    assert_eq!(created["sandbox"]["remote_id"], "isb-1");
    let body = &find(&fake, "POST", "/sandboxes")[0];
    assert_eq!(body["templateID"], "nt-base", "the template's E2B alias");
    assert_eq!(body["timeout"], 300);
    assert_eq!(
        body["envVars"],
        json!({"GREETING": "hi", "LANG": "C.UTF-8"})
    );
    assert_eq!(body["metadata"], json!({"who": "test"}));
    let id = created["sandbox"]["id"].as_str().expect("id").to_string();

    let run = router
        .call(
            "sandbox_run",
            json!({"sandbox_id": id, "command": "echo hello world", "env": {"EXTRA": "1"}}),
            ctx.clone(),
        )
        .await
        .unwrap_or_else(|e| panic!("{}", e.to_text()))
        .structured;
    assert_eq!(run["stdout"], "hello world\n");
    assert_eq!(run["stderr"], "warn\n");
    assert_eq!(run["exit_code"], 3);
    assert_eq!(run["status"], "exited");
    let start = &find(&fake, "POST", "/process.Process/Start")[0];
    assert_eq!(start["process"]["cmd"], "/bin/bash");
    assert_eq!(
        start["process"]["args"],
        json!(["-l", "-c", "echo hello world"])
    );
    assert_eq!(
        start["process"]["envs"],
        json!({"EXTRA": "1", "GREETING": "hi", "LANG": "C.UTF-8"})
    );
    assert_eq!(start["process"]["cwd"], "/home/user");

    let up = router
        .call(
            "sandbox_upload",
            json!({"sandbox_id": id, "path": "data/a.txt", "content": "payload"}),
            ctx.clone(),
        )
        .await
        .expect("upload")
        .structured;
    assert_eq!(up["bytes"], 7);
    let down = router
        .call(
            "sandbox_download",
            json!({"sandbox_id": id, "path": "data/a.txt"}),
            ctx.clone(),
        )
        .await
        .expect("download")
        .structured;
    assert_eq!(down["content"], "payload");
    assert!(
        find(&fake, "POST", "/files")[0]["query"]
            .as_str()
            .unwrap_or("")
            .contains("path=%2Fhome%2Fuser%2Fdata%2Fa.txt&username=user")
    );
    let refused = router
        .call(
            "sandbox_download",
            json!({"sandbox_id": id, "path": "/etc/passwd"}),
            ctx.clone(),
        )
        .await
        .expect_err("absolute");
    assert!(refused.message.contains("absolute"), "{}", refused.message);

    router
        .call(
            "sandbox_extend",
            json!({"sandbox_id": id, "timeout_secs": 600}),
            ctx.clone(),
        )
        .await
        .expect("extend");
    assert_eq!(
        find(&fake, "POST", "/sandboxes/isb-1/timeout")[0],
        json!({"timeout": 600})
    );
    let listed = router
        .call("sandbox_list", json!({}), ctx.clone())
        .await
        .expect("list")
        .structured;
    assert_eq!(listed["count"], 1);
    let killed = router
        .call("sandbox_kill", json!({"sandbox_id": id}), ctx.clone())
        .await
        .expect("kill")
        .structured;
    assert_eq!(killed["sandbox"]["status"], "killed");
    assert_eq!(find(&fake, "DELETE", "/sandboxes/isb-1").len(), 1);
}

#[tokio::test]
async fn a_remote_timeout_sends_sigkill_to_the_process() {
    let (url, fake) = start().await;
    let (router, ctx, _dir) = setup(&url, KEY).await;
    let created = router
        .call("sandbox_create", json!({}), ctx.clone())
        .await
        .expect("create")
        .structured;
    let id = created["sandbox"]["id"].as_str().expect("id");
    let run = router
        .call(
            "sandbox_run",
            json!({"sandbox_id": id, "command": "sleep forever", "timeout_secs": 1}),
            ctx.clone(),
        )
        .await
        .expect("run")
        .structured;
    assert_eq!(run["status"], "timeout");
    assert_eq!(run["exit_code"], Value::Null);
    assert_eq!(
        find(&fake, "POST", "/process.Process/SendSignal"),
        vec![json!({"process": {"pid": 42}, "signal": "SIGNAL_SIGKILL"})]
    );
}

#[tokio::test]
async fn a_template_build_is_submitted_and_polled() {
    let (url, fake) = start().await;
    let (router, ctx, _dir) = setup(&url, KEY).await;
    let out = router
        .call(
            "template_build",
            json!({"name": "trading-bot", "parameters": {"PYTHON_VERSION": "3.11"}}),
            ctx.clone(),
        )
        .await
        .unwrap_or_else(|e| panic!("{}", e.to_text()))
        .structured;
    assert_eq!(out["build"]["status"], "building");
    assert_eq!(
        find(&fake, "POST", "/v2/templates")[0],
        json!({"alias": "nt-trading-bot", "cpuCount": 2, "memoryMB": 1024})
    );
    let start = &find(&fake, "POST", "/v2/templates/tpl-9/builds/bld-9")[0];
    assert_eq!(start["fromImage"], "python:3.11-slim");
    assert_eq!(start["startCmd"], "python3 /home/user/bot/heartbeat.py");
    let id = out["build"]["id"].as_str().expect("id");
    let status = router
        .call(
            "template_build_status",
            json!({"build_id": id}),
            ctx.clone(),
        )
        .await
        .expect("status")
        .structured;
    assert_eq!(status["build"]["status"], "ready");
    assert_eq!(status["build"]["logs"][2], "build done");
}

#[tokio::test]
async fn a_wrong_key_is_an_upstream_error_with_e2bs_message() {
    let (url, _fake) = start().await;
    let (router, ctx, _dir) = setup(&url, "wrong").await;
    let err = router
        .call("sandbox_create", json!({}), ctx.clone())
        .await
        .expect_err("401");
    assert_eq!(err.kind, nt_mcp_core::ToolErrorKind::Upstream);
    assert!(
        err.message.contains("401") && err.message.contains("Invalid API key"),
        "{}",
        err.message
    );
}
