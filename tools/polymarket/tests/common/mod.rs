//! Shared by the integration tests: the bundle bound to its route table, as
//! the runtime holds it, and call contexts.

#![allow(dead_code)]

use std::sync::Arc;

use nt_mcp_core::bundle::ToolCtx;
use nt_mcp_core::clock::ManualClock;
use nt_mcp_core::{Store, ToolBundle, ToolError, ToolOutput, ToolRouter, ToolSpec};
use nt_polymarket::{PolymarketBundle, PolymarketConfig, PolymarketError};
use serde_json::Value;

/// A bundle with its route table, built once per test.
pub struct TestBundle {
    bundle: Arc<PolymarketBundle>,
    router: ToolRouter,
}

impl TestBundle {
    /// Builds the bundle from `config` and binds its routes.
    pub fn from_config(config: PolymarketConfig) -> Result<Self, PolymarketError> {
        let bundle = Arc::new(PolymarketBundle::from_config(config)?);
        let router = bundle.clone().routes();
        Ok(Self { bundle, router })
    }

    /// Calls tool `tool` through the route table.
    pub async fn call(
        &self,
        tool: &str,
        args: Value,
        ctx: ToolCtx,
    ) -> Result<ToolOutput, ToolError> {
        self.router.call(tool, args, ctx).await
    }

    /// The tools' specs, in listing order.
    pub fn tools(&self) -> Vec<ToolSpec> {
        self.router.specs()
    }
}

impl std::ops::Deref for TestBundle {
    type Target = PolymarketBundle;

    fn deref(&self) -> &PolymarketBundle {
        &self.bundle
    }
}

/// A context over `store` for the local caller at `now_ms`, variant `test`.
pub fn ctx_at(store: Store, now_ms: i64, live_trading: bool) -> ToolCtx {
    let mut ctx = ToolCtx::new(store)
        .with_clock(Arc::new(ManualClock::new(now_ms)))
        .with_live_trading(live_trading);
    ctx.variant = Arc::from("test");
    ctx
}
