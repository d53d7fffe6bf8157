//! The route table, one family per file.

mod bets;
mod kelly;
mod odds;

use nt_mcp_core::Route;

use crate::SportsBundle;

/// Every route of the bundle, in listing order.
pub(crate) fn routes() -> Vec<Route<SportsBundle>> {
    let mut r = odds::routes();
    r.extend(kelly::routes());
    r.extend(bets::routes());
    r
}

/// Parses a decimal price written as text or a number.
pub(crate) fn f64_of(d: rust_decimal::Decimal) -> f64 {
    rust_decimal::prelude::ToPrimitive::to_f64(&d).unwrap_or(f64::NAN)
}
