//! `nt-quant`: the quant maths behind the `strategies` and `risk` bundles,
//! with no MCP in it.
//!
//! - [`bars`]: the bar-series type and dates; [`data`]: where bars come from
//!   (seeded synthetic market, CSV files, Stooq).
//! - [`backtest`]: the event-driven backtester, metrics, walk-forward splits
//!   and the look-ahead audit; [`strategy`]: the strategies and their typed
//!   parameters.
//! - [`risk`]: VaR and CVaR, stress scenarios, adaptive sizing and the kill rule.
//! - [`stats`]: statistics and distribution functions; [`rng`]: the seeded
//!   generator.

// Range checks are written `!(lo <= x && x <= hi)` on purpose: that form
// also refuses NaN, which the "simplified" comparisons would let through.
#![allow(clippy::nonminimal_bool)]

pub mod backtest;
pub mod bars;
pub mod data;
pub mod error;
pub mod risk;
pub mod rng;
pub mod stats;
pub mod strategy;

pub use bars::{Bar, BarSeries};
pub use error::{QuantError, Result};
