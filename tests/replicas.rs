//! Several servers on one PostgreSQL database behave as one service: 3 HTTP
//! replicas and 32 concurrent clients place every order exactly once (a
//! retry through another replica finds the first), the hash-chained audit
//! trail verifies, a job started on one replica is awaited and cancelled
//! from another, and a caller's rate limit is shared by the replicas.
//! Skips without PostgreSQL, except under CI=true.

mod common;

use std::sync::Arc;

use common::*;
use serde_json::json;

const MANIFEST: &str = "name = \"replicas\"\nbundles = [\"brokers\", \"diagnostics\"]\n\
[limits]\ncalls_per_minute = 0\non_deadline = \"job\"\n[tools.deadlines]\ndiag_long_running = 0.2\n";

#[tokio::test]
async fn three_replicas_and_32_clients_act_as_one_service() {
    let Some(pg) = nt_mcp_core::testing::pg_schema(
        "nt_replicas_",
        "three_replicas_and_32_clients_act_as_one_service",
    )
    .await
    else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let manifest = write_manifest(dir.path(), "replicas", MANIFEST);
    let args = [
        "serve",
        "--manifest",
        manifest.as_str(),
        "--db",
        pg.url.as_str(),
    ];
    let (a, b, c) = tokio::join!(
        http_server(&args, &[]),
        http_server(&args, &[]),
        http_server(&args, &[])
    );
    let urls: Arc<Vec<String>> = Arc::new(vec![a.url.clone(), b.url.clone(), c.url.clone()]);

    // 32 clients at once, each placing its order through one replica and
    // retrying it through the next.
    let mut tasks = Vec::new();
    for k in 0..32usize {
        let urls = urls.clone();
        tasks.push(tokio::spawn(async move {
            let order = json!({
                "client_order_id": format!("rep-{k}"),
                "symbol": "SHOP.TO",
                "side": "buy",
                "qty": "1",
            });
            let first = http_client(&urls[k % 3], None).await.expect("connect");
            let placed = call(&first, "broker_place_order", order.clone()).await;
            assert!(!is_error(&placed), "{}", text(&placed));
            let again_client = http_client(&urls[(k + 1) % 3], None)
                .await
                .expect("connect");
            let again = call(&again_client, "broker_place_order", order).await;
            assert!(!is_error(&again), "{}", text(&again));
            assert_eq!(structured(&again)["new"], json!(false), "{}", text(&again));
            assert_eq!(
                structured(&again)["order"]["id"],
                structured(&placed)["order"]["id"]
            );
            first.cancel().await.expect("close");
            again_client.cancel().await.expect("close");
        }));
    }
    for task in tasks {
        task.await.expect("client task");
    }
    let store = nt_mcp_core::Store::open(&pg.url).await.expect("open");
    let placed: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM broker_paper_orders WHERE client_order_id LIKE 'rep-%'",
    )
    .fetch_one(store.pool())
    .await
    .expect("count");
    assert_eq!(placed, 32, "every order placed exactly once");
    let checker = http_client(&urls[2], None).await.expect("connect");
    let verify = call(&checker, "audit_verify", json!({})).await;
    assert_eq!(
        structured(&verify)["report"]["intact"],
        json!(true),
        "{}",
        text(&verify)
    );

    // A job started on replica A is awaited from replica B ...
    let on_a = http_client(&urls[0], None).await.expect("connect");
    let on_b = http_client(&urls[1], None).await.expect("connect");
    let started = call(
        &on_a,
        "diag_long_running",
        json!({"duration_ms": 800, "steps": 4}),
    )
    .await;
    let job = structured(&started)["job_id"]
        .as_str()
        .expect("job id")
        .to_string();
    let done = call(
        &on_b,
        "job_status",
        json!({"job_id": job, "wait_ms": 10000}),
    )
    .await;
    assert_eq!(
        structured(&done)["status"],
        json!("succeeded"),
        "{}",
        text(&done)
    );

    // ... and a long one is cancelled from replica B.
    let started = call(
        &on_a,
        "diag_long_running",
        json!({"duration_ms": 60000, "steps": 60}),
    )
    .await;
    let job = structured(&started)["job_id"]
        .as_str()
        .expect("job id")
        .to_string();
    let cancelled = call(&on_b, "job_cancel", json!({"job_id": job})).await;
    assert!(!is_error(&cancelled), "{}", text(&cancelled));
    let seen = call(&on_b, "job_status", json!({"job_id": job, "wait_ms": 5000})).await;
    assert_eq!(
        structured(&seen)["status"],
        json!("cancelled"),
        "{}",
        text(&seen)
    );
    for client in [checker, on_a, on_b] {
        client.cancel().await.expect("close");
    }
    drop((a, b, c));
    pg.drop_schema().await;
}

#[tokio::test]
async fn a_callers_rate_limit_is_shared_by_replicas() {
    let Some(pg) = nt_mcp_core::testing::pg_schema(
        "nt_replicas_",
        "a_callers_rate_limit_is_shared_by_replicas",
    )
    .await
    else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let manifest = write_manifest(
        dir.path(),
        "limited",
        "name = \"limited\"\nbundles = []\n[limits]\ncalls_per_minute = 6\n",
    );
    let args = [
        "serve",
        "--manifest",
        manifest.as_str(),
        "--db",
        pg.url.as_str(),
    ];
    let (one, two) = tokio::join!(stdio_client(&args), stdio_client(&args));
    for i in 0..6 {
        let client = if i % 2 == 0 { &one } else { &two };
        let pong = call(client, "ping", json!({})).await;
        assert!(!is_error(&pong), "call {i}: {}", text(&pong));
    }
    let refused = call(&two, "ping", json!({})).await;
    assert_eq!(
        structured(&refused)["error"]["kind"],
        json!("rate_limited"),
        "{}",
        text(&refused)
    );
    one.cancel().await.expect("close");
    two.cancel().await.expect("close");
    pg.drop_schema().await;
}
