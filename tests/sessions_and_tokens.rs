//! Swarm-facing auth on the wire: tokens minted by `neural-trader-mcp token
//! issue` are accepted; a session created by one token subject is refused
//! (404 and an audit row) to another subject; tokens whose `nbf` lies in the
//! future are refused.

mod common;

use common::*;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use nt_venue_http::reqwest;
use serde_json::json;

const SECRET: &str = "swarm-secret-swarm-secret-swarm-secret-42";

const INIT: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}"#;
const INITIALIZED: &str = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;
const PING: &str =
    r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"ping","arguments":{}}}"#;

fn mint(sub: &str, scope: &str, ttl: &str) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_neural-trader-mcp"))
        .args([
            "token", "issue", "--sub", sub, "--scope", scope, "--ttl", ttl,
        ])
        .env("NT_JWT_SECRET", SECRET)
        .output()
        .expect("run token issue");
    assert!(
        out.status.success(),
        "token issue failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("utf8")
        .trim()
        .to_string()
}

async fn post(
    url: &str,
    token: &str,
    session: Option<&str>,
    body: &'static str,
) -> reqwest::Response {
    let mut req = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("authorization", format!("Bearer {token}"))
        .body(body);
    if let Some(id) = session {
        req = req
            .header("mcp-session-id", id)
            .header("mcp-protocol-version", "2025-06-18");
    }
    req.send().await.expect("send")
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("time")
        .as_secs() as i64
}

#[tokio::test]
async fn sessions_belong_to_their_subject_and_minted_tokens_work() {
    let db = temp_db();
    let manifest = write_manifest(
        db.dir.path(),
        "jwt",
        "name = \"jwt\"\nbundles = []\n[auth]\nmode = \"jwt\"\nalgorithms = [\"HS256\"]\n",
    );
    let server = http_server(
        &["serve", "--manifest", &manifest, "--db", &db.url],
        &[("NT_JWT_SECRET", SECRET)],
    )
    .await;
    let alice = mint("alice", "read trade", "1h");
    let bob = mint("bob", "read", "30m");

    // A minted token opens a full rmcp session; the caller is its subject.
    let client = http_client(&server.url, Some(&alice))
        .await
        .expect("connect");
    assert_eq!(text(&call(&client, "ping", json!({})).await), "pong");
    client.cancel().await.expect("close");

    // Alice creates a session on the wire.
    let init = post(&server.url, &alice, None, INIT).await;
    assert_eq!(init.status().as_u16(), 200);
    let session = init
        .headers()
        .get("mcp-session-id")
        .and_then(|v| v.to_str().ok())
        .expect("session id")
        .to_string();
    let _ = init.bytes().await;
    let ok = post(&server.url, &alice, Some(&session), INITIALIZED).await;
    assert!(ok.status().is_success(), "{}", ok.status());

    // Bob, with a valid token of his own, cannot use Alice's session.
    let hijack = post(&server.url, &bob, Some(&session), PING).await;
    assert_eq!(hijack.status().as_u16(), 404);
    let rows = audit_rows(&db.url, "http.session").await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].0, "bob");
    assert_eq!(rows[0].1, "refused:session_owner");

    // Alice still can.
    let mine = post(&server.url, &alice, Some(&session), PING).await;
    assert_eq!(mine.status().as_u16(), 200);
    let body = mine.text().await.expect("body");
    assert!(body.contains("pong"), "{body}");

    // A token that is not valid yet (nbf an hour ahead) is refused; one
    // whose nbf has just passed is accepted.
    let sign = |nbf: i64| {
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &json!({"sub": "carol", "exp": now() + 7200, "nbf": nbf, "scope": "read"}),
            &EncodingKey::from_secret(SECRET.as_bytes()),
        )
        .expect("encode")
    };
    let early = post(&server.url, &sign(now() + 3600), None, INIT).await;
    assert_eq!(early.status().as_u16(), 401);
    let due = post(&server.url, &sign(now() - 1), None, INIT).await;
    assert_eq!(due.status().as_u16(), 200);
}

#[test]
fn token_issue_refuses_bad_requests() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_neural-trader-mcp"))
        .args(["token", "issue", "--sub", "x", "--scope", "read root"])
        .env("NT_JWT_SECRET", SECRET)
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown scope `root`"));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_neural-trader-mcp"))
        .args(["token", "issue", "--sub", "x"])
        .env_remove("NT_JWT_SECRET")
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("NT_JWT_SECRET"));
}
