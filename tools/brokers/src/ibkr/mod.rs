//! Interactive Brokers Client Portal Web API client, talking to the local
//! gateway: accounts, portfolio summary and positions, contract search,
//! market-data snapshot and history, live orders, trades, order placement
//! with the reply/confirm step (`POST /iserver/reply/{replyid}` with
//! `{"confirmed": true}` until an order id comes back, bounded), cancel,
//! and the `POST /tickle` session keep-alive.
//!
//! The gateway serves a self-signed certificate; `IBKR_ALLOW_INVALID_CERTS`
//! turns certificate checks off, and only for a loopback gateway URL.
//! Paper or live: IB paper account ids start with `D` (`DU1234567`); any
//! other account is reported live.
//!
//! Streaming over the gateway's WebSocket (`wss://localhost:5000/v1/api/ws`),
//! as verified against <https://interactivebrokers.github.io/cpwebapi/RealtimeSubscription.html>
//! and the AsyncAPI description of it
//! (<https://asyncapi.apis.io/asyncapis/interactive-brokers/interactive-brokers-asyncapi/>):
//! the client sends `{"session": ..}` with the session `/tickle` answers,
//! then `smd+{conid}+{"fields":[..]}` (answers `{"topic": "smd+{conid}",
//! "31": .., "84": .., "_updated": ..}`, field keys as strings, fields
//! that did not change left out) and `sor+{}` (answers `{"topic": "sor",
//! "args": [{order fields as in /iserver/account/orders}]}`, also partial),
//! and `tic` to keep the session alive. IB ends an `smd` subscription
//! after 10 minutes (<https://www.interactivebrokers.com/campus/ibkr-api-page/web-api-changelog/>),
//! so it is re-sent every 9.
//!
//! Docs: <https://www.interactivebrokers.com/campus/ibkr-api-page/cpapi-v1/>.

mod config;
mod http;
mod session;
mod stream;
mod types;

pub use config::{DEFAULT_KEEPALIVE, IbkrConfig};
pub use http::{IbkrClient, MAX_CONFIRMS};
pub use stream::STREAM_FIELDS;

pub use crate::urls::is_loopback;

const VENUE: &str = "ibkr";
