//! The bundles' tools, one module per family; each lists its routes.

pub(crate) mod backtest;
pub(crate) mod common;
pub(crate) mod monitor;
pub(crate) mod optimize;
pub(crate) mod portfolio;
pub(crate) mod rates;
pub(crate) mod risk;

use nt_mcp_core::Route;

use crate::StrategiesBundle;

/// Every route of the `strategies` bundle, family by family.
pub(crate) fn strategies_routes() -> Vec<Route<StrategiesBundle>> {
    let mut all = backtest::routes();
    all.extend(optimize::routes());
    all.extend(portfolio::routes());
    all.extend(monitor::routes());
    all
}
