//! `performance_report`: rolling Sharpe, drawdown and hit rate over an
//! equity series (given, from closed trades' P&L, or from a backtest), with
//! an SVG chart of equity over drawdown.
//!
//! The chart comes back as MCP image content (`image/svg+xml`, after the
//! text), as SVG text in the structured field `chart.svg`, and as the
//! caller's resource `quant://chart/latest` (mime type `image/svg+xml`).

use std::sync::Arc;

use nt_mcp_core::{Route, ToolCtx, ToolError, ToolImage, ToolOutput, route};
use nt_quant::backtest::{BacktestConfig, run};
use nt_quant::monitor::{equity_chart_svg, report};
use nt_quant::strategy::StrategySpec;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use crate::StrategiesBundle;
use crate::error::{tool_error, under};
use crate::market::DataInput;
use crate::tools::common::round;

/// The routes of this family.
pub(crate) fn routes() -> Vec<Route<StrategiesBundle>> {
    vec![route(
        "performance_report",
        "Track performance over an equity series (give `equity`, or a `strategy` to backtest on `data`): figures, rolling Sharpe, drawdown, hit rate, and an SVG chart of equity over drawdown (image content, and structured field chart.svg).",
        performance,
    )
    .cpu_heavy()]
}

/// Input of `performance_report`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PerformanceInput {
    /// Equity values, oldest first (at least 3), e.g. an account's daily values.
    #[serde(default)]
    pub equity: Vec<f64>,
    /// Or: closed trades' profits and losses in order (a fills series); equity is
    /// `starting_capital` plus their running sum and the hit rate is per trade.
    #[serde(default)]
    pub trade_pnls: Vec<f64>,
    /// Starting capital for `trade_pnls` (default 100000).
    #[serde(default = "capital")]
    pub starting_capital: f64,
    /// Or: backtest this strategy and report on its equity.
    #[serde(default)]
    pub strategy: Option<StrategySpec>,
    /// Backtest settings for `strategy`.
    #[serde(default)]
    pub config: BacktestConfig,
    /// Bars for the strategy.
    #[serde(default)]
    pub data: DataInput,
    /// Rolling window in periods (default 63, about a quarter of trading days).
    #[serde(default = "window")]
    pub window: usize,
    /// Periods a year (default 252).
    #[serde(default = "ppy")]
    pub periods_per_year: f64,
    /// Include the SVG chart (default true).
    #[serde(default = "yes")]
    pub chart: bool,
    /// Chart title.
    #[serde(default)]
    pub title: Option<String>,
}

fn capital() -> f64 {
    100_000.0
}
fn window() -> usize {
    63
}
fn ppy() -> f64 {
    252.0
}
fn yes() -> bool {
    true
}

async fn performance(
    b: Arc<StrategiesBundle>,
    i: PerformanceInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    let given = [
        !i.equity.is_empty(),
        !i.trade_pnls.is_empty(),
        i.strategy.is_some(),
    ];
    if given.iter().filter(|g| **g).count() != 1 {
        return Err(ToolError::invalid(
            "equity",
            "give exactly one of `equity`, `trade_pnls` or `strategy`",
        ));
    }
    let mut trade_hits = None;
    let (equity, days, source, title) = if let Some(spec) = &i.strategy {
        let s = b.market.bars(&i.data, "data").await?;
        let cfg = &i.config;
        let r = run(
            &s,
            spec.build()
                .map_err(|e| tool_error(under(e, "strategy")))?
                .as_mut(),
            cfg,
        )
        .map_err(tool_error)?;
        let mut eq = vec![cfg.initial_capital];
        eq.extend_from_slice(&r.equity);
        let mut days = vec![s.bars[0].day - 1];
        days.extend_from_slice(&r.days);
        (
            eq,
            Some(days),
            s.source.clone(),
            format!("{} on {}", spec.kind(), s.symbol),
        )
    } else if !i.trade_pnls.is_empty() {
        if i.trade_pnls.iter().any(|p| !p.is_finite())
            || i.starting_capital.is_nan()
            || i.starting_capital <= 0.0
        {
            return Err(ToolError::invalid(
                "trade_pnls",
                "profits and losses must be finite and starting_capital positive",
            ));
        }
        let mut eq = vec![i.starting_capital];
        for p in &i.trade_pnls {
            eq.push(eq[eq.len() - 1] + p);
        }
        if eq.iter().any(|e| *e <= 0.0) {
            return Err(ToolError::refused(
                "the running equity reaches zero: raise starting_capital",
            ));
        }
        trade_hits = Some(
            i.trade_pnls.iter().filter(|p| **p > 0.0).count() as f64 / i.trade_pnls.len() as f64,
        );
        (
            eq,
            None,
            "trade_pnls given".to_string(),
            "equity from trades".to_string(),
        )
    } else {
        (
            i.equity.clone(),
            None,
            "equity given".to_string(),
            "equity".to_string(),
        )
    };
    let window = i.window.min(equity.len().saturating_sub(1)).max(2);
    let mut r = report(&equity, window, i.periods_per_year, 0.0).map_err(tool_error)?;
    if let Some(h) = trade_hits {
        r.hit_rate = h;
    }
    let svg = if i.chart {
        let svg = equity_chart_svg(
            i.title.as_deref().unwrap_or(&title),
            &equity,
            days.as_deref(),
        )
        .map_err(tool_error)?;
        b.keep_chart(&ctx.caller.id, &svg);
        Some(svg)
    } else {
        None
    };
    let chart = svg.as_ref().map(|svg| {
        json!({"mime_type": "image/svg+xml", "svg": svg, "resource": crate::LATEST_CHART_URI})
    });
    let m = &r.metrics;
    let last_rs = r.rolling_sharpe.last().copied().unwrap_or(0.0);
    let output = ToolOutput::new(
        format!(
            "source: {source}\n{} points: total {:+.2}%, Sharpe {:.2}, max DD {:.2}%, current DD {:.2}%, hit rate {:.0}%, rolling {}-period Sharpe now {:.2}{}",
            equity.len(),
            m.total_return * 100.0,
            m.sharpe,
            m.max_drawdown * 100.0,
            r.current_drawdown * 100.0,
            r.hit_rate * 100.0,
            r.window,
            last_rs,
            if chart.is_some() {
                "\nchart: the image below (SVG), also in structuredContent.chart.svg"
            } else {
                ""
            }
        ),
        json!({
            "source": source, "metrics": m, "hit_rate": r.hit_rate, "current_drawdown": r.current_drawdown, "window": r.window,
            "rolling_sharpe_last": last_rs, "rolling_sharpe": r.rolling_sharpe.iter().rev().take(20).rev().map(|x| round(*x, 4)).collect::<Vec<_>>(),
            "chart": chart,
        }),
    );
    Ok(match svg {
        Some(svg) => output.with_image(ToolImage::new("image/svg+xml", svg.as_bytes())),
        None => output,
    })
}
