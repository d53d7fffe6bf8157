//! `nt-mcp-core`: the runtime every neural-trader MCP server variant runs on.
//!
//! A variant is a [`manifest::Manifest`] over a set of [`bundle::ToolBundle`]s.
//! [`registry::Runtime`] resolves the manifest against the bundles once at
//! start; [`server::McpServer`] serves it over stdio or streamable HTTP
//! ([`transport`]), with deadlines and background jobs ([`jobs`]), JWT auth,
//! rate limits and the audit log ([`middleware`]), and state in SQLite or
//! PostgreSQL ([`store`]).

pub mod bundle;
pub mod clock;
pub mod dates;
pub mod diagnostics;
pub mod error;
pub mod jobs;
pub mod manifest;
pub mod middleware;
pub mod progress;
pub mod registry;
pub mod route;
pub mod schema;
pub mod server;
pub mod settings;
pub mod sql;
pub mod store;
pub mod system;
#[cfg(feature = "testing")]
pub mod testing;
pub mod transport;

pub use bundle::{
    BundleSettings, Caller, NoArgs, Scope, ToolBundle, ToolCtx, ToolImage, ToolOutput, ToolSpec,
    parse_args,
};
pub use error::{CoreError, ToolError, ToolErrorKind};
pub use registry::{NewBundle, Runtime};
pub use route::{Route, ToolRoute, ToolRouter, route};
pub use settings::SettingError;
pub use store::{Migration, Store};
