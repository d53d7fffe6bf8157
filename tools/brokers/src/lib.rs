//! `nt-brokers`: the brokers bundle. One [`broker::Broker`] trait with a
//! persisted [`paper::PaperBroker`] (the default, no credentials) and real
//! clients for OANDA v20, Questrade, Alpaca, Tradier and the Interactive
//! Brokers Client Portal gateway, each with its order-update and quote
//! streams ([`ws`] holds the shared WebSocket loop); pre-trade [`compliance`] checks
//! applied to every broker; a hash-chained [`audit`] trail written in the
//! same transaction as each state change; Canadian [`tax`] (ACB, superficial
//! loss, CAD conversion, T5008, Schedule 3).

pub mod alpaca;
pub mod audit;
pub mod broker;
pub mod bundle;
pub mod calendar;
pub mod compliance;
pub mod config;
/// Calendar arithmetic, shared with the other bundles through the runtime.
pub use nt_mcp_core::dates;
pub mod desk;
pub mod error;
pub mod guide;
pub mod http;
pub mod ibkr;
pub mod money;
pub mod oanda;
pub mod paper;
pub mod pdf;
pub mod questrade;
pub mod settlement;
pub mod sim;
pub mod tax;
mod tools;
pub mod tradier;
pub mod types;
pub mod urls;
pub mod ws;

pub use bundle::BrokersBundle;
pub use error::BrokersError;

use nt_mcp_core::Migration;

/// The bundle's database migrations.
pub fn migrations() -> Vec<Migration> {
    vec![Migration::portable(
        "brokers/0001_brokers",
        include_str!("../../../migrations/brokers/0001_brokers.sql"),
    )]
}
