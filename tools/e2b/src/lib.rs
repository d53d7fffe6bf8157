//! `nt-e2b`: sandboxes and templates (bundle `e2b`).
//!
//! - [`provider`]: the [`SandboxProvider`] contract
//! - [`local`]: the local provider (a directory and a process group per
//!   sandbox, rows in the database, orphans reaped at start)
//! - [`exec`]: one process with limits, output caps and group kill
//! - [`paths`]: paths that cannot leave a sandbox
//! - [`executor`]: the queue with a concurrency limit and run records
//! - [`store`]: the bundle's rows
//! - [`error`]: the error type ([`E2bError`])

pub mod error;
pub mod exec;
pub mod executor;
pub mod local;
pub mod paths;
pub mod provider;
pub mod store;

pub use error::E2bError;
pub use provider::SandboxProvider;
