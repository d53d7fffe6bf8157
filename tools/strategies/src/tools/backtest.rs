//! `strategy_list`, `market_bars`, `backtest_run`, `pairs_backtest` and
//! `strategy_compare`.

use std::sync::Arc;

use nt_mcp_core::{NoArgs, Route, ToolCtx, ToolError, ToolOutput, route};
use nt_quant::backtest::walk::audit_lookahead;
use nt_quant::backtest::{BacktestConfig, BacktestResult, Strategy, run};
use nt_quant::bars::{BarSeries, format_day};
use nt_quant::portfolio::analytics::ab_test;
use nt_quant::strategy::StrategySpec;
use nt_quant::strategy::pairs::{PairsParams, run_pairs};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use crate::StrategiesBundle;
use crate::error::{tool_error, under};
use crate::market::DataInput;
use crate::tools::common::{curve, round};

/// The routes of this family.
pub(crate) fn routes() -> Vec<Route<StrategiesBundle>> {
    vec![
        route("strategy_list", "The strategies backtest_run can run, with each one's parameters, defaults and what they mean.", list),
        route("market_bars", "Fetch daily bars (synthetic by default, or CSV / Parquet files, Stooq, Alpha Vantage) and summarise them: count, first and last dates, last close, annualised volatility, and the data source.", bars),
        route(
            "backtest_run",
            "Event-driven backtest of one strategy on one symbol's daily bars: orders decided at each close fill at the next bar (market at the open; limit and stop when reached), with commission, slippage and position sizing. Returns total and annualised return, volatility, Sharpe, Sortino, Calmar, max drawdown and its duration, win rate, turnover, exposure, the equity curve, and (optionally) a look-ahead audit. Deterministic for a synthetic seed.",
            backtest,
        )
        .cpu_heavy(),
        route("pairs_backtest", "Pairs trading on two symbols: rolling hedge ratio, spread z-score entries and exits, both legs filled at the next open with costs. Returns the figures, the last hedge ratio and z-score.", pairs).cpu_heavy(),
        route(
            "strategy_compare",
            "Run two strategies on the same bars and test whether their daily returns differ (paired t-test): both sets of figures, the t statistic, p-value and verdict.",
            compare,
        )
        .cpu_heavy(),
    ]
}

async fn list(
    _b: Arc<StrategiesBundle>,
    _i: NoArgs,
    _ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    let schema = serde_json::to_value(schemars::schema_for!(StrategySpec)).unwrap_or_default();
    let defaults: Vec<_> = StrategySpec::examples()
        .into_iter()
        .map(|s| json!({"kind": s.kind(), "default": s}))
        .collect();
    let names = [
        "momentum",
        "mean_reversion",
        "swing",
        "emergency_momentum",
        "mirror",
        "news_sentiment",
        "buy_and_hold",
        "pairs (pairs_backtest)",
    ];
    Ok(ToolOutput::new(
        format!(
            "{} strategies: {}. Pass one as `strategy` to backtest_run, e.g. {{\"kind\":\"momentum\",\"lookback\":20}}.",
            names.len(),
            names.join(", ")
        ),
        json!({"strategies": names, "examples": defaults, "schema": schema}),
    ))
}

/// Input of `market_bars`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BarsInput {
    /// Which bars.
    #[serde(default)]
    pub data: DataInput,
}

async fn bars(
    b: Arc<StrategiesBundle>,
    i: BarsInput,
    _ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    let s = b.market.bars(&i.data, "data").await?;
    let vol = nt_quant::stats::std_dev(&s.returns()) * 252f64.sqrt();
    let (first, last) = (s.bars[0], s.bars[s.len() - 1]);
    Ok(ToolOutput::new(
        format!(
            "source: {}\n{} {} bars {} .. {}, last close {:.4}, annualised vol {:.1}%",
            s.source,
            s.symbol,
            s.len(),
            format_day(first.day),
            format_day(last.day),
            last.close,
            vol * 100.0
        ),
        json!({"source": s.source, "symbol": s.symbol, "bars": s.len(), "first": format_day(first.day), "last": format_day(last.day), "last_close": last.close, "annualised_vol": vol, "tail": s.bars[s.len().saturating_sub(5)..].iter().map(|b| json!({"date": format_day(b.day), "open": b.open, "high": b.high, "low": b.low, "close": b.close, "volume": b.volume})).collect::<Vec<_>>()}),
    ))
}

/// Input of `backtest_run`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BacktestInput {
    /// The strategy and its parameters, e.g. `{"kind":"mean_reversion","window":20,"entry_z":2}` (see strategy_list).
    pub strategy: StrategySpec,
    /// Which bars (default: the synthetic market, seed 42, 756 bars).
    #[serde(default)]
    pub data: DataInput,
    /// Capital, costs, sizing, shorting, bars a year, risk-free rate.
    #[serde(default)]
    pub config: BacktestConfig,
    /// Also check that the strategy never reacts to bars it should not have seen yet (reruns it on altered futures).
    #[serde(default)]
    pub lookahead_audit: bool,
    /// Points of the equity curve to return (0-2000, default 100).
    #[serde(default = "default_points")]
    pub curve_points: usize,
}

fn default_points() -> usize {
    100
}

pub(crate) fn metrics_json(m: &nt_quant::backtest::Metrics) -> serde_json::Value {
    serde_json::to_value(m).unwrap_or_default()
}

pub(crate) fn metrics_line(m: &nt_quant::backtest::Metrics) -> String {
    format!(
        "total {:+.2}%, annualised {:+.2}%, vol {:.2}%, Sharpe {:.2}, Sortino {:.2}, Calmar {:.2}, max DD {:.2}% over {} bars, {} trades, win rate {:.0}%, turnover {:.1}x/yr, in market {:.0}%",
        m.total_return * 100.0,
        m.annualised_return * 100.0,
        m.volatility * 100.0,
        m.sharpe,
        m.sortino,
        m.calmar,
        m.max_drawdown * 100.0,
        m.max_drawdown_bars,
        m.trades,
        m.win_rate * 100.0,
        m.annual_turnover,
        m.time_in_market * 100.0
    )
}

fn run_spec(
    series: &BarSeries,
    spec: &StrategySpec,
    cfg: &BacktestConfig,
    field: &str,
) -> Result<BacktestResult, ToolError> {
    let mut s = spec.build().map_err(|e| tool_error(under(e, field)))?;
    run(series, s.as_mut(), cfg).map_err(tool_error)
}

async fn backtest(
    b: Arc<StrategiesBundle>,
    i: BacktestInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    if i.curve_points > 2000 {
        return Err(ToolError::invalid("curve_points", "must be 0-2000"));
    }
    let series = b.market.bars(&i.data, "data").await?;
    ctx.check_cancelled()?;
    let r = run_spec(&series, &i.strategy, &i.config, "strategy")?;
    let audit = if i.lookahead_audit {
        let spec = i.strategy.clone();
        let make = move |_: &BarSeries| -> nt_quant::Result<Box<dyn Strategy>> { spec.build() };
        Some(audit_lookahead(&series, &i.config, &make, 5).map_err(tool_error)?)
    } else {
        None
    };
    let m = r.metrics;
    let mut text = format!(
        "source: {}\n{} on {} ({} bars): {}",
        r.source,
        i.strategy.kind(),
        r.symbol,
        m.bars,
        metrics_line(&m)
    );
    if let Some(a) = &audit {
        text.push_str(if a.passed() {
            "\nlook-ahead audit: passed"
        } else {
            "\nlook-ahead audit: FAILED (the strategy reacted to future bars)"
        });
    }
    Ok(ToolOutput::new(
        text,
        json!({
            "source": r.source, "symbol": r.symbol, "strategy": i.strategy, "metrics": metrics_json(&m),
            "fills": r.fills.len(), "orders": r.orders.len(),
            "last_trades": r.trades.iter().rev().take(10).map(|t| json!({"entry": format_day(r.days[t.entry_bar]), "exit": format_day(r.days[t.exit_bar]), "direction": t.direction, "pnl": round(t.pnl, 2)})).collect::<Vec<_>>(),
            "equity_curve": curve(&r.days, &r.equity, i.curve_points),
            "lookahead_audit": audit.map(|a| json!({"passed": a.passed(), "cuts": a.cuts, "first_violation_bar": a.first_violation})),
        }),
    ))
}

/// Input of `pairs_backtest`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PairsInput {
    /// First leg (A).
    pub a: DataInput,
    /// Second leg (B, the hedge).
    pub b: DataInput,
    /// Lookback, entry and exit z-scores, gross exposure.
    #[serde(default)]
    pub params: PairsParams,
    /// Capital and costs (sizing is the gross exposure).
    #[serde(default)]
    pub config: BacktestConfig,
}

async fn pairs(
    b: Arc<StrategiesBundle>,
    i: PairsInput,
    _ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    let (sa, sb) = (
        b.market.bars(&i.a, "a").await?,
        b.market.bars(&i.b, "b").await?,
    );
    let r = run_pairs(&sa, &sb, &i.params, &i.config).map_err(tool_error)?;
    Ok(ToolOutput::new(
        format!(
            "source: {} / {}\npairs {}/{}: {}; hedge ratio {:.3}, spread z {:.2}",
            sa.source,
            sb.source,
            sa.symbol,
            sb.symbol,
            metrics_line(&r.metrics),
            r.last_beta,
            r.last_z
        ),
        json!({"source": [sa.source, sb.source], "metrics": metrics_json(&r.metrics), "last_beta": r.last_beta, "last_z": r.last_z, "equity_curve": curve(&r.days, &r.equity, 100)}),
    ))
}

/// Input of `strategy_compare`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CompareInput {
    /// Strategy A.
    pub a: StrategySpec,
    /// Strategy B.
    pub b: StrategySpec,
    /// Which bars (both run on the same ones).
    #[serde(default)]
    pub data: DataInput,
    /// Backtest settings for both.
    #[serde(default)]
    pub config: BacktestConfig,
    /// Significance level (default 0.05).
    #[serde(default = "alpha")]
    pub alpha: f64,
}

fn alpha() -> f64 {
    0.05
}

async fn compare(
    b: Arc<StrategiesBundle>,
    i: CompareInput,
    _ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    let series = b.market.bars(&i.data, "data").await?;
    let ra = run_spec(&series, &i.a, &i.config, "a")?;
    let rb = run_spec(&series, &i.b, &i.config, "b")?;
    let rets = |e: &[f64]| {
        let mut c = vec![i.config.initial_capital];
        c.extend_from_slice(e);
        nt_quant::bars::simple_returns(&c)
    };
    let t = ab_test(&rets(&ra.equity), &rets(&rb.equity), true, i.alpha).map_err(tool_error)?;
    let verdict = if t.significant {
        format!(
            "the difference is significant at {} (p = {:.4})",
            i.alpha, t.p_value
        )
    } else {
        format!(
            "no significant difference at {} (p = {:.4})",
            i.alpha, t.p_value
        )
    };
    Ok(ToolOutput::new(
        format!(
            "source: {}\nA {}: {}\nB {}: {}\npaired t = {:.3} (df {}): {verdict}",
            series.source,
            i.a.kind(),
            metrics_line(&ra.metrics),
            i.b.kind(),
            metrics_line(&rb.metrics),
            t.t,
            t.df
        ),
        json!({"source": series.source, "a": {"strategy": i.a, "metrics": metrics_json(&ra.metrics)}, "b": {"strategy": i.b, "metrics": metrics_json(&rb.metrics)}, "test": t}),
    ))
}
