//! Several server processes ("replicas") on one PostgreSQL database behave
//! as one service: a job started on one is seen, awaited and cancelled from
//! another, and a caller's rate limit is one bucket across all of them.
//! Each test uses a private schema; without a server they skip (except under
//! `CI=true`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use nt_mcp_core::clock::SystemClock;
use nt_mcp_core::jobs::{JobManager, NewJob};
use nt_mcp_core::middleware::rate_limit::RateLimiter;
use nt_mcp_core::progress::Progress;
use nt_mcp_core::store::core_migrations;
use nt_mcp_core::testing::{PgSchema, pg_schema};
use nt_mcp_core::{Store, ToolError, ToolOutput};
use tokio_util::sync::CancellationToken;

/// Two stores opened separately on one schema, as two processes would.
async fn two_stores(test: &str) -> Option<(PgSchema, Store, Store)> {
    let schema = pg_schema("nt_core_replicas_", test).await?;
    let a = Store::open(&schema.url).await.expect("open a");
    let b = Store::open(&schema.url).await.expect("open b");
    a.migrate(&core_migrations()).await.expect("migrate a");
    assert!(
        b.migrate(&core_migrations())
            .await
            .expect("migrate b")
            .is_empty()
    );
    Some((schema, a, b))
}

fn replica(store: Store) -> Arc<JobManager> {
    Arc::new(JobManager::new(store, Arc::new(SystemClock), "test"))
}

fn job(
    handle: tokio::task::JoinHandle<Result<ToolOutput, ToolError>>,
    cancel: CancellationToken,
) -> NewJob {
    NewJob {
        tool: "slow".into(),
        caller: "me".into(),
        args_digest: "d".into(),
        handle,
        cancel,
        progress: Progress::recording(),
    }
}

#[tokio::test]
async fn a_job_on_one_replica_is_awaited_and_cancelled_from_another() {
    let Some((schema, store_a, store_b)) =
        two_stores("a_job_on_one_replica_is_awaited_and_cancelled_from_another").await
    else {
        return;
    };
    let a = replica(store_a);
    let b = replica(store_b);

    // A job on A that ends when the test says so.
    let (release, released) = tokio::sync::oneshot::channel::<()>();
    let handle = tokio::spawn(async move {
        let _ = released.await;
        Ok(ToolOutput::new("done", serde_json::json!({"n": 7})))
    });
    let id = a
        .adopt(job(handle, CancellationToken::new()))
        .await
        .expect("adopt");
    assert_eq!(
        a.status(&id, "me", false).await.expect("a").status,
        "running"
    );
    assert_eq!(
        b.status(&id, "me", false).await.expect("b").status,
        "running_elsewhere"
    );
    // B's wait runs to its timeout while the job runs...
    let started = Instant::now();
    b.wait(&id, Duration::from_millis(300)).await;
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(
        b.status(&id, "me", false).await.expect("b").status,
        "running_elsewhere"
    );
    // ...and returns soon after it ends on A.
    let waiter = {
        let b = Arc::clone(&b);
        let id = id.clone();
        tokio::spawn(async move {
            let started = Instant::now();
            b.wait(&id, Duration::from_secs(10)).await;
            started.elapsed()
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    release.send(()).expect("release");
    let waited = waiter.await.expect("waiter");
    assert!(waited < Duration::from_secs(2), "{waited:?}");
    let view = b.status(&id, "me", false).await.expect("b");
    assert_eq!(view.status, "succeeded");
    assert_eq!(view.result.expect("result")["structured"]["n"], 7);

    // A long job on A, cancelled from B, as `job_cancel` does: cancel, wait
    // up to 3 s, read the final view.
    let cancel = CancellationToken::new();
    let token = cancel.clone();
    let handle = tokio::spawn(async move {
        tokio::select! {
            () = token.cancelled() => Err(ToolError::cancelled()),
            () = tokio::time::sleep(Duration::from_secs(600)) => {
                Ok(ToolOutput::new("too late", serde_json::json!({})))
            }
        }
    });
    let id = a.adopt(job(handle, cancel.clone())).await.expect("adopt");
    // Another caller cannot cancel it.
    assert!(b.cancel(&id, "someone", false).await.is_err());
    let started = Instant::now();
    let asked = b.cancel(&id, "me", false).await.expect("cancel from b");
    assert_eq!(asked.status, "running_elsewhere");
    b.wait(&id, Duration::from_secs(3)).await;
    let view = b.status(&id, "me", false).await.expect("b");
    assert_eq!(view.status, "cancelled", "{view:?}");
    assert!(cancel.is_cancelled(), "A cancelled the job's token");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        a.status(&id, "me", false).await.expect("a").status,
        "cancelled"
    );
    // An ended job cannot be cancelled again.
    assert!(b.cancel(&id, "me", false).await.is_err());
    schema.drop_schema().await;
}

#[tokio::test]
async fn a_callers_rate_limit_is_shared_by_all_replicas() {
    let Some((schema, store_a, store_b)) =
        two_stores("a_callers_rate_limit_is_shared_by_all_replicas").await
    else {
        return;
    };
    let a = RateLimiter::for_store(store_a.clone(), "test", 10);
    let b = RateLimiter::for_store(store_b.clone(), "test", 10);
    assert!(a.is_shared() && b.is_shared());
    for i in 0..10 {
        let limiter = if i % 2 == 0 { &a } else { &b };
        assert!(limiter.check("me").await.is_ok(), "call {i} admitted");
    }
    let wait = b.check("me").await.expect_err("the 11th call is refused");
    // One token comes back every 6 s.
    assert!(
        wait > Duration::from_secs(4) && wait <= Duration::from_secs(6),
        "{wait:?}"
    );
    assert!(a.check("me").await.is_err());
    // Other callers, and other variants, have their own buckets.
    assert!(a.check("someone").await.is_ok());
    let other = RateLimiter::for_store(store_a.clone(), "other", 10);
    assert!(other.check("me").await.is_ok());

    // Calls racing on both replicas take exactly the bucket's tokens.
    let a = Arc::new(a);
    let b = Arc::new(b);
    let mut calls = Vec::new();
    for i in 0..30 {
        let limiter = Arc::clone(if i % 2 == 0 { &a } else { &b });
        calls.push(tokio::spawn(
            async move { limiter.check("racer").await.is_ok() },
        ));
    }
    let mut admitted = 0;
    for call in calls {
        if call.await.expect("call") {
            admitted += 1;
        }
    }
    assert_eq!(admitted, 10);
    schema.drop_schema().await;
}
