//! Walk-forward splits, and the look-ahead audit: a strategy's decisions up
//! to bar `t` must not change when the bars after `t` change.

use serde::Serialize;

use crate::backtest::engine::{BacktestConfig, Strategy, run};
use crate::bars::{Bar, BarSeries};
use crate::error::{QuantError, Result};

/// One walk-forward fold: train on `train`, test on `test` (bar ranges).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Split {
    /// Training bars.
    pub train: std::ops::Range<usize>,
    /// Testing bars (right after the training bars).
    pub test: std::ops::Range<usize>,
}

/// Folds over `n` bars: `train` bars then `test` bars, moved forward by
/// `test` bars each fold; `anchored` keeps every training window starting
/// at bar 0 (expanding) instead of rolling.
pub fn walk_forward_splits(
    n: usize,
    train: usize,
    test: usize,
    anchored: bool,
) -> Result<Vec<Split>> {
    if train < 2 || test < 1 {
        return Err(QuantError::invalid(
            "train_bars",
            "need train_bars >= 2 and test_bars >= 1",
        ));
    }
    if train + test > n {
        return Err(QuantError::NotEnoughData(format!(
            "{n} bars cannot hold one fold of {train} + {test}"
        )));
    }
    let mut out = vec![];
    let mut start = 0;
    while start + train + test <= n {
        let t0 = start + train;
        out.push(Split {
            train: if anchored { 0..t0 } else { start..t0 },
            test: t0..t0 + test,
        });
        start += test;
    }
    Ok(out)
}

/// The outcome of a look-ahead audit.
#[derive(Debug, Clone, Serialize)]
pub struct LookaheadReport {
    /// Cut points checked.
    pub cuts: Vec<usize>,
    /// The first bar whose equity changed when only later bars changed.
    pub first_violation: Option<usize>,
}

impl LookaheadReport {
    /// Whether the strategy never reacted to bars it should not have seen.
    pub fn passed(&self) -> bool {
        self.first_violation.is_none()
    }
}

/// The series with every bar after `cut` replaced by a mirrored path: each
/// later log return negated and volume doubled, so anything reading the
/// future sees a different one.
pub fn perturb_after(series: &BarSeries, cut: usize) -> BarSeries {
    let mut out = series.clone();
    let anchor = series.bars[cut].close;
    for i in cut + 1..series.bars.len() {
        let b = series.bars[i];
        let mirror = |p: f64| anchor * anchor / p;
        out.bars[i] = Bar {
            day: b.day,
            open: mirror(b.open),
            high: mirror(b.low),
            low: mirror(b.high),
            close: mirror(b.close),
            volume: b.volume * 2.0,
        };
    }
    out
}

/// Runs a fresh strategy from `make` on the series and on copies whose bars
/// after each cut are perturbed; the equity and the orders sent up to each
/// cut must be equal (an order sent at a bar's close may only depend on
/// bars up to that one).
/// `make` receives the series the strategy will run on, as any strategy
/// constructor could.
pub fn audit_lookahead(
    series: &BarSeries,
    cfg: &BacktestConfig,
    make: &dyn Fn(&BarSeries) -> Result<Box<dyn Strategy>>,
    cuts: usize,
) -> Result<LookaheadReport> {
    let n = series.len();
    if n < 4 {
        return Err(QuantError::NotEnoughData(
            "the look-ahead audit needs at least 4 bars".into(),
        ));
    }
    let base = run(series, make(series)?.as_mut(), cfg)?;
    let points: Vec<usize> = (1..=cuts.max(1))
        .map(|k| (n - 2) * k / (cuts.max(1) + 1))
        .filter(|c| *c + 1 < n)
        .collect();
    let mut first = None;
    for &cut in &points {
        let alt = perturb_after(series, cut);
        let other = run(&alt, make(&alt)?.as_mut(), cfg)?;
        let equity_diff = (0..=cut).find(|&i| {
            (base.equity[i] - other.equity[i]).abs() > 1e-9 * base.equity[i].abs().max(1.0)
        });
        let upto = |r: &crate::backtest::BacktestResult| {
            r.orders
                .iter()
                .filter(|o| o.bar <= cut)
                .copied()
                .collect::<Vec<_>>()
        };
        let (a, b) = (upto(&base), upto(&other));
        let order_diff = a
            .iter()
            .zip(&b)
            .find(|(x, y)| x != y)
            .map(|(x, y)| x.bar.min(y.bar))
            .or_else(|| {
                (a.len() != b.len())
                    .then(|| a.get(b.len()).or(b.get(a.len())).map_or(cut, |o| o.bar))
            });
        for i in [equity_diff, order_diff].into_iter().flatten() {
            first = Some(first.map_or(i, |f: usize| f.min(i)));
        }
    }
    Ok(LookaheadReport {
        cuts: points,
        first_violation: first,
    })
}
