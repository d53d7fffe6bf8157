//! Syndicate bundle (`syndicate`): pooled betting capital.
//!
//! - [`ledger`]: fund accounting — units at NAV, contributions, withdrawals,
//!   lock-ups, bets at risk, distributions (proportional, hybrid, tiered)
//! - [`votes`]: unit-weighted quorum votes on bets over a threshold
//! - [`roles`]: lead, analyst, member, observer and what each may do
//! - [`store`]: syndicates in the database, changed in one audited transaction
//! - [`bundle`]: the bundle type; handlers in `tools/`
//!
//! Overlap with the fantasy collectives (`nt-fantasy`'s `collective`): both
//! keep a money ledger per pool and decide motions by stake-weighted
//! quorum. The rules here live in [`ledger`] and [`votes`], free of any
//! bundle, so a shared domain crate can take them over without change;
//! `nt-fantasy` was not changed in this step.

pub mod bundle;
pub mod error;
pub mod ledger;
pub mod roles;
pub mod store;
mod tools;
pub mod votes;

pub use bundle::SyndicateBundle;
pub use error::SyndicateError;
