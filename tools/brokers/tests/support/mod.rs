//! Shared helpers for the brokers integration tests.

pub mod ibkr;
pub mod mcp;
pub mod pg;
pub mod ws;
