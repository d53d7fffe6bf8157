//! The `risk` bundle's tools: `risk_var`, `risk_stress_test`,
//! `risk_adaptive` and `risk_kill_check`.

use std::collections::BTreeMap;
use std::sync::Arc;

use nt_mcp_core::{Route, ToolCtx, ToolError, ToolOutput, route};
use nt_quant::backtest::metrics::{drawdown, ratios};
use nt_quant::risk::adaptive::{DrawdownDerisk, KillRule, overlay};
use nt_quant::risk::stress::{Exposure, SCENARIOS, stress_test};
use nt_quant::risk::var::{VarMethod, value_at_risk};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use crate::RiskBundle;
use crate::error::tool_error;
use crate::market::{DataInput, Market};

/// The routes of the `risk` bundle.
pub(crate) fn routes() -> Vec<Route<RiskBundle>> {
    vec![
        route("risk_var", "Value at Risk and expected shortfall (CVaR) of a return series (given, or from a symbol's bars): historical, parametric (normal) and Monte Carlo, at a confidence and horizon, as fractions and in money for a position value.", var).cpu_heavy(),
        route("risk_stress_test", "Profit and loss of a book under named historical scenarios (black_monday_1987, dotcom_2000_2002, gfc_2008, covid_2020, rates_2022) and your own shocks by asset class or position; lists asset classes a scenario does not cover.", stress),
        route("risk_adaptive", "Adaptive risk on a return series: volatility targeting and drawdown de-risking applied period by period with past data only; volatility, Sharpe and max drawdown before and after, and the exposure to hold now.", adaptive).cpu_heavy(),
        route("risk_kill_check", "Check an equity series against the emergency kill rule (max drawdown, max one-period loss, max losing streak; defaults from the server's risk configuration, which a broker-side compliance check reads too).", kill),
    ]
}

/// Returns given directly or computed from bars.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReturnsInput {
    /// Period returns (0.01 = +1%), oldest first.
    #[serde(default)]
    pub returns: Vec<f64>,
    /// Or: the close-to-close returns of these bars.
    #[serde(default)]
    pub data: Option<DataInput>,
}

async fn returns_of(market: &Market, i: &ReturnsInput) -> Result<(Vec<f64>, String), ToolError> {
    match (&i.data, i.returns.is_empty()) {
        (Some(d), true) => {
            let s = market.bars(d, "data").await?;
            Ok((s.returns(), s.source))
        }
        (None, false) => Ok((i.returns.clone(), "returns given".into())),
        _ => Err(ToolError::invalid(
            "returns",
            "give either `returns` or `data`, not both or neither",
        )),
    }
}

/// Input of `risk_var`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VarInput {
    /// The returns.
    #[serde(flatten)]
    pub series: ReturnsInput,
    /// Confidence (default 0.99).
    #[serde(default = "conf")]
    pub confidence: f64,
    /// Horizon in periods (default 1).
    #[serde(default = "one")]
    pub horizon: usize,
    /// Methods (default all three).
    #[serde(default)]
    pub methods: Vec<VarMethod>,
    /// Monte Carlo draws (default 100000).
    #[serde(default = "sims")]
    pub simulations: usize,
    /// Monte Carlo seed.
    #[serde(default)]
    pub seed: u64,
    /// Position value, to express VaR in money.
    #[serde(default)]
    pub position_value: Option<f64>,
}

fn conf() -> f64 {
    0.99
}
fn one() -> usize {
    1
}
fn sims() -> usize {
    100_000
}

async fn var(b: Arc<RiskBundle>, i: VarInput, _ctx: ToolCtx) -> Result<ToolOutput, ToolError> {
    let (rets, source) = returns_of(&b.market, &i.series).await?;
    let methods = if i.methods.is_empty() {
        vec![
            VarMethod::Historical,
            VarMethod::Parametric,
            VarMethod::MonteCarlo,
        ]
    } else {
        i.methods.clone()
    };
    let mut rows = vec![];
    let mut lines = vec![];
    for m in methods {
        let v = value_at_risk(&rets, i.confidence, i.horizon, m, i.simulations, i.seed)
            .map_err(tool_error)?;
        let money = i
            .position_value
            .map(|p| json!({"var": v.var * p, "cvar": v.cvar * p}));
        lines.push(format!(
            "{m:?}: VaR {:.3}% CVaR {:.3}%{}",
            v.var * 100.0,
            v.cvar * 100.0,
            i.position_value
                .map(|p| format!(" ({:.2} / {:.2})", v.var * p, v.cvar * p))
                .unwrap_or_default()
        ));
        rows.push(json!({"estimate": v, "money": money}));
    }
    Ok(ToolOutput::new(
        format!(
            "source: {source}\n{:.1}% {}-period VaR over {} returns:\n{}",
            i.confidence * 100.0,
            i.horizon,
            rets.len(),
            lines.join("\n")
        ),
        json!({"source": source, "returns": rets.len(), "results": rows}),
    ))
}

/// Input of `risk_stress_test`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StressInput {
    /// The book: name, asset class (`equity`, `tech_equity`, `bonds`, `crypto`, or your own) and market value.
    pub positions: Vec<Exposure>,
    /// Named scenarios to run (default: all).
    #[serde(default)]
    pub scenarios: Vec<String>,
    /// Your own shocks: asset class or position name -> return (-0.3 = -30%).
    #[serde(default)]
    pub shocks: Option<BTreeMap<String, f64>>,
}

async fn stress(
    _b: Arc<RiskBundle>,
    i: StressInput,
    _ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    let r = stress_test(&i.positions, &i.scenarios, i.shocks.as_ref()).map_err(tool_error)?;
    let worst = r.iter().min_by(|a, b| a.pnl.total_cmp(&b.pnl));
    let lines: Vec<String> = r
        .iter()
        .map(|s| {
            let nc = if s.not_covered.is_empty() {
                String::new()
            } else {
                format!(" (not covered: {})", s.not_covered.join(", "))
            };
            format!(
                "{}: {:+.2} ({:+.2}% of gross){nc}",
                s.scenario,
                s.pnl,
                s.pnl_pct_of_gross * 100.0
            )
        })
        .collect();
    let catalogue: Vec<_> = SCENARIOS.iter().map(|s| json!({"name": s.name, "description": s.description, "shocks": s.shocks.iter().map(|(k, v)| (k.to_string(), json!(v))).collect::<serde_json::Map<_, _>>()})).collect();
    Ok(ToolOutput::new(
        format!(
            "{}\nworst: {}",
            lines.join("\n"),
            worst.map_or("-".into(), |w| w.scenario.clone())
        ),
        json!({"results": r, "worst": worst.map(|w| w.scenario.clone()), "scenarios": catalogue}),
    ))
}

/// Input of `risk_adaptive`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AdaptiveInput {
    /// The returns of the strategy or asset.
    #[serde(flatten)]
    pub series: ReturnsInput,
    /// Target annual volatility (0.10 = 10%); omit to skip vol targeting.
    #[serde(default)]
    pub target_vol: Option<f64>,
    /// Trailing periods for the volatility estimate (default 20).
    #[serde(default = "vol_window")]
    pub vol_window: usize,
    /// Largest exposure multiple (default 2).
    #[serde(default = "two")]
    pub max_leverage: f64,
    /// Drawdown de-risking (start, max, floor); omit to skip.
    #[serde(default)]
    pub drawdown: Option<DrawdownDerisk>,
    /// Periods a year (default 252).
    #[serde(default = "ppy")]
    pub periods_per_year: f64,
}

fn vol_window() -> usize {
    20
}
fn two() -> f64 {
    2.0
}
fn ppy() -> f64 {
    252.0
}

fn stats(rets: &[f64], ppy: f64) -> serde_json::Value {
    let (sharpe, _, vol) = ratios(rets, ppy, 0.0);
    let mut curve = vec![1.0];
    for r in rets {
        curve.push(curve[curve.len() - 1] * (1.0 + r));
    }
    let (dd, dur) = drawdown(&curve);
    json!({"volatility": vol, "sharpe": sharpe, "max_drawdown": dd, "max_drawdown_periods": dur, "total_return": curve[curve.len() - 1] - 1.0})
}

async fn adaptive(
    b: Arc<RiskBundle>,
    i: AdaptiveInput,
    _ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    let (rets, source) = returns_of(&b.market, &i.series).await?;
    if rets.len() < 10 {
        return Err(ToolError::invalid("returns", "give at least 10 returns"));
    }
    if i.target_vol.is_none() && i.drawdown.is_none() {
        return Err(ToolError::invalid(
            "target_vol",
            "give target_vol, drawdown, or both",
        ));
    }
    let vol = i.target_vol.map(|t| (t, i.vol_window, i.max_leverage));
    // The exposure to hold next: run the overlay one period further with a zero return.
    let mut ext = rets.clone();
    ext.push(0.0);
    let (adj, used) = overlay(&ext, vol, i.drawdown, i.periods_per_year).map_err(tool_error)?;
    let now = used[used.len() - 1];
    let (before, after) = (
        stats(&rets, i.periods_per_year),
        stats(&adj[..rets.len()], i.periods_per_year),
    );
    Ok(ToolOutput::new(
        format!(
            "source: {source}\nbefore: vol {:.2}%, Sharpe {:.2}, max DD {:.2}%\nafter: vol {:.2}%, Sharpe {:.2}, max DD {:.2}%\nexposure to hold now: {:.2}x",
            before["volatility"].as_f64().unwrap_or(0.0) * 100.0,
            before["sharpe"].as_f64().unwrap_or(0.0),
            before["max_drawdown"].as_f64().unwrap_or(0.0) * 100.0,
            after["volatility"].as_f64().unwrap_or(0.0) * 100.0,
            after["sharpe"].as_f64().unwrap_or(0.0),
            after["max_drawdown"].as_f64().unwrap_or(0.0) * 100.0,
            now
        ),
        json!({"source": source, "before": before, "after": after, "exposure_now": now, "mean_exposure": used.iter().sum::<f64>() / used.len() as f64}),
    ))
}

/// Input of `risk_kill_check`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KillInput {
    /// Equity values, oldest first.
    pub equity: Vec<f64>,
    /// Limits to use instead of the configured ones.
    #[serde(default)]
    pub rule: Option<KillRule>,
}

async fn kill(b: Arc<RiskBundle>, i: KillInput, _ctx: ToolCtx) -> Result<ToolOutput, ToolError> {
    if i.equity.len() < 2 || i.equity.iter().any(|e| !e.is_finite() || *e < 0.0) {
        return Err(ToolError::invalid(
            "equity",
            "give at least 2 non-negative equity values",
        ));
    }
    let rule = i.rule.unwrap_or(b.kill_rule);
    let d = rule
        .evaluate(&i.equity)
        .map_err(|e| tool_error(crate::error::under(e, "rule")))?;
    Ok(ToolOutput::new(
        if d.triggered {
            format!(
                "KILL: stop trading (point {}): {}",
                d.at.unwrap_or(0),
                d.reasons.join("; ")
            )
        } else {
            "within limits: keep trading".to_string()
        },
        json!({"decision": d, "rule": rule, "rule_source": if i.rule.is_some() { "input" } else { "configuration" }}),
    ))
}
