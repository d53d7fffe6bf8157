//! `nt-valet`: the Bank of Canada Valet API, a keyless source of Canadian
//! rates and the Bank's daily exchange rates. A domain crate, so that the
//! news bundle (`rates_series`) and the brokers bundle (its tax FX table)
//! share one client without one bundle importing the other.
//!
//! * [`client`]: [`Valet`], series and group observations over
//!   `nt-venue-http` (pacing, retries, breaker);
//! * [`fx`]: the daily CAD rates (`FX{CCY}CAD`) as `(day, currency, rate)`;
//! * [`error`]: [`ValetError`], what went wrong.

pub mod client;
pub mod error;
pub mod fx;

pub use client::{DEFAULT_BASE, Observation, Series, Valet};
pub use error::ValetError;
pub use fx::{CadRate, FX_GROUP, cad_rates, fx_series};
