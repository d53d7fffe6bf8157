//! Strategy optimisation: search a strategy's numeric parameters on the
//! first part of a series (in sample), then run the winner on the rest (out
//! of sample) and flag overfitting; and walk-forward optimisation, which
//! re-optimises on each training window and stitches the test windows.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::backtest::walk::walk_forward_splits;
use crate::backtest::{BacktestConfig, Metrics, run};
use crate::bars::BarSeries;
use crate::error::{QuantError, Result};
use crate::optimize::{
    OverfitReport, ParamRange, SearchMethod, SearchOutcome, overfit_check, search,
};
use crate::strategy::StrategySpec;

/// What the search maximises.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Objective {
    /// Annualised Sharpe ratio.
    #[default]
    Sharpe,
    /// Annualised Sortino ratio.
    Sortino,
    /// Calmar ratio.
    Calmar,
    /// Total return.
    TotalReturn,
}

impl Objective {
    /// The objective's value in a backtest's figures.
    pub fn of(self, m: &Metrics) -> f64 {
        match self {
            Self::Sharpe => m.sharpe,
            Self::Sortino => m.sortino,
            Self::Calmar => m.calmar,
            Self::TotalReturn => m.total_return,
        }
    }
}

/// A tuning run's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct TuneOutcome {
    /// The search on the in-sample bars.
    pub search: SearchOutcome,
    /// The best parameters, by name.
    pub best_params: Vec<(String, f64)>,
    /// The spec with the best parameters.
    pub best_spec: StrategySpec,
    /// Figures of the best spec in sample.
    pub in_sample: Metrics,
    /// Figures of the best spec out of sample.
    pub out_of_sample: Metrics,
    /// The overfit verdict.
    pub overfit: OverfitReport,
    /// Bars in sample / out of sample.
    pub split: (usize, usize),
}

/// The spec with `values` set for the parameters of `space`.
pub fn apply_params(
    spec: &StrategySpec,
    space: &[ParamRange],
    values: &[f64],
) -> Result<StrategySpec> {
    let mut s = spec.clone();
    for (p, v) in space.iter().zip(values) {
        s = s.with_param(&p.name, *v)?;
    }
    Ok(s)
}

/// Searches `space` for `spec` on the first `in_sample_fraction` of the bars
/// and checks the winner on the rest. Parameter sets the strategy refuses
/// (slow below fast, ...) score minus infinity.
#[allow(clippy::too_many_arguments)]
pub fn tune(
    series: &BarSeries,
    spec: &StrategySpec,
    space: &[ParamRange],
    method: SearchMethod,
    objective: Objective,
    cfg: &BacktestConfig,
    in_sample_fraction: f64,
    seed: u64,
    progress: &mut dyn FnMut(usize, usize) -> Result<()>,
) -> Result<TuneOutcome> {
    if !(0.2..=0.95).contains(&in_sample_fraction) {
        return Err(QuantError::invalid(
            "in_sample_fraction",
            "must be 0.2-0.95",
        ));
    }
    for (i, p) in space.iter().enumerate() {
        spec.with_param(&p.name, p.min).map_err(|e| match e {
            QuantError::Invalid { rule, .. } => {
                QuantError::invalid(format!("space[{i}].name"), rule)
            }
            other => other,
        })?;
    }
    let cut = (series.len() as f64 * in_sample_fraction).round() as usize;
    if cut < 30 || series.len() - cut < 20 {
        return Err(QuantError::NotEnoughData(format!(
            "{} bars: need at least 30 in sample and 20 out of sample",
            series.len()
        )));
    }
    let (is, oos) = (series.slice(0..cut), series.slice(cut..series.len()));
    let mut obj = |x: &[f64]| -> Result<f64> {
        let Ok(s) = apply_params(spec, space, x) else {
            return Ok(f64::NEG_INFINITY);
        };
        let Ok(mut strat) = s.build() else {
            return Ok(f64::NEG_INFINITY);
        };
        Ok(objective.of(&run(&is, strat.as_mut(), cfg)?.metrics))
    };
    let found = search(space, method, seed, &mut obj, progress)?;
    if !found.best.score.is_finite() {
        return Err(QuantError::invalid(
            "space",
            "no parameter set in the space was valid for this strategy",
        ));
    }
    let best_spec = apply_params(spec, space, &found.best.params)?;
    let in_sample = run(&is, best_spec.build()?.as_mut(), cfg)?.metrics;
    let out_of_sample = run(&oos, best_spec.build()?.as_mut(), cfg)?.metrics;
    let overfit = overfit_check(objective.of(&in_sample), objective.of(&out_of_sample), 0.5);
    Ok(TuneOutcome {
        best_params: space
            .iter()
            .map(|p| p.name.clone())
            .zip(found.best.params.iter().copied())
            .collect(),
        search: found,
        best_spec,
        in_sample,
        out_of_sample,
        overfit,
        split: (cut, series.len() - cut),
    })
}

/// One walk-forward fold's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct FoldOutcome {
    /// Training bars.
    pub train: (usize, usize),
    /// Test bars.
    pub test: (usize, usize),
    /// Parameters chosen on the training bars.
    pub params: Vec<f64>,
    /// Objective in training.
    pub train_score: f64,
    /// Objective on the test bars.
    pub test_score: f64,
}

/// Walk-forward optimisation: for each fold, search on the training bars
/// and score the winner on the test bars that follow.
#[allow(clippy::too_many_arguments)]
pub fn walk_forward(
    series: &BarSeries,
    spec: &StrategySpec,
    space: &[ParamRange],
    method: SearchMethod,
    objective: Objective,
    cfg: &BacktestConfig,
    train_bars: usize,
    test_bars: usize,
    seed: u64,
    progress: &mut dyn FnMut(usize, usize) -> Result<()>,
) -> Result<Vec<FoldOutcome>> {
    let splits = walk_forward_splits(series.len(), train_bars, test_bars, false)?;
    let mut out = vec![];
    let folds = splits.len();
    for (k, sp) in splits.into_iter().enumerate() {
        let train = series.slice(sp.train.clone());
        let mut obj = |x: &[f64]| -> Result<f64> {
            let Ok(s) = apply_params(spec, space, x) else {
                return Ok(f64::NEG_INFINITY);
            };
            let Ok(mut strat) = s.build() else {
                return Ok(f64::NEG_INFINITY);
            };
            Ok(objective.of(&run(&train, strat.as_mut(), cfg)?.metrics))
        };
        let mut inner = |_: usize, _: usize| progress(k, folds);
        let found = search(space, method, seed, &mut obj, &mut inner)?;
        let best = apply_params(spec, space, &found.best.params)?;
        let test = run(&series.slice(sp.test.clone()), best.build()?.as_mut(), cfg)?;
        out.push(FoldOutcome {
            train: (sp.train.start, sp.train.end),
            test: (sp.test.start, sp.test.end),
            params: found.best.params,
            train_score: found.best.score,
            test_score: objective.of(&test.metrics),
        });
    }
    progress(folds, folds)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::synthetic::{SyntheticParams, generate};
    use crate::strategy::MomentumParams;

    #[test]
    fn tuning_momentum_on_pure_noise_is_flagged_as_overfit() {
        // A driftless random walk without jumps or regimes: no parameter has
        // a real edge, so the best of 300 in-sample trials is luck.
        let noise = generate(
            "NOISE",
            &SyntheticParams {
                bars: 1500,
                drift: 0.0,
                p_calm_to_stressed: 0.0,
                jumps_per_year: 0.0,
                seed: 4,
                ..Default::default()
            },
        )
        .unwrap();
        let spec = StrategySpec::Momentum(MomentumParams {
            long_only: false,
            ..Default::default()
        });
        let space = vec![
            ParamRange {
                name: "lookback".into(),
                min: 2.0,
                max: 120.0,
                step: None,
                integer: true,
            },
            ParamRange {
                name: "threshold".into(),
                min: 0.0,
                max: 0.1,
                step: None,
                integer: false,
            },
        ];
        let mut quiet = |_: usize, _: usize| Ok(());
        let cfg = BacktestConfig::default();
        let out = tune(
            &noise,
            &spec,
            &space,
            SearchMethod::Random { trials: 300 },
            Objective::Sharpe,
            &cfg,
            0.5,
            1,
            &mut quiet,
        )
        .unwrap();
        assert!(out.in_sample.sharpe > 0.5, "{:?}", out.in_sample);
        assert!(out.overfit.overfit, "{:?}", out.overfit);
        let bad = tune(
            &noise,
            &spec,
            &[ParamRange {
                name: "nope".into(),
                min: 0.0,
                max: 1.0,
                step: None,
                integer: false,
            }],
            SearchMethod::Grid,
            Objective::Sharpe,
            &cfg,
            0.5,
            1,
            &mut quiet,
        );
        assert!(bad.unwrap_err().to_string().contains("space[0].name"));
    }

    #[test]
    fn walk_forward_scores_every_fold() {
        let s = generate(
            "S",
            &SyntheticParams {
                bars: 600,
                ..Default::default()
            },
        )
        .unwrap();
        let spec = StrategySpec::Momentum(MomentumParams::default());
        let space = vec![ParamRange {
            name: "lookback".into(),
            min: 5.0,
            max: 60.0,
            step: Some(5.0),
            integer: true,
        }];
        let mut quiet = |_: usize, _: usize| Ok(());
        let folds = walk_forward(
            &s,
            &spec,
            &space,
            SearchMethod::Grid,
            Objective::Sharpe,
            &BacktestConfig::default(),
            250,
            100,
            0,
            &mut quiet,
        )
        .unwrap();
        assert_eq!(folds.len(), 3);
        assert_eq!(folds[2].test, (450, 550));
        assert!(
            folds
                .iter()
                .all(|f| f.train_score.is_finite() && f.test_score.is_finite())
        );
    }
}
