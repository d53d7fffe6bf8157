//! Pairs trading on two symbols: the hedge ratio β is the least-squares
//! slope of ln A on ln B over the trailing window, the spread
//! `ln A - β ln B` is z-scored over the same window, and the book goes
//! short A / long β·B when the spread is rich (z > entry), the reverse when
//! cheap, and flat when it has come back (|z| < exit). Orders are decided at
//! the close and filled at the next open with the backtest's costs.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::backtest::engine::{BacktestConfig, Trade};
use crate::backtest::metrics::{Metrics, compute_metrics};
use crate::bars::BarSeries;
use crate::error::{QuantError, Result};
use crate::stats::{covariance, mean, std_dev};

/// Pairs parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct PairsParams {
    /// Trailing bars for β and the spread's mean and deviation (10-1000).
    pub lookback: usize,
    /// Enter beyond this z-score.
    pub entry_z: f64,
    /// Exit within this z-score.
    pub exit_z: f64,
    /// Gross exposure of both legs together, as a fraction of equity (0-5).
    pub gross: f64,
}

impl Default for PairsParams {
    fn default() -> Self {
        Self {
            lookback: 60,
            entry_z: 2.0,
            exit_z: 0.5,
            gross: 1.0,
        }
    }
}

/// A pairs backtest's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct PairsResult {
    /// Equity at each common bar's close.
    pub equity: Vec<f64>,
    /// Day numbers of the common bars.
    pub days: Vec<i64>,
    /// Hedge ratio at the last bar.
    pub last_beta: f64,
    /// Spread z-score at the last bar.
    pub last_z: f64,
    /// Figures (trades are spread round trips).
    pub metrics: Metrics,
}

/// Runs the pairs strategy on the days both series share.
pub fn run_pairs(
    a: &BarSeries,
    b: &BarSeries,
    p: &PairsParams,
    cfg: &BacktestConfig,
) -> Result<PairsResult> {
    cfg.check()?;
    if !(10..=1000).contains(&p.lookback)
        || !(p.entry_z > p.exit_z && p.exit_z >= 0.0)
        || !(p.gross > 0.0 && p.gross <= 5.0)
    {
        return Err(QuantError::invalid(
            "params",
            "need lookback 10-1000, entry_z > exit_z >= 0, gross in (0, 5]",
        ));
    }
    let mut rows = vec![];
    let (mut i, mut j) = (0, 0);
    while i < a.bars.len() && j < b.bars.len() {
        let (x, y) = (a.bars[i], b.bars[j]);
        if x.day == y.day {
            rows.push((x, y));
            i += 1;
            j += 1;
        } else if x.day < y.day {
            i += 1;
        } else {
            j += 1;
        }
    }
    if rows.len() < p.lookback + 2 {
        return Err(QuantError::NotEnoughData(format!(
            "{} common bars; the lookback needs {}",
            rows.len(),
            p.lookback + 2
        )));
    }
    let slip = cfg.slippage_bps / 1e4;
    let (mut cash, mut qa, mut qb) = (cfg.initial_capital, 0.0, 0.0);
    let mut pending: Option<(f64, f64)> = None;
    let (mut state, mut beta, mut z) = (0i8, 0.0, 0.0);
    let (mut equity, mut exposure, mut trades) = (vec![], vec![], vec![]);
    let mut traded = 0.0;
    let mut open: Option<(usize, f64, f64)> = None;
    for (k, (x, y)) in rows.iter().enumerate() {
        if let Some((ta, tb)) = pending.take() {
            for (q, want, px) in [(&mut qa, ta, x.open), (&mut qb, tb, y.open)] {
                let d = want - *q;
                if d.abs() > 1e-12 {
                    let price = if d > 0.0 {
                        px * (1.0 + slip)
                    } else {
                        px * (1.0 - slip)
                    };
                    cash -= d * price + cfg.commission.on(d, price);
                    traded += (d * price).abs();
                    *q = want;
                }
            }
        }
        let eq = cash + qa * x.close + qb * y.close;
        equity.push(eq);
        exposure.push((qa * x.close).abs() / eq.max(1e-9));
        if k + 1 < p.lookback {
            continue;
        }
        let w = &rows[k + 1 - p.lookback..=k];
        let la: Vec<f64> = w.iter().map(|(x, _)| x.close.ln()).collect();
        let lb: Vec<f64> = w.iter().map(|(_, y)| y.close.ln()).collect();
        let vb = covariance(&lb, &lb);
        beta = if vb > 0.0 {
            covariance(&la, &lb) / vb
        } else {
            0.0
        };
        let spread: Vec<f64> = la.iter().zip(&lb).map(|(a, b)| a - beta * b).collect();
        let sd = std_dev(&spread);
        z = if sd > 0.0 {
            (spread[spread.len() - 1] - mean(&spread)) / sd
        } else {
            0.0
        };
        let next = match state {
            0 if z > p.entry_z => -1,
            0 if z < -p.entry_z => 1,
            s if s != 0 && z.abs() < p.exit_z => 0,
            s => s,
        };
        if next != state {
            if let Some((entry, dir, start_eq)) = open.take() {
                trades.push(Trade {
                    entry_bar: entry,
                    exit_bar: k,
                    direction: dir,
                    pnl: eq - start_eq,
                });
            }
            if next != 0 {
                open = Some((k, f64::from(next), eq));
            }
            state = next;
            let notional_a = f64::from(state) * p.gross * eq / (1.0 + beta.abs());
            pending = Some((notional_a / x.close, -beta * notional_a / y.close));
        }
    }
    if let Some((entry, dir, start_eq)) = open {
        trades.push(Trade {
            entry_bar: entry,
            exit_bar: rows.len() - 1,
            direction: dir,
            pnl: equity[equity.len() - 1] - start_eq,
        });
    }
    let metrics = compute_metrics(cfg, &equity, &exposure, traded, &trades);
    Ok(PairsResult {
        equity,
        days: rows.iter().map(|(x, _)| x.day).collect(),
        last_beta: beta,
        last_z: z,
        metrics,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bars::Bar;
    use crate::rng::Rng;

    #[test]
    fn a_cointegrated_pair_is_traded_profitably_and_the_hedge_ratio_is_found() {
        // B is a random walk; A = B^1.5 * exp(OU noise): β = 1.5, spread mean-reverting.
        let mut rng = Rng::new(11);
        let (mut lb, mut u) = (4.0f64, 0.0f64);
        let (mut xa, mut xb) = (vec![], vec![]);
        for d in 0..1500 {
            lb += 0.01 * rng.normal();
            u = 0.8 * u + 0.01 * rng.normal();
            let la = 1.5 * lb + u;
            let bar = |l: f64| Bar {
                day: d,
                open: l.exp(),
                high: l.exp(),
                low: l.exp(),
                close: l.exp(),
                volume: 1.0,
            };
            xa.push(bar(la));
            xb.push(bar(lb));
        }
        let a = BarSeries::new("A", "t", xa).unwrap();
        let b = BarSeries::new("B", "t", xb).unwrap();
        let cfg = BacktestConfig {
            slippage_bps: 0.0,
            ..Default::default()
        };
        let r = run_pairs(&a, &b, &PairsParams::default(), &cfg).unwrap();
        assert!((r.last_beta - 1.5).abs() < 0.3, "beta {}", r.last_beta);
        assert!(r.metrics.trades > 10);
        assert!(
            r.metrics.total_return > 0.0 && r.metrics.sharpe > 1.0,
            "{:?}",
            r.metrics
        );
    }
}
