//! Risk: [`var`] (historical, parametric, Monte Carlo VaR and CVaR),
//! [`stress`] (named historical scenarios and user shocks) and
//! [`adaptive`] (volatility targeting, drawdown de-risking, the kill rule).

pub mod adaptive;
pub mod stress;
pub mod var;
