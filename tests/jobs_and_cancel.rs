//! Deadlines, background jobs and cancellation through the real binary.

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::json;

const JOB_MANIFEST: &str = r#"
name = "tt-test"
bundles = ["diagnostics"]
[limits]
default_deadline_secs = 5
on_deadline = "job"
[tools.deadlines]
diag_long_running = 0.3
"#;

#[tokio::test]
async fn a_call_past_its_deadline_becomes_a_job_that_can_be_polled_and_cancelled() {
    let db = temp_db();
    let manifest = write_manifest(db.dir.path(), "tt", JOB_MANIFEST);
    let client = stdio_client(&["serve", "--manifest", &manifest, "--db", &db.url]).await;

    let started = Instant::now();
    let answer = call(
        &client,
        "diag_long_running",
        json!({"duration_ms": 1500, "steps": 5}),
    )
    .await;
    let waited = started.elapsed();
    assert!(!is_error(&answer), "{}", text(&answer));
    assert!(
        waited < Duration::from_millis(1400),
        "answered after {waited:?}"
    );
    let job_id = structured(&answer)["job_id"]
        .as_str()
        .expect("job_id")
        .to_string();
    assert!(text(&answer).contains("job_status"));

    let running = call(&client, "job_status", json!({"job_id": job_id})).await;
    assert_eq!(structured(&running)["status"], json!("running"));

    let done = call(
        &client,
        "job_status",
        json!({"job_id": job_id, "wait_ms": 10000}),
    )
    .await;
    let view = structured(&done);
    assert_eq!(view["status"], json!("succeeded"), "{view}");
    assert_eq!(view["result"]["structured"]["steps"], json!(5));
    assert_eq!(view["progress"]["progress"], json!(5.0));
    assert!(text(&done).contains("finished 5 steps"));

    // A second long job, cancelled by the agent.
    let answer = call(
        &client,
        "diag_long_running",
        json!({"duration_ms": 60000, "steps": 60}),
    )
    .await;
    let second = structured(&answer)["job_id"]
        .as_str()
        .expect("job_id")
        .to_string();
    let cancelled = call(&client, "job_cancel", json!({"job_id": second})).await;
    assert!(!is_error(&cancelled), "{}", text(&cancelled));
    assert_eq!(structured(&cancelled)["status"], json!("cancelled"));
    let again = call(&client, "job_cancel", json!({"job_id": second})).await;
    assert!(is_error(&again), "cancelling twice is refused");

    let list = call(&client, "job_list", json!({})).await;
    let jobs = structured(&list)["jobs"].as_array().expect("jobs").clone();
    assert_eq!(jobs.len(), 2);
    let unknown = call(&client, "job_status", json!({"job_id": "job_nope"})).await;
    assert!(is_error(&unknown));
    assert_eq!(structured(&unknown)["error"]["kind"], json!("not_found"));
    client.cancel().await.expect("close");

    let rows = audit_rows(&db.url, "diag_long_running").await;
    let outcomes: Vec<&str> = rows.iter().map(|r| r.1.as_str()).collect();
    assert!(
        outcomes.contains(&format!("job:{job_id}").as_str()),
        "{outcomes:?}"
    );
    assert!(
        outcomes.contains(&format!("job {job_id} succeeded").as_str()),
        "{outcomes:?}"
    );
    assert!(
        outcomes.contains(&format!("job {second} cancelled").as_str()),
        "{outcomes:?}"
    );
}

#[tokio::test]
async fn the_embedded_timeout_tolerant_variant_hands_over_to_jobs() {
    let client = stdio_client(&[
        "serve",
        "--variant",
        "timeout-tolerant",
        "--db",
        "sqlite::memory:",
    ])
    .await;
    let info = call(&client, "server_info", json!({})).await;
    assert_eq!(structured(&info)["on_deadline"], json!("job"));
    assert_eq!(structured(&info)["variant"], json!("timeout-tolerant"));
    client.cancel().await.expect("close");
}

#[tokio::test]
async fn without_job_mode_a_late_call_is_stopped_with_a_deadline_error() {
    let db = temp_db();
    let manifest = write_manifest(
        db.dir.path(),
        "strict",
        "name = \"strict\"\nbundles = [\"diagnostics\"]\n[tools.deadlines]\ndiag_long_running = 0.2\n",
    );
    let client = stdio_client(&["serve", "--manifest", &manifest, "--db", &db.url]).await;
    let answer = call(
        &client,
        "diag_long_running",
        json!({"duration_ms": 5000, "steps": 5}),
    )
    .await;
    assert!(is_error(&answer));
    assert_eq!(
        structured(&answer)["error"]["kind"],
        json!("deadline_exceeded")
    );
    assert!(
        text(&answer).contains("timeout-tolerant"),
        "{}",
        text(&answer)
    );
    // The session is still usable.
    assert_eq!(text(&call(&client, "ping", json!({})).await), "pong");
    client.cancel().await.expect("close");
}

#[tokio::test]
async fn a_client_cancellation_stops_the_tool() {
    let db = temp_db();
    let client = stdio_client(&["serve", "--variant", "diagnostics", "--db", &db.url]).await;
    let handle = start_call(
        &client,
        "diag_long_running",
        json!({"duration_ms": 20000, "steps": 100}),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    handle.cancel(Some("test".into())).await.expect("cancel");

    // The server records the call as cancelled well before its 20 s would end.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let rows = audit_rows(&db.url, "diag_long_running").await;
        if let Some(row) = rows.first() {
            assert_eq!(row.1, "error:cancelled");
            break;
        }
        assert!(Instant::now() < deadline, "no audit row after cancellation");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(text(&call(&client, "ping", json!({})).await), "pong");
    client.cancel().await.expect("close");
}
