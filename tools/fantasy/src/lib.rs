//! Fantasy Collective bundle: leagues, scoring, player stats, projections,
//! optimal lineups, trades, waivers and collectives.

#[cfg(test)]
#[path = "../tests/support/pg.rs"]
mod pg_support;

/// Declares database tests that run twice: `NAME::sqlite` on in-memory
/// SQLite and `NAME::postgres` on a private schema of the test PostgreSQL
/// server (skipped with `SKIPPED:` when it is unreachable, a failure under
/// `CI=true`). `BODY` is an `async fn(Store)` in the calling module.
#[cfg(test)]
macro_rules! db_tests {
    ($($name:ident => $body:ident;)*) => {$(
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                super::$body(crate::data::tests::test_store().await).await;
            }

            #[tokio::test]
            async fn postgres() {
                let Some(pg) = crate::pg_support::schema(module_path!()).await else {
                    return;
                };
                let store = crate::data::tests::store_at(&pg.url).await;
                super::$body(store.clone()).await;
                store.pool().close().await;
                pg.drop_schema().await;
            }
        }
    )*};
}

pub mod bundle;
pub mod collective;
pub mod data;
pub mod db;
pub mod engine;
pub mod error;
pub mod league;
pub mod model;
pub mod optimizer;
pub mod presets;
pub mod projection;
pub mod provider;
pub mod rng;
pub mod sample;
pub mod scoring;
pub mod stats;
mod tools;
pub mod trade;

pub use bundle::{FantasyBundle, migrations};
pub use error::FantasyError;

#[cfg(test)]
mod flow_tests;
