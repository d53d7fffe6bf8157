//! `nt-quant`: the quant maths behind the `strategies` and `risk` bundles,
//! with no MCP in it.
//!
//! - [`bars`]: the bar-series type and dates; [`data`]: where bars come from
//!   (seeded synthetic market, CSV and Parquet files, Stooq, Alpha Vantage).
//! - [`backtest`]: the event-driven backtester, metrics, walk-forward splits
//!   and the look-ahead audit; [`strategy`]: the strategies and their typed
//!   parameters.
//! - [`fixed_income`]: bond price, yield, duration, convexity; NSS curve fit;
//!   the 2s10s signal.
//! - [`monitor`]: performance tracking and the SVG equity/drawdown chart.
//! - [`optimize`]: grid, random and Nelder–Mead search, the overfit check;
//!   [`tuning`]: strategy optimisation with an out-of-sample hold-out.
//! - [`portfolio`]: mean-variance and risk-parity weights, drift rebalancing,
//!   TWAP/VWAP schedules, A/B test, Brinson attribution.
//! - [`risk`]: VaR and CVaR, stress scenarios, adaptive sizing and the kill rule.
//! - [`stats`]: statistics and distribution functions; [`rng`]: the seeded
//!   generator.

// Range checks are written `!(lo <= x && x <= hi)` on purpose: that form
// also refuses NaN, which the "simplified" comparisons would let through.
#![allow(clippy::nonminimal_bool, clippy::neg_cmp_op_on_partial_ord)]

pub mod backtest;
pub mod bars;
pub mod data;
pub mod error;
pub mod fixed_income;
pub mod monitor;
pub mod optimize;
pub mod portfolio;
pub mod risk;
pub mod rng;
pub mod stats;
pub mod strategy;
pub mod tuning;

pub use bars::{Bar, BarSeries};
pub use error::{QuantError, Result};
