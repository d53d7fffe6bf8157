//! Sports betting bundle (`sports`): odds maths, Kelly staking, The Odds
//! API and Betfair Exchange clients, an embedded simulated book and
//! exchange (the default), and betting risk and compliance in front of
//! every bet.
//!
//! - [`odds`]: conversions, overround and margin removal, EV, arbitrage, middles
//! - [`kelly`]: single, fractional and simultaneous Kelly, caps, minimum stakes
//! - [`feed`]: the feed trait every source answers through
//! - [`sim`]: the seeded simulated book and exchange
//! - [`oddsapi`]: The Odds API v4 client
//! - [`betfair`]: the Betfair Exchange API-NG client
//! - [`risk`]: limits, compliance flags and circuit breakers
//! - [`bets`]: the bet book in the database
//! - [`bundle`]: the bundle type and its settings; handlers in `tools/`

pub mod betfair;
pub mod bets;
pub mod bundle;
pub mod error;
pub mod feed;
pub mod kelly;
pub mod odds;
pub mod oddsapi;
pub mod risk;
pub mod sim;
mod tools;

pub use bundle::SportsBundle;
pub use error::SportsError;
