//! The PostgreSQL path against a real server: migrations (twice, concurrently),
//! calls, jobs and audit rows. Skips with a message where no server is
//! reachable, except under CI=true where it must run.

mod common;

use common::*;
use serde_json::json;

#[tokio::test]
async fn postgres_store_serves_calls_jobs_and_audit() {
    // A private schema on the test server (SKIPPED when unreachable, a
    // failure under CI=true).
    let Some(pg) =
        nt_mcp_core::testing::pg_schema("nt_core_", "postgres_store_serves_calls_jobs_and_audit")
            .await
    else {
        return;
    };
    let url = pg.url.clone();
    // Two servers migrating the same database at once must both start.
    let dir = tempfile::tempdir().expect("tempdir");
    let manifest = write_manifest(
        dir.path(),
        "pg",
        "name = \"pg-test\"\nbundles = [\"diagnostics\"]\n[limits]\non_deadline = \"job\"\n[tools.deadlines]\ndiag_long_running = 0.2\n",
    );
    let args = [
        "serve",
        "--manifest",
        manifest.as_str(),
        "--db",
        url.as_str(),
    ];
    let (a, b) = tokio::join!(stdio_client(&args), stdio_client(&args));
    let marker = format!("pg-{}", std::process::id());
    let pong = call(&a, "ping", json!({"message": marker})).await;
    assert_eq!(text(&pong), format!("pong: {marker}"));
    assert_eq!(text(&call(&b, "ping", json!({})).await), "pong");

    let answer = call(
        &a,
        "diag_long_running",
        json!({"duration_ms": 600, "steps": 3}),
    )
    .await;
    let job_id = structured(&answer)["job_id"]
        .as_str()
        .expect("job id")
        .to_string();
    let done = call(
        &a,
        "job_status",
        json!({"job_id": job_id, "wait_ms": 10000}),
    )
    .await;
    assert_eq!(
        structured(&done)["status"],
        json!("succeeded"),
        "{}",
        text(&done)
    );
    let info = call(&a, "server_info", json!({})).await;
    assert!(
        structured(&info)["store"]
            .as_str()
            .unwrap_or("")
            .starts_with("postgres://")
    );
    a.cancel().await.expect("close");
    b.cancel().await.expect("close");

    let rows = audit_rows(&url, "diag_long_running").await;
    assert!(
        rows.iter()
            .any(|r| r.1 == format!("job {job_id} succeeded")),
        "no audit row for {job_id}"
    );
    pg.drop_schema().await;
}
