//! `nt-polymarket`: the Polymarket tool bundle.
//!
//! Two venues behind one set of tools: the real Polymarket CLOB (REST with
//! L2 HMAC auth, EIP-712 signed orders) when credentials are configured, and
//! an embedded local CLOB ([`engine`], persisted by [`venue`]) otherwise.
//! The trading logic ([`book`], [`arb`], [`mm`], [`ensemble`], [`risk`]) is
//! the same code on either.

pub mod analytics;
pub mod arb;
pub mod auth;
pub mod book;
pub mod bundle;
pub mod chain;
pub mod collateral;
pub mod copy;
pub mod data_api;
pub mod engine;
pub mod ensemble;
pub mod error;
pub mod fees;
pub mod gamma;
pub mod http;
pub mod live;
pub mod mm;
pub mod rest;
pub mod risk;
pub mod signing;
pub mod stream;
pub mod types;
pub mod user_ws;
pub mod venue;
pub mod ws;

pub use bundle::{PolymarketBundle, PolymarketConfig};
pub use error::PolymarketError;
pub use venue::migrations;
