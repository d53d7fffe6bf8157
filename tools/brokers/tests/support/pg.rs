//! PostgreSQL for the brokers integration tests: a private schema per test,
//! from `nt_mcp_core::testing` (SKIPPED when the server is unreachable, a
//! failure under `CI=true`).

#![allow(dead_code)]

pub use nt_mcp_core::testing::PgSchema;

/// A fresh `nt_brokers_...` schema on the test server, or `None` after
/// printing `SKIPPED` when it cannot be reached.
pub async fn schema(test: &str) -> Option<PgSchema> {
    nt_mcp_core::testing::pg_schema("nt_brokers_", test).await
}
