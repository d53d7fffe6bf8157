//! Shared by the neural integration tests: migrated stores on SQLite and on
//! a private PostgreSQL schema (skipped with `SKIPPED:` when unreachable, a
//! failure under `CI=true`), call helpers and the seeded seasonal series.

#![allow(dead_code)]

use std::sync::Arc;

use nt_mcp_core::store::core_migrations;
use nt_mcp_core::{Store, ToolBundle, ToolCtx, ToolError, ToolOutput, ToolRouter};
use nt_neural::NeuralBundle;
use nt_neural::rng::Rng;
use serde_json::Value;

/// A migrated store at `url`.
pub async fn store_at(url: &str) -> Store {
    let store = Store::open(url).await.expect("open store");
    let mut all = core_migrations();
    all.extend(nt_neural::store::migrations());
    store.migrate(&all).await.expect("migrate");
    store
}

/// Runs `body` on in-memory SQLite, then on a private PostgreSQL schema.
pub async fn on_both<F, Fut>(test: &str, body: F)
where
    F: Fn(Store) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    println!("-- {test} on SQLite");
    body(store_at("sqlite::memory:").await).await;
    if let Some(pg) = nt_mcp_core::testing::pg_schema("nt_neural_", test).await {
        println!("-- {test} on PostgreSQL");
        let store = store_at(&pg.url).await;
        body(store.clone()).await;
        store.pool().close().await;
        pg.drop_schema().await;
    }
}

/// The bundle's routes.
pub fn router(b: NeuralBundle) -> ToolRouter {
    Arc::new(b).routes()
}

/// Calls `tool`.
pub async fn call(
    r: &ToolRouter,
    ctx: &ToolCtx,
    tool: &str,
    args: Value,
) -> Result<ToolOutput, ToolError> {
    r.call(tool, args, ctx.clone()).await
}

/// Calls `tool`, which must succeed; its structured answer.
pub async fn ok(r: &ToolRouter, ctx: &ToolCtx, tool: &str, args: Value) -> Value {
    match call(r, ctx, tool, args.clone()).await {
        Ok(out) => out.structured,
        Err(e) => panic!("{tool}: {}", e.to_text()),
    }
}

/// 10 + 0.05 t + 5 sin(2π t / 12) + N(0, 0.5²), seeded.
pub fn seasonal(n: usize, seed: u64) -> Vec<f64> {
    let mut rng = Rng::new(seed);
    (0..n)
        .map(|t| {
            let t = t as f64;
            10.0 + 0.05 * t + 5.0 * (std::f64::consts::TAU * t / 12.0).sin() + 0.5 * rng.normal()
        })
        .collect()
}
