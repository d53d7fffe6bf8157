//! Tradier Brokerage API client: user profile (default account), account
//! balances, positions, orders (list, one, place form-encoded with the
//! client id as `tag`, modify, cancel), market quotes and history /
//! time-and-sales bars, and the WebSocket streams (market events for
//! quotes, account events for order updates). Auth is
//! `Authorization: Bearer <token>` with `Accept: application/json` on
//! every call. Sandbox or live is told by the base URL: only
//! `https://sandbox.tradier.com` is paper; any other host is reported live.
//!
//! Docs: <https://documentation.tradier.com/brokerage-api>. Streaming,
//! as verified: a session from `POST /v1/markets/events/session` or
//! `POST /v1/accounts/events/session`
//! (<https://documentation.tradier.com/brokerage-api/streaming/create-market-session>,
//! <https://documentation.tradier.com/brokerage-api/streaming/create-account-session>;
//! answer `{"stream": {"url", "sessionid"}}`, valid 5 minutes, one at a
//! time), then `wss://ws.tradier.com/v1/markets/events` with
//! `{"symbols", "sessionid", "filter", "linebreak"}`
//! (<https://documentation.tradier.com/brokerage-api/streaming/wss-market-websocket>)
//! and `wss://ws.tradier.com/v1/accounts/events` with
//! `{"events": ["order"], "sessionid", "excludeAccounts"}`
//! (<https://documentation.tradier.com/brokerage-api/streaming/wss-account-websocket>;
//! paper accounts use `wss://sandbox-ws.tradier.com`). Payloads:
//! <https://docs.tradier.com/docs/streaming> (quote: `bid`, `bidsz`,
//! `biddate`, `ask`, `asksz`, `askdate`, dates in ms) and
//! <https://docs.tradier.com/docs/account-streaming-responses> (order
//! events carry `id`, `status`, `type`, `price`, `stop_price`,
//! `avg_fill_price`, `exec_quantity`, `last_fill_quantity`,
//! `remaining_quantity`, dates and `account`, but no symbol or side: those
//! are read from the order itself).

mod config;
mod http;
mod stream;
mod types;

pub use config::{SANDBOX_HOST, SANDBOX_STREAM_URL, STREAM_URL, TradierConfig};
pub use http::TradierClient;
pub use stream::parse_stream_quote;

const VENUE: &str = "tradier";
