//! Shared by the integration tests: the bundle bound to its route table,
//! stores with the bundle's migrations, call contexts, and a fake Beefy API.

#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use nt_defi::beefy::{Endpoint, snapshot};
use nt_defi::{DefiBundle, DefiConfig};
use nt_mcp_core::bundle::ToolCtx;
use nt_mcp_core::clock::ManualClock;
use nt_mcp_core::store::core_migrations;
use nt_mcp_core::{Store, ToolBundle, ToolError, ToolOutput, ToolRouter};
use serde_json::Value;

/// The snapshot's time, ms.
pub const SNAP_MS: i64 = 1_764_633_600_000;

/// A bundle with its route table.
pub struct TestBundle {
    pub bundle: Arc<DefiBundle>,
    router: ToolRouter,
}

impl TestBundle {
    /// Builds the bundle from `config` and binds its routes.
    pub fn new(config: DefiConfig) -> Self {
        let bundle = Arc::new(DefiBundle::from_config(config).expect("bundle"));
        let router = bundle.clone().routes();
        Self { bundle, router }
    }

    /// Calls `tool`.
    pub async fn call(
        &self,
        tool: &str,
        args: Value,
        ctx: ToolCtx,
    ) -> Result<ToolOutput, ToolError> {
        self.router.call(tool, args, ctx).await
    }

    /// Tool names.
    pub fn names(&self) -> Vec<String> {
        self.router.specs().into_iter().map(|s| s.name).collect()
    }
}

/// A store at `url` with the core and defi migrations.
pub async fn store_at(url: &str) -> Store {
    let store = Store::open(url).await.expect("store");
    let mut m = core_migrations();
    m.extend(nt_defi::migrations());
    store.migrate(&m).await.expect("migrate");
    store
}

/// An in-memory SQLite store with the migrations.
pub async fn store() -> Store {
    store_at("sqlite::memory:").await
}

/// A context at `clock` (shared, so a test can move time).
pub fn ctx(store: &Store, clock: &Arc<ManualClock>, live: bool) -> ToolCtx {
    let mut c = ToolCtx::new(store.clone())
        .with_clock(clock.clone())
        .with_live_trading(live);
    c.variant = Arc::from("test");
    c
}

/// A fake Beefy API serving the snapshot's bodies, counting hits per path;
/// `fail` makes every answer a 503.
#[derive(Default)]
pub struct FakeBeefy {
    pub hits: Mutex<HashMap<String, usize>>,
    pub total: AtomicUsize,
    pub fail: std::sync::atomic::AtomicBool,
    /// Serve `/boosts` without the snapshot's on-chain figures, as the real API.
    pub api_boosts: std::sync::atomic::AtomicBool,
}

async fn serve(State(f): State<Arc<FakeBeefy>>, Path(path): Path<String>) -> (StatusCode, String) {
    let path = format!("/{path}");
    f.total.fetch_add(1, Ordering::SeqCst);
    *f.hits
        .lock()
        .expect("lock")
        .entry(path.clone())
        .or_default() += 1;
    if f.fail.load(Ordering::SeqCst) {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            r#"{"error":"maintenance"}"#.into(),
        );
    }
    match Endpoint::ALL.iter().find(|e| e.path() == path) {
        Some(Endpoint::Boosts) if f.api_boosts.load(Ordering::SeqCst) => {
            let mut boosts: Value =
                serde_json::from_str(snapshot::body(Endpoint::Boosts)).expect("json");
            for b in boosts.as_array_mut().expect("array") {
                let obj = b.as_object_mut().expect("object");
                obj.remove("rewardRate");
                obj.remove("totalSupply");
                obj.remove("periodFinish");
            }
            (StatusCode::OK, boosts.to_string())
        }
        Some(e) => (StatusCode::OK, snapshot::body(*e).to_string()),
        None => (StatusCode::NOT_FOUND, r#"{"error":"not found"}"#.into()),
    }
}

/// Starts the fake on 127.0.0.1; returns its base URL.
pub async fn fake_beefy() -> (String, Arc<FakeBeefy>) {
    let state = Arc::new(FakeBeefy::default());
    let app = Router::new()
        .route("/{*path}", get(serve))
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), state)
}
