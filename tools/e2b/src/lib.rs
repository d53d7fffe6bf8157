//! `nt-e2b`: sandboxes and templates (bundle `e2b`).
//!
//! Sandboxes:
//! - [`provider`]: the [`SandboxProvider`] contract
//! - [`local`]: the local provider (a directory and a process group per
//!   sandbox, rows in the database, orphans reaped at start)
//! - [`docker`]: the Docker provider (`E2B_LOCAL_DOCKER=1`: a container
//!   of the template's image per sandbox) over [`docker_api`] (Engine API)
//! - [`exec`]: one process with limits, output caps and group kill
//! - [`paths`]: paths that cannot leave a sandbox
//! - [`remote`]: the E2B provider over [`api`] (REST, `X-API-Key`) and
//!   [`envd`] (the in-sandbox daemon's process and file API)
//! - [`executor`]: the queue with a concurrency limit and run records
//!
//! Templates (the top-level `templates/` folder):
//! - [`templates`]: registry and validation (the field at fault named)
//! - [`dockerfile`]: the Dockerfile subset, parameters, E2B build steps
//! - [`deploy`]: the builder (build request) and the local deployer
//!
//! The bundle: [`bundle`] (type, settings in [`config`], provider choice,
//! the `allow_local_exec` gate), handlers in `tools/`, rows in [`store`],
//! the error type in [`error`] ([`E2bError`]).

pub mod api;
pub mod bundle;
pub mod config;
pub mod deploy;
pub mod docker;
pub mod docker_api;
pub mod dockerfile;
pub mod envd;
pub mod error;
pub mod exec;
pub mod executor;
pub mod instance;
pub mod local;
pub mod paths;
pub mod provider;
pub mod remote;
pub mod store;
pub mod templates;
mod tools;

pub use bundle::E2bBundle;
pub use config::E2bConfig;
pub use error::E2bError;
pub use provider::SandboxProvider;
