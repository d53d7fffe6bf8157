//! Shared by the sports integration tests: migrated stores on SQLite and on
//! a private PostgreSQL schema (skipped with `SKIPPED:` when unreachable,
//! a failure under `CI=true`), and a call helper.

#![allow(dead_code)]

use std::sync::Arc;

use nt_mcp_core::store::core_migrations;
use nt_mcp_core::{Store, ToolBundle, ToolCtx, ToolError, ToolOutput, ToolRouter};
use nt_sports::SportsBundle;
use serde_json::Value;

/// A migrated store at `url`.
pub async fn store_at(url: &str) -> Store {
    let store = Store::open(url).await.expect("open store");
    let mut all = core_migrations();
    all.extend(nt_sports::bets::migrations());
    store.migrate(&all).await.expect("migrate");
    store
}

/// Runs `body` on in-memory SQLite, then on a private PostgreSQL schema.
pub async fn on_both<F, Fut>(test: &str, body: F)
where
    F: Fn(Store) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    body(store_at("sqlite::memory:").await).await;
    if let Some(pg) = nt_mcp_core::testing::pg_schema("nt_sports_", test).await {
        let store = store_at(&pg.url).await;
        body(store.clone()).await;
        store.pool().close().await;
        pg.drop_schema().await;
    }
}

/// The bundle's routes.
pub fn router(b: SportsBundle) -> ToolRouter {
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
        Err(e) => panic!("{tool} {args}: {}", e.to_text()),
    }
}

/// Audit rows with `outcome`.
pub async fn audit_count(store: &Store, outcome: &str) -> i64 {
    sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM audit_log WHERE outcome = $1")
        .bind(outcome)
        .fetch_one(store.pool())
        .await
        .expect("audit count")
}
