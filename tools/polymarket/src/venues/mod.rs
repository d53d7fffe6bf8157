//! The Polymarket venue: one trait, [`ClobVenue`], implemented by the
//! embedded local CLOB ([`LocalVenue`]) and by the real Polymarket CLOB
//! ([`LiveVenue`]). The bundle picks one per call (live when credentials are
//! configured, else local) and every tool handler calls it; each answer says
//! which venue answered.

pub(crate) mod collateral;
pub(crate) mod fees;
pub(crate) mod live;
pub(crate) mod local;

use nt_mcp_core::bundle::{ToolCtx, ToolOutput};

use crate::PolymarketBundle;
use crate::error::Result;
use crate::inputs::*;
use crate::live::Live;

/// What a Polymarket venue answers: every tool that runs on either venue.
#[async_trait::async_trait]
pub(crate) trait ClobVenue: Send + Sync {
    /// Lists markets.
    async fn markets(&self, input: MarketsInput, ctx: &ToolCtx) -> Result<ToolOutput>;

    /// One market with both books.
    async fn market(&self, input: MarketInput, ctx: &ToolCtx) -> Result<ToolOutput>;

    /// A token's L2 book.
    async fn orderbook(&self, input: OrderbookInput, ctx: &ToolCtx) -> Result<ToolOutput>;

    /// A token's prints.
    async fn price_history(&self, input: HistoryInput, ctx: &ToolCtx) -> Result<ToolOutput>;

    /// Places an order after the risk checks.
    async fn place_order(&self, input: OrderInput, ctx: &ToolCtx) -> Result<ToolOutput>;

    /// Cancels orders.
    async fn cancel_order(&self, input: CancelInput, ctx: &ToolCtx) -> Result<ToolOutput>;

    /// The account's open orders.
    async fn open_orders(&self, input: OpenOrdersInput, ctx: &ToolCtx) -> Result<ToolOutput>;

    /// The account's balance and positions.
    async fn positions(&self, ctx: &ToolCtx) -> Result<ToolOutput>;

    /// Scans for arbitrage.
    async fn find_arbitrage(&self, input: ArbInput, ctx: &ToolCtx) -> Result<ToolOutput>;

    /// Prices a fill's fees.
    async fn fee_estimate(&self, input: FeeEstimateInput, ctx: &ToolCtx) -> Result<ToolOutput>;

    /// Avellaneda-Stoikov quotes (and optionally posts them).
    async fn quote_market(&self, input: QuoteInput, ctx: &ToolCtx) -> Result<ToolOutput>;

    /// Risk limits and exposures.
    async fn risk_status(&self, ctx: &ToolCtx) -> Result<ToolOutput>;

    /// Changes risk limits and the kill switch.
    async fn set_risk_limits(&self, input: RiskInput, ctx: &ToolCtx) -> Result<ToolOutput>;

    /// Settles (local) or reports redemption (live).
    async fn settle(&self, input: SettleInput, ctx: &ToolCtx) -> Result<ToolOutput>;

    /// Fill statistics, spread captured, P&L and Brier score.
    async fn analytics(&self, ctx: &ToolCtx) -> Result<ToolOutput>;

    /// Ensemble edge and Kelly size.
    async fn ensemble_signal(&self, input: EnsembleInput, ctx: &ToolCtx) -> Result<ToolOutput>;

    /// An account's positions and activity.
    async fn wallet(&self, input: WalletInput, ctx: &ToolCtx) -> Result<ToolOutput>;

    /// Accounts ranked by P&L.
    async fn leaderboard(&self, input: LeaderboardInput, ctx: &ToolCtx) -> Result<ToolOutput>;

    /// Top holders per outcome.
    async fn holders(&self, input: HoldersInput, ctx: &ToolCtx) -> Result<ToolOutput>;

    /// Streams books (live only).
    async fn stream_books(&self, input: StreamInput, ctx: &ToolCtx) -> Result<ToolOutput>;

    /// Streams own orders and fills (live only).
    async fn stream_orders(&self, input: StreamOrdersInput, ctx: &ToolCtx) -> Result<ToolOutput>;

    /// Mirrors another account's positions.
    async fn copy_wallet(&self, input: CopyInput, ctx: &ToolCtx) -> Result<ToolOutput>;
}

/// The embedded local CLOB (paper pUSD, house liquidity), per account.
pub(crate) struct LocalVenue<'a>(pub(crate) &'a PolymarketBundle);

/// The real Polymarket CLOB, through the configured credentials.
pub(crate) struct LiveVenue<'a> {
    /// The bundle (books, fee cache, user stream, local records).
    pub(crate) bundle: &'a PolymarketBundle,
    /// The live client.
    pub(crate) live: &'a Live,
}

#[async_trait::async_trait]
impl ClobVenue for LocalVenue<'_> {
    async fn markets(&self, input: MarketsInput, ctx: &ToolCtx) -> Result<ToolOutput> {
        self.markets(input, ctx).await
    }

    async fn market(&self, input: MarketInput, ctx: &ToolCtx) -> Result<ToolOutput> {
        self.market(input, ctx).await
    }

    async fn orderbook(&self, input: OrderbookInput, ctx: &ToolCtx) -> Result<ToolOutput> {
        self.orderbook(input, ctx).await
    }

    async fn price_history(&self, input: HistoryInput, ctx: &ToolCtx) -> Result<ToolOutput> {
        self.history(input, ctx).await
    }

    async fn place_order(&self, input: OrderInput, ctx: &ToolCtx) -> Result<ToolOutput> {
        self.place(input, ctx).await
    }

    async fn cancel_order(&self, input: CancelInput, ctx: &ToolCtx) -> Result<ToolOutput> {
        self.cancel(input, ctx).await
    }

    async fn open_orders(&self, input: OpenOrdersInput, ctx: &ToolCtx) -> Result<ToolOutput> {
        self.open_orders(input, ctx).await
    }

    async fn positions(&self, ctx: &ToolCtx) -> Result<ToolOutput> {
        self.positions(ctx).await
    }

    async fn find_arbitrage(&self, input: ArbInput, ctx: &ToolCtx) -> Result<ToolOutput> {
        self.find_arb(input, ctx).await
    }

    async fn fee_estimate(&self, input: FeeEstimateInput, ctx: &ToolCtx) -> Result<ToolOutput> {
        self.0.fee_estimate(input, ctx).await
    }

    async fn quote_market(&self, input: QuoteInput, ctx: &ToolCtx) -> Result<ToolOutput> {
        self.quote(input, ctx).await
    }

    async fn risk_status(&self, ctx: &ToolCtx) -> Result<ToolOutput> {
        self.risk_status(ctx).await
    }

    async fn set_risk_limits(&self, input: RiskInput, ctx: &ToolCtx) -> Result<ToolOutput> {
        self.set_risk(input, ctx).await
    }

    async fn settle(&self, input: SettleInput, ctx: &ToolCtx) -> Result<ToolOutput> {
        self.settle(input, ctx).await
    }

    async fn analytics(&self, ctx: &ToolCtx) -> Result<ToolOutput> {
        self.analytics(ctx).await
    }

    async fn ensemble_signal(&self, input: EnsembleInput, ctx: &ToolCtx) -> Result<ToolOutput> {
        self.ensemble(input, ctx).await
    }

    async fn wallet(&self, input: WalletInput, ctx: &ToolCtx) -> Result<ToolOutput> {
        self.wallet(input, ctx).await
    }

    async fn leaderboard(&self, _input: LeaderboardInput, ctx: &ToolCtx) -> Result<ToolOutput> {
        self.leaderboard(ctx).await
    }

    async fn holders(&self, input: HoldersInput, ctx: &ToolCtx) -> Result<ToolOutput> {
        self.holders(input, ctx).await
    }

    async fn stream_books(&self, _input: StreamInput, _ctx: &ToolCtx) -> Result<ToolOutput> {
        self.refuse_stream_books()
    }

    async fn stream_orders(&self, _input: StreamOrdersInput, _ctx: &ToolCtx) -> Result<ToolOutput> {
        self.refuse_stream_orders()
    }

    async fn copy_wallet(&self, input: CopyInput, ctx: &ToolCtx) -> Result<ToolOutput> {
        self.copy(input, ctx).await
    }
}

#[async_trait::async_trait]
impl ClobVenue for LiveVenue<'_> {
    async fn markets(&self, input: MarketsInput, _ctx: &ToolCtx) -> Result<ToolOutput> {
        self.live_markets(self.live, input).await
    }

    async fn market(&self, input: MarketInput, _ctx: &ToolCtx) -> Result<ToolOutput> {
        self.live_market(self.live, input).await
    }

    async fn orderbook(&self, input: OrderbookInput, _ctx: &ToolCtx) -> Result<ToolOutput> {
        self.live_orderbook(self.live, input).await
    }

    async fn price_history(&self, input: HistoryInput, _ctx: &ToolCtx) -> Result<ToolOutput> {
        self.live_history(self.live, input).await
    }

    async fn place_order(&self, input: OrderInput, ctx: &ToolCtx) -> Result<ToolOutput> {
        self.live_place(self.live, input, ctx).await
    }

    async fn cancel_order(&self, input: CancelInput, ctx: &ToolCtx) -> Result<ToolOutput> {
        self.live_cancel(self.live, input, ctx).await
    }

    async fn open_orders(&self, input: OpenOrdersInput, _ctx: &ToolCtx) -> Result<ToolOutput> {
        self.live_open_orders(self.live, input).await
    }

    async fn positions(&self, _ctx: &ToolCtx) -> Result<ToolOutput> {
        self.live_wallet(self.live, None).await
    }

    async fn find_arbitrage(&self, input: ArbInput, ctx: &ToolCtx) -> Result<ToolOutput> {
        self.live_arb(self.live, input, ctx.clock.now_ms()).await
    }

    async fn fee_estimate(&self, input: FeeEstimateInput, ctx: &ToolCtx) -> Result<ToolOutput> {
        self.bundle.live_fee_estimate(self.live, input, ctx).await
    }

    async fn quote_market(&self, input: QuoteInput, ctx: &ToolCtx) -> Result<ToolOutput> {
        self.live_quote(self.live, input, ctx).await
    }

    async fn risk_status(&self, ctx: &ToolCtx) -> Result<ToolOutput> {
        self.live_risk_status(self.live, ctx).await
    }

    async fn set_risk_limits(&self, input: RiskInput, ctx: &ToolCtx) -> Result<ToolOutput> {
        self.live_set_risk(self.live, input, ctx).await
    }

    async fn settle(&self, input: SettleInput, _ctx: &ToolCtx) -> Result<ToolOutput> {
        self.live_settle(self.live, input).await
    }

    async fn analytics(&self, ctx: &ToolCtx) -> Result<ToolOutput> {
        self.live_analytics(self.live, ctx).await
    }

    async fn ensemble_signal(&self, input: EnsembleInput, ctx: &ToolCtx) -> Result<ToolOutput> {
        self.live_ensemble(self.live, input, ctx).await
    }

    async fn wallet(&self, input: WalletInput, _ctx: &ToolCtx) -> Result<ToolOutput> {
        self.live_wallet(self.live, input.address).await
    }

    async fn leaderboard(&self, input: LeaderboardInput, _ctx: &ToolCtx) -> Result<ToolOutput> {
        self.live_leaderboard(self.live, input).await
    }

    async fn holders(&self, input: HoldersInput, _ctx: &ToolCtx) -> Result<ToolOutput> {
        self.live_holders(self.live, input).await
    }

    async fn stream_books(&self, input: StreamInput, _ctx: &ToolCtx) -> Result<ToolOutput> {
        self.live_stream(self.live, input).await
    }

    async fn stream_orders(&self, input: StreamOrdersInput, ctx: &ToolCtx) -> Result<ToolOutput> {
        self.live_stream_orders(self.live, input, ctx).await
    }

    async fn copy_wallet(&self, input: CopyInput, ctx: &ToolCtx) -> Result<ToolOutput> {
        self.live_copy(self.live, input, ctx).await
    }
}

impl std::ops::Deref for LocalVenue<'_> {
    type Target = PolymarketBundle;

    fn deref(&self) -> &PolymarketBundle {
        self.0
    }
}

impl std::ops::Deref for LiveVenue<'_> {
    type Target = PolymarketBundle;

    fn deref(&self) -> &PolymarketBundle {
        self.bundle
    }
}

impl PolymarketBundle {
    /// The venue this call runs on, chosen once: live when credentials are
    /// configured, else the local CLOB.
    pub(crate) fn venue(&self) -> Box<dyn ClobVenue + '_> {
        match &self.live {
            Some(live) => Box::new(LiveVenue { bundle: self, live }),
            None => Box::new(LocalVenue(self)),
        }
    }
}
