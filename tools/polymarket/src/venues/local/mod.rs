//! The embedded local CLOB behind [`super::ClobVenue`].

pub(crate) mod account;
pub(crate) mod markets;
pub(crate) mod orders;
pub(crate) mod strategy;

use nt_mcp_core::bundle::ToolCtx;

use crate::PolymarketBundle;
use crate::engine::Engine;
use crate::error::Result;
use crate::local_view::acct_of;

impl PolymarketBundle {
    /// The local CLOB's engine, with this call's account open (a caller's
    /// own paper wallet is funded on first use).
    pub(crate) async fn engine<'a>(
        &'a self,
        ctx: &ToolCtx,
    ) -> Result<tokio::sync::MutexGuard<'a, Option<Engine>>> {
        self.clob
            .engine_for(ctx.store.pool(), ctx.clock.now_ms(), acct_of(ctx))
            .await
    }
}
