//! Alpaca client: Trading API v2 (account, positions, orders placed with a
//! `client_order_id`, list, cancel, lookup by client id), Market Data API v2
//! (latest quote, bars) and the `trade_updates` WebSocket stream (auth,
//! listen, reconnect with backoff and re-auth).
//!
//! Auth is the `APCA-API-KEY-ID` / `APCA-API-SECRET-KEY` header pair on
//! every REST call, and an `{"action":"auth","key":..,"secret":..}` message
//! on the stream. Paper or live is told by the base URL: only
//! `https://paper-api.alpaca.markets` is paper; any other host is reported
//! live, so the runtime's trading gate applies.
//!
//! Docs: <https://docs.alpaca.markets/reference/api-references>,
//! <https://docs.alpaca.markets/docs/working-with-orders>,
//! <https://docs.alpaca.markets/docs/websocket-streaming>.

mod config;
mod http;
mod stream;
mod types;

pub use config::{AlpacaConfig, DEFAULT_DATA_STREAM_URL, PAPER_HOST};
pub use http::AlpacaClient;
pub use stream::{StreamLimits, StreamReport, TradeUpdate, parse_stream_quote};

const VENUE: &str = "alpaca";
