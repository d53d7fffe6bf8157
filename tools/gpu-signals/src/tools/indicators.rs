//! `signals_indicators`: indicator values over a batch.

use std::sync::Arc;

use nt_mcp_core::{Route, ToolCtx, ToolError, ToolOutput, route};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{DataInput, FULL_CAP, Precision, check_last_n, default_last_n, load, tail};
use crate::GpuSignalsBundle;
use crate::backend::BackendChoice;
use crate::cuda::DeviceReal;
use crate::indicators::Indicator;

pub(crate) fn routes() -> Vec<Route<GpuSignalsBundle>> {
    vec![
        route(
            "signals_indicators",
            "Technical indicators over many symbols at once (SMA, EMA, WMA, RSI, MACD, Bollinger, ATR, stochastic, z-score, volatility, VWAP, OBV, correlation to a benchmark), named with their parameters (rsi_14, macd_12_26_9, bb_20_2). Warm-up values are null as in TA-Lib (see gpu-signals://conventions). Returns the last `last_n` values per output (full series with full=true, capped). Runs on CUDA when available (backend auto), else the CPU.",
            indicators,
        )
        .cpu_heavy(),
    ]
}

/// Input of `signals_indicators`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct IndicatorsInput {
    /// The bars.
    pub data: DataInput,
    /// Indicator names: sma_20, ema_12, wma_10, rsi_14, macd_12_26_9, bb_20_2, atr_14, stoch_14_3_3, zscore_20, vol_20 (vol_20_252 annualised), vwap (cumulative) or vwap_20, obv, corr_20 (needs a benchmark).
    pub indicators: Vec<String>,
    /// Values per output to return, the most recent (1-1000, default 5).
    #[serde(default = "default_last_n")]
    pub last_n: usize,
    /// Return every bar (at most 200,000 values in all).
    #[serde(default)]
    pub full: bool,
    /// f64 (default) or f32 storage.
    #[serde(default)]
    pub precision: Precision,
    /// auto (default: CUDA when available), cpu or cuda.
    #[serde(default)]
    pub backend: BackendChoice,
}

/// Parses the indicator list (1-32 distinct names).
pub(crate) fn parse_list(field: &str, names: &[String]) -> Result<Vec<Indicator>, ToolError> {
    if names.is_empty() || names.len() > 32 {
        return Err(ToolError::invalid(field, "give 1-32 indicator names"));
    }
    let mut out: Vec<Indicator> = Vec::new();
    for (i, n) in names.iter().enumerate() {
        let ind = Indicator::parse(&format!("{field}[{i}]"), n)?;
        if !out.contains(&ind) {
            out.push(ind);
        }
    }
    Ok(out)
}

async fn indicators(
    b: Arc<GpuSignalsBundle>,
    input: IndicatorsInput,
    _ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    check_last_n(input.last_n)?;
    let inds = parse_list("indicators", &input.indicators)?;
    match input.precision {
        Precision::F64 => run::<f64>(&b, &input, &inds).await,
        Precision::F32 => run::<f32>(&b, &input, &inds).await,
    }
}

async fn run<T: DeviceReal>(
    b: &GpuSignalsBundle,
    input: &IndicatorsInput,
    inds: &[Indicator],
) -> Result<ToolOutput, ToolError> {
    let loaded = load::<T>(&input.data).await?;
    let batch = &loaded.batch;
    let outputs: usize = inds.iter().map(|i| i.outputs().len()).sum();
    let n = if input.full {
        let total = batch.n_symbols * batch.n_bars * outputs;
        if total > FULL_CAP {
            return Err(ToolError::invalid(
                "full",
                format!(
                    "the full answer would hold {total} values; at most {FULL_CAP} (ask for fewer symbols or indicators, or use last_n)"
                ),
            ));
        }
        batch.n_bars
    } else {
        input.last_n.min(batch.n_bars)
    };
    let c = b.engine.compute(batch, inds, input.backend, "indicators")?;
    let mut per_symbol = Vec::with_capacity(batch.n_symbols);
    for (s, sym) in loaded.symbols.iter().enumerate() {
        let mut m = Map::new();
        for v in &c.values {
            let outs = v.indicator.outputs();
            let value = if outs.len() == 1 {
                Value::Array(tail(v.series(0, s), n))
            } else {
                Value::Object(
                    outs.iter()
                        .enumerate()
                        .map(|(j, o)| (o.to_string(), Value::Array(tail(v.series(j, s), n))))
                        .collect(),
                )
            };
            m.insert(v.indicator.name(), value);
        }
        per_symbol.push(json!({"symbol": sym, "indicators": m}));
    }
    let warmup: Map<String, Value> = inds
        .iter()
        .map(|i| (i.name(), json!(i.lookback())))
        .collect();
    let text = format!(
        "{} indicator(s) over {} symbol(s) x {} bars on {} ({}, {:.1} ms); last {} value(s) each; bars from {}",
        inds.len(),
        batch.n_symbols,
        batch.n_bars,
        c.backend.name(),
        T::NAME,
        c.seconds * 1e3,
        n,
        loaded.source
    );
    Ok(ToolOutput::new(
        text,
        json!({
            "backend": c.backend, "precision": T::NAME, "source": loaded.source,
            "n_symbols": batch.n_symbols, "n_bars": batch.n_bars,
            "values_from_bar": batch.n_bars - n, "first_value_bar": warmup,
            "seconds": c.seconds, "symbols": per_symbol,
        }),
    ))
}
