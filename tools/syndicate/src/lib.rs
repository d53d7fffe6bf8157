//! Syndicate bundle (`syndicate`): pooled betting capital.
//!
//! - [`ledger`]: fund accounting — units at NAV, contributions, withdrawals,
//!   lock-ups, bets at risk, distributions (proportional, hybrid, tiered)
//! - [`votes`]: unit-weighted quorum votes on bets over a threshold
//! - [`roles`]: lead, analyst, member, observer and what each may do
//! - [`store`]: syndicates in the database, changed in one audited transaction
//! - [`bundle`]: the bundle type; handlers in `tools/`
//!
//! Shared with the fantasy collectives through the domain crate `nt-pool`:
//! the exact largest-remainder split of a payout to the cent
//! ([`ledger::allocate`]) and the stake-weighted quorum rule
//! ([`votes::decide`]); the fund accounting (units at NAV, lock-ups,
//! performance fees) is the syndicate's own.

pub mod bundle;
pub mod error;
pub mod ledger;
pub mod roles;
pub mod store;
mod tools;
pub mod votes;

pub use bundle::SyndicateBundle;
pub use error::SyndicateError;
