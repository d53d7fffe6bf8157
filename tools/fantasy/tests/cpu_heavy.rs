//! The searching tools are CPU-heavy routes (run off the async workers by
//! the runtime) and stop when their call is cancelled.

use std::sync::Arc;

use nt_fantasy::{FantasyBundle, migrations};
use nt_mcp_core::bundle::{BundleSettings, ToolBundle, ToolCtx};
use nt_mcp_core::clock::ManualClock;
use nt_mcp_core::store::core_migrations;
use nt_mcp_core::{Store, ToolErrorKind, ToolRouter};
use serde_json::json;

async fn env() -> (ToolRouter, ToolCtx) {
    let store = Store::open("sqlite::memory:").await.unwrap();
    let mut all = core_migrations();
    all.extend(migrations());
    store.migrate(&all).await.unwrap();
    let bundle = FantasyBundle::new(&BundleSettings::default()).unwrap();
    let ctx = ToolCtx::new(store).with_clock(Arc::new(ManualClock::new(1_730_000_000_000)));
    (Arc::new(bundle).routes(), ctx)
}

#[tokio::test]
async fn the_searches_are_cpu_heavy_routes() {
    let (router, _) = env().await;
    let heavy: Vec<String> = router
        .specs()
        .into_iter()
        .filter(|s| s.cpu_heavy)
        .map(|s| s.name)
        .collect();
    assert_eq!(
        heavy,
        [
            "fantasy_set_lineup",
            "fantasy_optimal_lineup",
            "fantasy_lineups_diverse",
            "fantasy_evaluate_trade",
            "fantasy_score_week",
        ]
    );
    assert_eq!(router.specs().len(), 17);
}

#[tokio::test]
async fn a_cancelled_search_stops() {
    let (router, ctx) = env().await;
    ctx.cancel.cancel();
    let err = router
        .call(
            "fantasy_lineups_diverse",
            json!({"sport": "nfl", "week": 5, "count": 50}),
            ctx.clone(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind, ToolErrorKind::Cancelled, "{}", err.message);
    let err = router
        .call(
            "fantasy_optimal_lineup",
            json!({"sport": "nfl", "week": 5}),
            ctx,
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind, ToolErrorKind::Cancelled, "{}", err.message);
}
