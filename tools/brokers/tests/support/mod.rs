//! Shared helpers for the brokers integration tests.

pub mod pg;
pub mod ws;
