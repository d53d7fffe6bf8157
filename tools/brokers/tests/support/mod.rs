//! Shared helpers for the brokers integration tests.

pub mod ibkr;
pub mod pg;
pub mod ws;
