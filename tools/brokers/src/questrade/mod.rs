//! Questrade REST API v1 client: the OAuth refresh-token flow (the refresh
//! token is single-use and rotates; each new one is written to
//! `broker_oauth_tokens` before the access token is used, on PostgreSQL
//! under a row lock other processes wait on), accounts, balances, positions, orders,
//! executions, symbol search, Level 1 quotes, candles, order placement and
//! cancel. Auth is `Authorization: Bearer <access_token>` against the
//! `api_server` the token answer names; a 401 or an expired token triggers
//! one refresh and one retry.
//!
//! Streaming (<https://www.questrade.com/api/documentation/streaming>, as
//! verified): `GET v1/markets/quotes?ids=..&stream=true&mode=WebSocket`
//! (L1 quotes) or `GET v1/notifications?mode=WebSocket` (order
//! notifications) answers `{"streamPort": N}`; a WebSocket to the
//! `api_server` host on that port gets the access token as its first
//! message (no `Bearer`), answers `{"success": true}`, then pushes
//! `{"quotes": [..]}` in the REST quote shape, or `{"orders": [..],
//! "executions": [..], "accountNumber": ..}` in the REST order and
//! execution shapes. An open socket does not extend the session: while a
//! stream is open, `GET v1/time` goes out every `keepalive` (10 minutes by
//! default), and every reconnect asks for a fresh port with a valid
//! (refreshed) token.
//!
//! Docs: <https://www.questrade.com/api/documentation/getting-started>,
//! <https://www.questrade.com/api/documentation/authorization>.

mod auth;
mod config;
mod http;
mod stream;
mod types;

pub use config::{DEFAULT_KEEPALIVE, QuestradeConfig};
pub use http::{QuestradeClient, QuestradeCore};

const VENUE: &str = "questrade";
