//! `strategy_optimize`: grid, random or Nelder–Mead search over a
//! strategy's parameters with an out-of-sample check (or walk-forward),
//! reporting progress and stopping when cancelled; a long search becomes a
//! job under the variant's deadline.

use std::sync::Arc;
use std::time::{Duration, Instant};

use nt_mcp_core::{Route, ToolCtx, ToolError, ToolOutput, route};
use nt_quant::backtest::BacktestConfig;
use nt_quant::optimize::{ParamRange, SearchMethod};
use nt_quant::strategy::StrategySpec;
use nt_quant::tuning::{Objective, tune, walk_forward};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use crate::StrategiesBundle;
use crate::market::DataInput;
use crate::tools::backtest::{metrics_json, metrics_line};
use crate::tools::common::with_progress;

/// The routes of this family.
pub(crate) fn routes() -> Vec<Route<StrategiesBundle>> {
    vec![route(
        "strategy_optimize",
        "Search a strategy's numeric parameters (grid, seeded random, or Nelder–Mead) to maximise Sharpe (or Sortino, Calmar, total return) on the first part of the bars, then run the winner on the held-out rest and flag overfitting when it keeps less than half its edge; or walk-forward (re-optimise per training window, score the next test window). Long: reports progress, cancellable, becomes a job past its deadline.",
        optimize,
    )
    .cpu_heavy()
    .deadline(Duration::from_secs(60))]
}

/// Input of `strategy_optimize`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OptimizeInput {
    /// The strategy with its fixed parameters; the searched ones are overwritten.
    pub strategy: StrategySpec,
    /// The parameters to search: name, min, max, optional grid step, integer flag.
    pub space: Vec<ParamRange>,
    /// `{"method":"grid"}`, `{"method":"random","trials":200}` or `{"method":"nelder_mead","max_evals":200}`.
    #[serde(default = "default_method")]
    pub method: SearchMethod,
    /// What to maximise (default sharpe).
    #[serde(default)]
    pub objective: Objective,
    /// Which bars.
    #[serde(default)]
    pub data: DataInput,
    /// Backtest settings.
    #[serde(default)]
    pub config: BacktestConfig,
    /// Share of bars used for the search; the rest is the out-of-sample check (0.2-0.95, default 0.7).
    #[serde(default = "default_fraction")]
    pub in_sample_fraction: f64,
    /// Walk-forward instead: `{"train_bars": 250, "test_bars": 60}`.
    #[serde(default)]
    pub walk_forward: Option<WalkForward>,
    /// Seed of the random search.
    #[serde(default)]
    pub seed: u64,
}

/// Walk-forward windows.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WalkForward {
    /// Training bars per fold.
    pub train_bars: usize,
    /// Test bars per fold (the step between folds).
    pub test_bars: usize,
}

fn default_method() -> SearchMethod {
    SearchMethod::Random { trials: 100 }
}

fn default_fraction() -> f64 {
    0.7
}

async fn optimize(
    b: Arc<StrategiesBundle>,
    i: OptimizeInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    let series = b.market.bars(&i.data, "data").await?;
    let started = Instant::now();
    if let Some(wf) = i.walk_forward {
        let folds = with_progress(&ctx, "walk-forward folds", |cb| {
            walk_forward(
                &series,
                &i.strategy,
                &i.space,
                i.method,
                i.objective,
                &i.config,
                wf.train_bars,
                wf.test_bars,
                i.seed,
                cb,
            )
        })
        .await?;
        let test_mean = folds.iter().map(|f| f.test_score).sum::<f64>() / folds.len() as f64;
        let train_mean = folds.iter().map(|f| f.train_score).sum::<f64>() / folds.len() as f64;
        return Ok(ToolOutput::new(
            format!(
                "source: {}\nwalk-forward {} folds: mean training {:?} {:.3}, mean test {:.3} ({:.1} s)",
                series.source,
                folds.len(),
                i.objective,
                train_mean,
                test_mean,
                started.elapsed().as_secs_f64()
            ),
            json!({"source": series.source, "folds": folds, "mean_train_score": train_mean, "mean_test_score": test_mean, "names": i.space.iter().map(|p| p.name.clone()).collect::<Vec<_>>()}),
        ));
    }
    let out = with_progress(&ctx, "trials", |cb| {
        tune(
            &series,
            &i.strategy,
            &i.space,
            i.method,
            i.objective,
            &i.config,
            i.in_sample_fraction,
            i.seed,
            cb,
        )
    })
    .await?;
    let secs = started.elapsed().as_secs_f64();
    let params: Vec<String> = out
        .best_params
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let verdict = if out.overfit.overfit {
        "OVERFIT: the parameters lost most of their edge out of sample"
    } else if out.overfit.retained.is_none() {
        "no in-sample edge to test"
    } else {
        "held up out of sample"
    };
    Ok(ToolOutput::new(
        format!(
            "source: {}\nbest {} after {} trials ({:.0} trials/s): {:?} in sample {:.3}, out of sample {:.3} — {verdict}\nin sample: {}\nout of sample: {}",
            series.source,
            params.join(", "),
            out.search.evaluations,
            out.search.evaluations as f64 / secs.max(1e-9),
            i.objective,
            out.overfit.in_sample,
            out.overfit.out_of_sample,
            metrics_line(&out.in_sample),
            metrics_line(&out.out_of_sample)
        ),
        json!({
            "source": series.source, "best_params": out.best_params.iter().map(|(k, v)| (k.clone(), json!(v))).collect::<serde_json::Map<_, _>>(),
            "best_strategy": out.best_spec, "evaluations": out.search.evaluations, "top": out.search.top,
            "in_sample": metrics_json(&out.in_sample), "out_of_sample": metrics_json(&out.out_of_sample),
            "overfit": out.overfit, "split_bars": out.split, "seconds": secs,
        }),
    ))
}
