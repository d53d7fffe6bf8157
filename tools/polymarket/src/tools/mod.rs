//! The bundle's one route table: every tool's name, description, scope and
//! typed input bound to its handler. Handlers are thin: they pick the venue
//! (see [`crate::venues::ClobVenue`]) and call it.

pub(crate) mod collateral;
pub(crate) mod fees;
pub(crate) mod market_making;
pub(crate) mod markets;
pub(crate) mod orders;
pub(crate) mod positions;
pub(crate) mod risk;
pub(crate) mod stream;

use nt_mcp_core::{Route, route};

use crate::PolymarketBundle;

/// Every tool of the bundle, in listing order.
pub(crate) fn routes() -> Vec<Route<PolymarketBundle>> {
    vec![
        route("polymarket_markets", "List prediction markets: question, event, condition id, YES/NO token ids, tick size, neg-risk flag, best bid/ask and last trade.", markets::markets),
        route("polymarket_market", "One market by condition id, slug or token id, with the top of both outcome books.", markets::market),
        route("polymarket_orderbook", "L2 order book of a token (or market + outcome): bids and asks best first, mid and spread.", markets::orderbook),
        route("polymarket_price_history", "Trade prints of a token, newest first, in that token's price terms.", markets::price_history),
        route("polymarket_build_order", "Build and EIP-712-sign a Polymarket CLOB V2 order (V2 CTF or Neg-Risk exchange, Exchange V3 for a position id; limit or market; amounts rounded as py-clob-client-v2 does; builder code and metadata) without sending it. Needs POLYMARKET_PRIVATE_KEY.", orders::build_order),
        route("polymarket_place_order", "Place a limit order (GTC, FOK or FAK) after the risk checks, on a token id or a market with its outcome (YES/NO). Pass client_order_id: the same id twice places one order.", orders::place_order).trade(),
        route("polymarket_cancel_order", "Cancel orders by id, all in a market, or all.", orders::cancel_order).trade(),
        route("polymarket_open_orders", "Open orders of the paper account, oldest first.", orders::open_orders),
        route("polymarket_positions", "pUSD balance, positions with average cost, mark, unrealized and realized P&L, and equity.", positions::positions),
        route("polymarket_find_arbitrage", "Scan every binary market (YES ask + NO ask < 1 after fees, or bids > 1) and neg-risk event (YES asks summing below 1, or bids above 1); size at the edge and expected profit.", market_making::find_arbitrage),
        route("polymarket_quote_market", "Avellaneda-Stoikov quotes for a market from its mid (live: the venue's book) and the inventory (paper account, or the live positions), skewed, tick-rounded, min size; no bid (or ask) when the model puts it off the tick grid, with the reason; with place=true cancel the account's orders in that market and post the quotes", market_making::quote_market).trade().not_idempotent(),
        route("polymarket_risk_status", "Risk limits, kill switch, exposures and today's P&L against the daily loss limit.", risk::risk_status),
        route("polymarket_set_risk_limits", "Change risk limits; kill_switch=true cancels all open orders and refuses new ones.", risk::set_risk_limits).writes(),
        route("polymarket_settle", "Settle a market. Local CLOB: you name the winner; cancels its orders, pays 1 pUSD per winning share, books P&L. Live: reads the account's positions in the market and, once Polymarket's oracle has resolved it, returns the V2 collateral adapter's redeemPositions calldata (for review, not sent)", positions::settle).trade(),
        route("polymarket_analytics", "Fill statistics (maker/taker counts and volume), spread captured by maker fills (mark-out against the current mid, or settlement once resolved), P&L, and the Brier score of recorded forecasts on resolved markets.", positions::analytics),
        route("polymarket_ensemble_signal", "Combine probability forecasts (weighted) into an edge against the market's asks and a fractional-Kelly order suggestion; records the forecasts for Brier scoring.", market_making::ensemble_signal).writes().not_idempotent(),
        route("polymarket_wallet", "An account's positions, recent activity and P&L (wallet intelligence).", positions::wallet),
        route("polymarket_leaderboard", "Accounts ranked by P&L (live: the Polymarket leaderboard by period and PNL or VOL).", positions::leaderboard),
        route("polymarket_stream_books", "Live venue: stream tokens' L2 books over the market WebSocket (subscribe/unsubscribe token ids or whole markets); polymarket_orderbook and polymarket_market then answer from the stream (book_source: stream) while it is in sync and fresh. Returns subscriptions, stream counters and each book's age.", markets::stream_books),
        route("polymarket_stream_orders", "Live venue: stream this API key's own orders and fills over the CLOB's authenticated user WebSocket (start for given markets, default every market with an open live order; stop; status). Order events update the live orders' status and size matched, trade events record fills by trade id (MATCHED -> MINED -> CONFIRMED), each with an audit row; fills of orders this server did not place are recorded and marked so. Returns stream counters, latest order events, live orders and fills.", stream::stream_orders).writes(),
        route("polymarket_holders", "Top holders of each outcome token of a market (live: the Data API; local CLOB: its accounts), largest first.", markets::holders),
        route("polymarket_fee_estimate", "Fees on a fill as Polymarket CLOB V2 charges them: platform fee shares x rate x (p(1-p))^exponent (takers only, rounded down to 5 dp; makers pay 0) from the market's fee schedule (local CLOB's, or the venue's GET /clob-markets, cached), plus the builder fee (bps of notional) when a builder code is set; says which schedule and where it came from.", fees::fee_estimate),
        route("polymarket_collateral", "pUSD, the CLOB V2 collateral: balance and exchange allowances the CLOB sees (live: /balance-allowance, refresh=true re-reads the chain; local: the paper account) and missing approvals; calldata (for review, never sent) to approve the V2 exchanges, wrap USDC.e into pUSD, unwrap it, and split, merge or redeem a market through the V2 collateral adapters.", collateral::collateral),
        route("polymarket_copy_wallet", "Mirror another account's positions into the paper account with a scale factor and a per-order notional cap (FAK orders at the best price, risk-checked).", orders::copy_wallet).trade().not_idempotent(),
    ]
}
