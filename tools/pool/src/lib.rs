//! Pooled money, shared by the fantasy collectives and the betting
//! syndicates (a domain crate: no MCP, no bundle in it):
//!
//! - [`split`]: a payout split by stake to the cent with the
//!   largest-remainder method, the parts adding up exactly;
//! - [`vote`]: stake-weighted quorum votes, decided as soon as the outcome
//!   cannot change.

pub mod split;
pub mod vote;

pub use split::split_by_stake;
pub use vote::{Outcome, Rule, Tally, decide};
