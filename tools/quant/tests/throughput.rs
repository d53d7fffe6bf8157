//! Throughput figures for the closing note (ignored by default; run with
//! `cargo test -p nt-quant --test throughput -- --ignored --nocapture`, and
//! add `--release` for optimised numbers).

use std::time::Instant;

use nt_quant::backtest::{BacktestConfig, run};
use nt_quant::data::synthetic::{SyntheticParams, generate};
use nt_quant::optimize::{ParamRange, SearchMethod};
use nt_quant::strategy::{MomentumParams, StrategySpec};
use nt_quant::tuning::{Objective, tune};

#[test]
#[ignore = "timing, not correctness"]
fn bars_per_second_and_trials_per_second() {
    let series = generate(
        "SYN",
        &SyntheticParams {
            bars: 100_000,
            ..Default::default()
        },
    )
    .unwrap();
    let spec = StrategySpec::Momentum(MomentumParams::default());
    let cfg = BacktestConfig::default();
    let t = Instant::now();
    let r = run(&series, spec.build().unwrap().as_mut(), &cfg).unwrap();
    let bps = series.len() as f64 / t.elapsed().as_secs_f64();
    println!(
        "momentum backtest: {bps:.0} bars/s ({} fills)",
        r.fills.len()
    );

    let short = series.slice(0..1000);
    let space = vec![
        ParamRange {
            name: "lookback".into(),
            min: 2.0,
            max: 200.0,
            step: None,
            integer: true,
        },
        ParamRange {
            name: "threshold".into(),
            min: 0.0,
            max: 0.05,
            step: None,
            integer: false,
        },
    ];
    let t = Instant::now();
    let mut quiet = |_: usize, _: usize| Ok(());
    let out = tune(
        &short,
        &spec,
        &space,
        SearchMethod::Random { trials: 500 },
        Objective::Sharpe,
        &cfg,
        0.7,
        1,
        &mut quiet,
    )
    .unwrap();
    let tps = out.search.evaluations as f64 / t.elapsed().as_secs_f64();
    println!("random search: {tps:.0} trials/s (700 in-sample bars a trial)");
}
