//! `portfolio_weights`, `portfolio_rebalance`, `execution_schedule` and
//! `attribution`.

use std::collections::BTreeMap;
use std::sync::Arc;

use nt_mcp_core::{Route, ToolCtx, ToolError, ToolOutput, route};
use nt_quant::portfolio::analytics::{Segment, brinson};
use nt_quant::portfolio::execution::{twap, vwap};
use nt_quant::portfolio::rebalance::plan;
use nt_quant::portfolio::weights::{
    covariance_matrix, max_sharpe, min_variance, risk_contributions, risk_parity,
};
use nt_quant::stats::mean;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use crate::StrategiesBundle;
use crate::error::tool_error;
use crate::market::DataInput;

/// The routes of this family.
pub(crate) fn routes() -> Vec<Route<StrategiesBundle>> {
    vec![
        route("portfolio_weights", "Target weights for a set of assets from their daily returns: minimum variance, maximum Sharpe (tangency), risk parity (equal risk contribution) or equal weight, optionally long-only; with each asset's risk contribution, expected return and volatility.", weights).cpu_heavy(),
        route("portfolio_rebalance", "Trades that bring holdings back to target weights, only for assets that drifted beyond the threshold and only when the trade is at least the minimum size.", rebalance),
        route("execution_schedule", "Split an order into TWAP (equal) or VWAP (volume-profile) slices in whole lots that add up exactly.", schedule),
        route("attribution", "Brinson–Fachler attribution of a portfolio's active return against its benchmark by segment: allocation, selection and interaction.", attribution),
    ]
}

/// How to weight.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WeightMethod {
    /// Least portfolio variance.
    MinVariance,
    /// Highest Sharpe ratio (needs expected returns; default: historical means).
    MaxSharpe,
    /// Equal risk contribution.
    RiskParity,
    /// 1/n.
    Equal,
}

/// Input of `portfolio_weights`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WeightsInput {
    /// Weighting method.
    pub method: WeightMethod,
    /// The assets' bars (2-50), e.g. synthetic symbols or Stooq tickers; or give `returns`.
    #[serde(default)]
    pub assets: Vec<DataInput>,
    /// Daily return series by asset name, all the same length (instead of `assets`).
    #[serde(default)]
    pub returns: BTreeMap<String, Vec<f64>>,
    /// Annual expected returns by asset name for max_sharpe (default: historical mean × 252).
    #[serde(default)]
    pub expected_returns: BTreeMap<String, f64>,
    /// Annual risk-free rate for max_sharpe.
    #[serde(default)]
    pub risk_free_rate: f64,
    /// No short positions (default true).
    #[serde(default = "yes")]
    pub long_only: bool,
}

fn yes() -> bool {
    true
}

async fn weights(
    b: Arc<StrategiesBundle>,
    i: WeightsInput,
    _ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    let (names, columns, source) = if !i.assets.is_empty() {
        if i.assets.len() > 50 {
            return Err(ToolError::invalid("assets", "at most 50 assets"));
        }
        let mut series = vec![];
        for (k, a) in i.assets.iter().enumerate() {
            series.push(b.market.bars(a, &format!("assets[{k}]")).await?);
        }
        // Align on the days every asset has.
        let mut days: Vec<i64> = series[0].bars.iter().map(|x| x.day).collect();
        for s in &series[1..] {
            let have: std::collections::HashSet<i64> = s.bars.iter().map(|x| x.day).collect();
            days.retain(|d| have.contains(d));
        }
        let cols: Vec<Vec<f64>> = series
            .iter()
            .map(|s| {
                let px: Vec<f64> = s
                    .bars
                    .iter()
                    .filter(|x| days.binary_search(&x.day).is_ok())
                    .map(|x| x.close)
                    .collect();
                nt_quant::bars::simple_returns(&px)
            })
            .collect();
        let mut names: Vec<String> = series.iter().map(|s| s.symbol.clone()).collect();
        names.dedup();
        if names.len() != series.len() {
            return Err(ToolError::invalid(
                "assets",
                "give each asset a different symbol",
            ));
        }
        let sources: Vec<String> = series.iter().map(|s| s.source.clone()).collect();
        (names, cols, sources.join(", "))
    } else {
        (
            i.returns.keys().cloned().collect(),
            i.returns.values().cloned().collect(),
            "returns given".to_string(),
        )
    };
    if names.len() < 2 {
        return Err(ToolError::invalid(
            "assets",
            "give at least 2 assets (or 2 return series)",
        ));
    }
    let cov = covariance_matrix(&columns).map_err(tool_error)?;
    let mu: Vec<f64> = names
        .iter()
        .zip(&columns)
        .map(|(n, c)| i.expected_returns.get(n).map_or(mean(c) * 252.0, |v| *v) / 252.0)
        .collect();
    let w = match i.method {
        WeightMethod::MinVariance => min_variance(&cov, i.long_only),
        WeightMethod::MaxSharpe => max_sharpe(&cov, &mu, i.risk_free_rate / 252.0, i.long_only),
        WeightMethod::RiskParity => risk_parity(&cov),
        WeightMethod::Equal => Ok(vec![1.0 / names.len() as f64; names.len()]),
    }
    .map_err(tool_error)?;
    let rc = risk_contributions(&cov, &w);
    let var: f64 = (0..w.len())
        .map(|a| (0..w.len()).map(|c| w[a] * w[c] * cov[a][c]).sum::<f64>())
        .sum();
    let ret: f64 = w.iter().zip(&mu).map(|(a, b)| a * b).sum::<f64>() * 252.0;
    let rows: Vec<_> = names
        .iter()
        .enumerate()
        .map(|(k, n)| json!({"asset": n, "weight": w[k], "risk_contribution": rc[k], "expected_return": mu[k] * 252.0, "volatility": cov[k][k].sqrt() * 252f64.sqrt()}))
        .collect();
    let text: Vec<String> = names
        .iter()
        .zip(&w)
        .map(|(n, x)| format!("{n} {:.1}%", x * 100.0))
        .collect();
    Ok(ToolOutput::new(
        format!(
            "source: {source}\n{:?} weights: {}; expected return {:.2}%, volatility {:.2}% a year",
            i.method,
            text.join(", "),
            ret * 100.0,
            (var * 252.0).sqrt() * 100.0
        ),
        json!({"source": source, "method": format!("{:?}", i.method), "weights": rows, "expected_return": ret, "volatility": (var * 252.0).sqrt()}),
    ))
}

/// Input of `portfolio_rebalance`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RebalanceInput {
    /// Market value held by symbol.
    pub holdings: BTreeMap<String, f64>,
    /// Cash held.
    #[serde(default)]
    pub cash: f64,
    /// Target weight by symbol (sum at most 1; the rest is cash).
    pub targets: BTreeMap<String, f64>,
    /// Trade an asset only when its weight is this far from target (0.05 = 5 points; default 0.02).
    #[serde(default = "threshold")]
    pub threshold: f64,
    /// Smallest trade worth sending, in money (default 0).
    #[serde(default)]
    pub min_trade: f64,
}

fn threshold() -> f64 {
    0.02
}

async fn rebalance(
    _b: Arc<StrategiesBundle>,
    i: RebalanceInput,
    _ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    let p = plan(&i.holdings, i.cash, &i.targets, i.threshold, i.min_trade).map_err(tool_error)?;
    let lines: Vec<String> = p
        .trades
        .iter()
        .map(|t| {
            format!(
                "{} {} {:.2} ({:.1}% -> {:.1}%)",
                if t.value > 0.0 { "buy" } else { "sell" },
                t.symbol,
                t.value.abs(),
                t.weight_before * 100.0,
                t.target * 100.0
            )
        })
        .collect();
    Ok(ToolOutput::new(
        if lines.is_empty() {
            "no asset drifted beyond the threshold: nothing to trade".to_string()
        } else {
            format!(
                "{} trades: {}; cash after {:.2}",
                lines.len(),
                lines.join("; "),
                p.cash_after
            )
        },
        p,
    ))
}

/// Input of `execution_schedule`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleInput {
    /// `twap` or `vwap`.
    pub algo: Algo,
    /// Total quantity to trade.
    pub quantity: f64,
    /// Slices for TWAP (default 13: half hours of a US session).
    #[serde(default)]
    pub slices: Option<usize>,
    /// Volume share per slice for VWAP (default: a US equity U-shaped day in 13 half-hours).
    #[serde(default)]
    pub volume_profile: Option<Vec<f64>>,
    /// Lot size (default 1).
    #[serde(default = "one")]
    pub lot_size: f64,
}

/// Execution algorithm.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Algo {
    /// Time-weighted.
    Twap,
    /// Volume-weighted.
    Vwap,
}

fn one() -> f64 {
    1.0
}

async fn schedule(
    _b: Arc<StrategiesBundle>,
    i: ScheduleInput,
    _ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    let s = match i.algo {
        Algo::Twap => twap(i.quantity, i.slices.unwrap_or(13), i.lot_size),
        Algo::Vwap => vwap(i.quantity, i.volume_profile.as_deref(), i.lot_size),
    }
    .map_err(tool_error)?;
    let q: Vec<String> = s.iter().map(|x| format!("{}", x.qty)).collect();
    Ok(ToolOutput::new(
        format!(
            "{:?} {} in {} slices: {}",
            i.algo,
            i.quantity,
            s.len(),
            q.join(", ")
        ),
        json!({"algo": format!("{:?}", i.algo).to_lowercase(), "slices": s}),
    ))
}

/// Input of `attribution`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AttributionInput {
    /// Segments with portfolio and benchmark weights (each summing to 1) and returns.
    pub segments: Vec<Segment>,
}

async fn attribution(
    _b: Arc<StrategiesBundle>,
    i: AttributionInput,
    _ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    let a = brinson(&i.segments).map_err(tool_error)?;
    Ok(ToolOutput::new(
        format!(
            "active return {:+.4}% = allocation {:+.4}% + selection {:+.4}% + interaction {:+.4}% (portfolio {:.4}%, benchmark {:.4}%)",
            a.active_return * 100.0,
            a.allocation * 100.0,
            a.selection * 100.0,
            a.interaction * 100.0,
            a.portfolio_return * 100.0,
            a.benchmark_return * 100.0
        ),
        a,
    ))
}
