//! Training as a background job: `neural_train` adopted by mcp-core's job
//! manager reports progress per epoch, stops between batches when the job
//! is cancelled (well inside the manager's grace period, so it stopped
//! itself rather than being aborted) and saves nothing.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use nt_mcp_core::ToolCtx;
use nt_mcp_core::clock::SystemClock;
use nt_mcp_core::jobs::{JobManager, NewJob};
use nt_mcp_core::progress::Progress;
use nt_neural::NeuralBundle;
use serde_json::json;
use support::*;
use tokio_util::sync::CancellationToken;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn training_job_reports_progress_and_cancels() {
    let store = store_at("sqlite::memory:").await;
    let r = router(NeuralBundle::default());
    let jobs = Arc::new(JobManager::new(
        store.clone(),
        Arc::new(SystemClock),
        "test",
    ));
    let cancel = CancellationToken::new();
    let progress = Progress::recording();
    let mut ctx = ToolCtx::new(store.clone());
    ctx.cancel = cancel.clone();
    ctx.progress = progress.clone();
    let args = json!({"name": "long", "series": {"values": seasonal(400, 9)},
                      "hyper": {"hidden": 32, "epochs": 2000, "batch_size": 8}, "device": "cpu"});
    let handle = tokio::spawn(async move { r.call("neural_train", args, ctx).await });
    let id = jobs
        .adopt(NewJob {
            tool: "neural_train".into(),
            caller: "stdio".into(),
            args_digest: String::new(),
            handle,
            cancel,
            progress,
        })
        .await
        .expect("adopt");

    // Progress arrives epoch by epoch.
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen = Vec::new();
    loop {
        let view = jobs.status(&id, "stdio", false).await.expect("status");
        assert_eq!(view.status, "running");
        if let Some(p) = view.progress.as_ref().filter(|p| p.progress >= 1.0) {
            if seen.last() != Some(&p.progress) {
                println!("progress {} / {:?}: {:?}", p.progress, p.total, p.message);
                seen.push(p.progress);
            }
            assert_eq!(p.total, Some(2000.0));
            if seen.len() >= 2 {
                break;
            }
        }
        assert!(Instant::now() < deadline, "no progress in 60 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "{seen:?}");

    let t0 = Instant::now();
    jobs.cancel(&id, "stdio", false).await.expect("cancel");
    jobs.wait(&id, Duration::from_secs(10)).await;
    let stopped = t0.elapsed();
    let view = jobs.status(&id, "stdio", false).await.expect("status");
    println!(
        "cancelled after {stopped:.2?}: {} {:?}",
        view.status, view.error
    );
    assert_eq!(view.status, "cancelled");
    assert!(
        stopped < Duration::from_millis(1500),
        "took {stopped:?}: aborted, not stopped"
    );
    let last = view.progress.expect("progress").progress;
    assert!(last < 2000.0, "ran to the end");
    let saved: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM neural_models")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(saved, 0, "a cancelled training saved a model");
}
