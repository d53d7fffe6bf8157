//! The backtester: the event-driven [`engine`], the [`metrics`] of an equity
//! curve, and [`walk`]-forward splits with the look-ahead audit.

pub mod engine;
pub mod metrics;
pub mod walk;

pub use engine::{
    BacktestConfig, BacktestResult, Decision, OrderKind, PositionView, Strategy, run,
};
pub use metrics::Metrics;

#[cfg(test)]
mod tests;
