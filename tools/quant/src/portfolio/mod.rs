//! Portfolio construction and trading: [`weights`] (mean-variance and risk
//! parity), [`rebalance`] (drift-threshold trades to target weights),
//! [`execution`] (TWAP / VWAP schedules) and [`analytics`] (A/B test of two
//! strategies, Brinson attribution).

pub mod analytics;
pub mod execution;
pub mod rebalance;
pub mod weights;
