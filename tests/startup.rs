//! Start-up: the tools are listed while the database opens in the
//! background; the schemas cached between starts are the generated ones; a
//! database that cannot open stops the server with the reason.

mod common;

use std::io::Read;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};

/// Lists the tools of `serve --db db` with `NT_SCHEMA_CACHE=cache`, as JSON.
async fn listed(db: &str, cache: &str) -> Value {
    let client = stdio_client_with_env(
        &["serve", "--db", db],
        &[("NT_SCHEMA_CACHE", cache.to_string())],
    )
    .await;
    let tools = client.list_all_tools().await.expect("tools/list");
    // A call right after start waits for the migrations, then runs.
    assert_eq!(text(&call(&client, "ping", json!({})).await), "pong");
    client.cancel().await.expect("close");
    serde_json::to_value(tools).expect("json")
}

#[tokio::test]
async fn cached_schemas_are_the_generated_ones() {
    let db = temp_db();
    let cache = tempfile::tempdir().expect("tempdir");
    let dir = cache.path().display().to_string();
    let generated = listed(&db.url, "off").await;
    let first = listed(&db.url, &dir).await;
    let files: Vec<_> = std::fs::read_dir(cache.path())
        .expect("cache folder")
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
        .collect();
    assert_eq!(files.len(), 1, "one cache file per executable");
    let second = listed(&db.url, &dir).await;
    assert_eq!(first, generated, "the first start generates the schemas");
    assert_eq!(second, generated, "a cached start lists the same tools");
    let count = generated.as_array().map(Vec::len).unwrap_or(0);
    assert!(count > 100, "integrated serves {count} tools");
}

#[test]
fn an_unreachable_database_stops_the_server_with_the_reason() {
    // Port 1 on loopback: nothing listens, the connection is refused.
    let mut child = std::process::Command::new(BIN)
        .args(["serve", "--db", "postgres://nobody@127.0.0.1:1/none"])
        .env("RUST_LOG", "error")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let began = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if began.elapsed() > Duration::from_secs(40) {
            let _ = child.kill();
            panic!("the server kept running without its database");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut err = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut err)
        .expect("read stderr");
    assert!(!status.success(), "{err}");
    assert!(
        err.contains("starting on postgres://nobody@127.0.0.1:1/none"),
        "{err}"
    );
}
