//! OANDA v20 REST client: account summary, open positions, pricing,
//! candles, orders (create, list, cancel by id or `@clientID`), trades as
//! executions, and the newline-delimited JSON pricing stream with its
//! heartbeats. Auth is `Authorization: Bearer <token>`; times are asked
//! for as UNIX seconds (`Accept-Datetime-Format: UNIX`).

mod config;
mod http;
mod stream;
mod types;

pub use config::OandaConfig;
pub use http::OandaClient;
pub use stream::StreamEvent;

const VENUE: &str = "oanda";
