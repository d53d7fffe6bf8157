//! The real binary over streamable HTTP: a real rmcp client session, and the
//! JWT cases (accepted, missing, expired, wrong key, `none`, algorithm
//! confusion, missing scope) checked on the wire.

mod common;

use common::*;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use nt_venue_http::reqwest;
use serde_json::json;

const SECRET: &str = "test-secret-test-secret-test-secret-0123";

const INIT: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}"#;

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("time")
        .as_secs() as i64
}

fn hs_token(alg: Algorithm, secret: &[u8], exp_in: i64, scope: &str) -> String {
    jsonwebtoken::encode(
        &Header::new(alg),
        &json!({"sub": "agent-42", "exp": now() + exp_in, "scope": scope}),
        &EncodingKey::from_secret(secret),
    )
    .expect("encode")
}

async fn raw_status(url: &str, token: Option<&str>) -> (u16, Option<String>) {
    let client = reqwest::Client::new();
    let mut req = client
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(INIT);
    if let Some(token) = token {
        req = req.header("authorization", format!("Bearer {token}"));
    }
    let resp = req.send().await.expect("send");
    let challenge = resp
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    (resp.status().as_u16(), challenge)
}

#[tokio::test]
async fn http_session_without_auth_on_loopback() {
    let db = temp_db();
    let server = http_server(&["serve", "--db", &db.url], &[]).await;
    let client = http_client(&server.url, None).await.expect("connect");
    let tools = client.list_all_tools().await.expect("tools/list");
    assert!(tools.iter().any(|t| t.name == "server_info"));
    assert_eq!(
        text(&call(&client, "ping", json!({"message": "http"})).await),
        "pong: http"
    );
    let bad = call(&client, "job_status", json!({"job_id": 7})).await;
    assert!(is_error(&bad));
    assert_eq!(structured(&bad)["error"]["field"], json!("job_id"));
    assert_eq!(text(&call(&client, "ping", json!({})).await), "pong");
    client.cancel().await.expect("close");
    let rows = audit_rows(&db.url, "ping").await;
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| r.0 == "http"));
}

#[tokio::test]
async fn refuses_to_serve_a_public_address_without_auth() {
    let output = run_bin(&["serve", "--db", "sqlite::memory:", "--listen", "0.0.0.0:0"]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("without auth"));
}

#[tokio::test]
async fn hs256_tokens_are_checked() {
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

    // Refused on the wire with 401 and a bearer challenge.
    let (status, challenge) = raw_status(&server.url, None).await;
    assert_eq!(status, 401);
    assert_eq!(challenge.as_deref(), Some("Bearer"));
    let expired = hs_token(Algorithm::HS256, SECRET.as_bytes(), -3600, "read");
    assert_eq!(raw_status(&server.url, Some(&expired)).await.0, 401);
    let wrong_key = hs_token(
        Algorithm::HS256,
        b"some-other-secret-some-other-secret!!",
        600,
        "read",
    );
    assert_eq!(raw_status(&server.url, Some(&wrong_key)).await.0, 401);
    let wrong_alg = hs_token(Algorithm::HS512, SECRET.as_bytes(), 600, "read");
    assert_eq!(raw_status(&server.url, Some(&wrong_alg)).await.0, 401);
    // {"alg":"none"} with no signature.
    let none = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJ4IiwiZXhwIjo0MTAyNDQ0ODAwLCJzY29wZSI6InJlYWQgdHJhZGUgYWRtaW4ifQ.";
    let (status, challenge) = raw_status(&server.url, Some(none)).await;
    assert_eq!(status, 401);
    assert!(challenge.unwrap_or_default().contains("invalid_token"));
    assert!(http_client(&server.url, Some(&expired)).await.is_err());

    // A good token: a full session, the caller is the token's subject.
    let good = hs_token(Algorithm::HS256, SECRET.as_bytes(), 600, "read");
    let client = http_client(&server.url, Some(&good))
        .await
        .expect("connect");
    assert_eq!(text(&call(&client, "ping", json!({})).await), "pong");
    client.cancel().await.expect("close");

    // A valid token without the `read` scope cannot call a read tool.
    let no_scope = hs_token(Algorithm::HS256, SECRET.as_bytes(), 600, "");
    let client = http_client(&server.url, Some(&no_scope))
        .await
        .expect("connect");
    let refused = call(&client, "ping", json!({})).await;
    assert!(is_error(&refused));
    assert_eq!(structured(&refused)["error"]["kind"], json!("refused"));
    assert!(
        text(&refused).contains("`read` scope"),
        "{}",
        text(&refused)
    );
    client.cancel().await.expect("close");

    let rows = audit_rows(&db.url, "ping").await;
    let seen: Vec<(&str, &str)> = rows.iter().map(|r| (r.0.as_str(), r.1.as_str())).collect();
    assert_eq!(
        seen,
        vec![("agent-42", "ok"), ("agent-42", "error:refused")]
    );

    // Health probes need no token.
    let health = reqwest::get(server.url.replace("/mcp", "/health"))
        .await
        .expect("health");
    assert_eq!(health.status().as_u16(), 200);
}

#[tokio::test]
async fn es256_tokens_and_algorithm_confusion() {
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures");
    let public = format!("{fixtures}/es256-public.pem");
    let private = std::fs::read(format!("{fixtures}/es256-private-pkcs8.pem")).expect("key");
    let db = temp_db();
    let manifest = write_manifest(
        db.dir.path(),
        "es",
        &format!(
            "name = \"es\"\nbundles = []\n[auth]\nmode = \"jwt\"\nalgorithms = [\"ES256\"]\npublic_key_file = \"{public}\"\nissuer = \"nt-test\"\n"
        ),
    );
    let server = http_server(&["serve", "--manifest", &manifest, "--db", &db.url], &[]).await;
    let claims = json!({"sub": "es-agent", "exp": now() + 600, "iss": "nt-test", "scope": "read"});
    let good = jsonwebtoken::encode(
        &Header::new(Algorithm::ES256),
        &claims,
        &EncodingKey::from_ec_pem(&private).expect("ec key"),
    )
    .expect("encode");
    let client = http_client(&server.url, Some(&good))
        .await
        .expect("connect");
    assert_eq!(text(&call(&client, "ping", json!({})).await), "pong");
    client.cancel().await.expect("close");

    // Classic confusion: HS256 "signed" with the public key's PEM as the secret.
    let public_pem = std::fs::read(&public).expect("public key");
    let confused = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(&public_pem),
    )
    .expect("encode");
    assert_eq!(raw_status(&server.url, Some(&confused)).await.0, 401);

    // Wrong issuer.
    let wrong_iss = jsonwebtoken::encode(
        &Header::new(Algorithm::ES256),
        &json!({"sub": "x", "exp": now() + 600, "iss": "someone-else", "scope": "read"}),
        &EncodingKey::from_ec_pem(&private).expect("ec key"),
    )
    .expect("encode");
    assert_eq!(raw_status(&server.url, Some(&wrong_iss)).await.0, 401);
}
