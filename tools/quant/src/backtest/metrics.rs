//! Performance figures of an equity curve.
//!
//! With equity `E_0` (the starting capital) then `E_1..E_n` at each bar's
//! close, returns `r_t = E_t / E_{t-1} - 1`, `P` bars a year and `rf` the
//! annual risk-free rate:
//!
//! - total return `E_n / E_0 - 1`; annualised (CAGR) `(E_n / E_0)^(P/n) - 1`;
//! - volatility `s(r) √P` with `s` the sample standard deviation (n - 1);
//! - Sharpe `mean(r - rf/P) / s(r) √P` (Sharpe 1994, ex-post);
//! - Sortino `mean(r - rf/P) / DD √P`, downside deviation
//!   `DD = √(Σ min(r - rf/P, 0)² / n)` (Sortino & Price 1994);
//! - max drawdown `max_t (1 - E_t / max_{s≤t} E_s)`; its duration the
//!   longest run of bars spent below a previous peak (peak to recovery, or
//!   to the end); Calmar = annualised return / max drawdown;
//! - win rate: winning round trips over closed round trips; turnover:
//!   traded notional over mean equity (and per year); exposure: the share of
//!   bars holding a position, and the mean |position| / equity.

use serde::{Deserialize, Serialize};

use crate::backtest::engine::{BacktestConfig, Trade};
use crate::stats::{mean, std_dev};

/// Performance figures.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Bars in the curve.
    pub bars: usize,
    /// Equity at the last bar.
    pub final_equity: f64,
    /// Total return.
    pub total_return: f64,
    /// Compound annual growth rate.
    pub annualised_return: f64,
    /// Annualised volatility of bar returns.
    pub volatility: f64,
    /// Annualised Sharpe ratio.
    pub sharpe: f64,
    /// Annualised Sortino ratio.
    pub sortino: f64,
    /// Annualised return over max drawdown.
    pub calmar: f64,
    /// Largest peak-to-trough loss (0.2 = 20%).
    pub max_drawdown: f64,
    /// Longest stretch below a previous peak, in bars.
    pub max_drawdown_bars: usize,
    /// Closed round trips.
    pub trades: usize,
    /// Winning round trips over all round trips (0 when none).
    pub win_rate: f64,
    /// Traded notional over mean equity.
    pub turnover: f64,
    /// Turnover per year.
    pub annual_turnover: f64,
    /// Share of bars with a position.
    pub time_in_market: f64,
    /// Mean |position value| / equity.
    pub avg_exposure: f64,
}

/// Max drawdown and its longest duration in bars, of a curve.
pub fn drawdown(curve: &[f64]) -> (f64, usize) {
    let (mut peak, mut max_dd, mut run, mut longest) = (f64::MIN, 0.0f64, 0usize, 0usize);
    for &e in curve {
        if e >= peak {
            peak = e;
            run = 0;
        } else {
            run += 1;
            longest = longest.max(run);
            if peak > 0.0 {
                max_dd = max_dd.max(1.0 - e / peak);
            }
        }
    }
    (max_dd, longest)
}

/// The drawdown at each point of a curve (0 at a new peak).
pub fn drawdown_series(curve: &[f64]) -> Vec<f64> {
    let mut peak = f64::MIN;
    curve
        .iter()
        .map(|&e| {
            peak = peak.max(e);
            if peak > 0.0 { 1.0 - e / peak } else { 0.0 }
        })
        .collect()
}

/// Sharpe, Sortino and volatility of bar returns (annualised).
pub fn ratios(returns: &[f64], periods_per_year: f64, risk_free_rate: f64) -> (f64, f64, f64) {
    if returns.len() < 2 {
        return (0.0, 0.0, 0.0);
    }
    let rf = risk_free_rate / periods_per_year;
    let excess: Vec<f64> = returns.iter().map(|r| r - rf).collect();
    let m = mean(&excess);
    let sd = std_dev(returns);
    let root = periods_per_year.sqrt();
    let sharpe = if sd > 0.0 { m / sd * root } else { 0.0 };
    let dd = (excess.iter().map(|x| x.min(0.0).powi(2)).sum::<f64>() / excess.len() as f64).sqrt();
    let sortino = if dd > 0.0 { m / dd * root } else { 0.0 };
    (sharpe, sortino, sd * root)
}

/// The figures of an equity curve (see the module doc for the formulas).
pub fn compute_metrics(
    cfg: &BacktestConfig,
    equity: &[f64],
    exposure: &[f64],
    traded: f64,
    trades: &[Trade],
) -> Metrics {
    let n = equity.len();
    if n == 0 {
        return Metrics::default();
    }
    let p = cfg.periods_per_year;
    let mut curve = Vec::with_capacity(n + 1);
    curve.push(cfg.initial_capital);
    curve.extend_from_slice(equity);
    let returns = crate::bars::simple_returns(&curve);
    let last = equity[n - 1];
    let growth = last / cfg.initial_capital;
    let total_return = growth - 1.0;
    let annualised_return = if growth > 0.0 {
        growth.powf(p / n as f64) - 1.0
    } else {
        -1.0
    };
    let (sharpe, sortino, volatility) = ratios(&returns, p, cfg.risk_free_rate);
    let (max_drawdown, max_drawdown_bars) = drawdown(&curve);
    let calmar = if max_drawdown > 0.0 {
        annualised_return / max_drawdown
    } else {
        0.0
    };
    let wins = trades.iter().filter(|t| t.pnl > 0.0).count();
    let mean_equity = mean(equity);
    let turnover = if mean_equity > 0.0 {
        traded / mean_equity
    } else {
        0.0
    };
    Metrics {
        bars: n,
        final_equity: last,
        total_return,
        annualised_return,
        volatility,
        sharpe,
        sortino,
        calmar,
        max_drawdown,
        max_drawdown_bars,
        trades: trades.len(),
        win_rate: if trades.is_empty() {
            0.0
        } else {
            wins as f64 / trades.len() as f64
        },
        turnover,
        annual_turnover: turnover * p / n as f64,
        time_in_market: exposure.iter().filter(|x| x.abs() > 1e-9).count() as f64 / n as f64,
        avg_exposure: mean(&exposure.iter().map(|x| x.abs()).collect::<Vec<_>>()),
    }
}
