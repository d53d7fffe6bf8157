//! The route table, one family per file, and what they share: the `data`
//! input (inline series or synthetic bars) turned into a [`Batch`].

mod backend;
mod indicators;
mod signals;

use nt_mcp_core::{Route, ToolError};
use nt_quant::data::synthetic::{SyntheticParams, SyntheticProvider};
use nt_quant::data::{BarProvider, BarRequest};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::GpuSignalsBundle;
use crate::batch::{Batch, MAX_CELLS, Real};

/// Every route of the bundle, in listing order.
pub(crate) fn routes() -> Vec<Route<GpuSignalsBundle>> {
    let mut r = indicators::routes();
    r.extend(signals::routes());
    r.extend(backend::routes());
    r
}

/// Most symbols a call may name.
pub(crate) const MAX_SYMBOLS: usize = 10_000;

/// One symbol's bars, oldest first.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SeriesInput {
    /// The symbol.
    pub symbol: String,
    /// Closes (required).
    pub close: Vec<f64>,
    /// Opens (optional; give open/high/low for every symbol or for none).
    pub open: Option<Vec<f64>>,
    /// Highs (needed by atr, stoch, vwap).
    pub high: Option<Vec<f64>>,
    /// Lows (needed by atr, stoch, vwap).
    pub low: Option<Vec<f64>>,
    /// Volumes (needed by vwap, obv).
    pub volume: Option<Vec<f64>>,
}

/// Bars from the seeded synthetic market of the quant crate (geometric
/// Brownian motion with jumps and volatility regimes; each symbol its own
/// stream).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SyntheticInput {
    /// Symbols to generate.
    pub symbols: Vec<String>,
    /// Bars per symbol (2-100000, default 252).
    pub bars: Option<usize>,
    /// Seed (default 42): the same seed gives the same bars.
    pub seed: Option<u64>,
}

/// Storage precision.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Precision {
    /// 64-bit floats.
    #[default]
    F64,
    /// 32-bit floats (arithmetic still f64).
    F32,
}

/// Where the bars come from: `series` (inline) or `synthetic`, exactly one.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct DataInput {
    /// Inline bars per symbol; every symbol the same number of bars.
    pub series: Option<Vec<SeriesInput>>,
    /// Synthetic bars instead of inline ones.
    pub synthetic: Option<SyntheticInput>,
    /// A benchmark's closes (same number of bars) for `corr_n`.
    pub benchmark: Option<Vec<f64>>,
    /// Or: one of the symbols' closes as the benchmark.
    pub benchmark_symbol: Option<String>,
}

/// A batch built from `data`, with its symbols and where the bars came from.
pub(crate) struct Loaded<T: Real> {
    pub batch: Batch<T>,
    pub symbols: Vec<String>,
    pub source: String,
}

fn conv<T: Real>(v: &[f64]) -> Vec<T> {
    v.iter().map(|x| T::from_f64(*x)).collect()
}

/// Builds the batch `data` describes (checks lengths, values and the cap).
pub(crate) async fn load<T: Real>(data: &DataInput) -> Result<Loaded<T>, ToolError> {
    let (symbols, cols, has_ohlc, has_volume, source) = match (&data.series, &data.synthetic) {
        (Some(_), Some(_)) | (None, None) => {
            return Err(inv("data", "give exactly one of `series` or `synthetic`"));
        }
        (Some(series), None) => inline(series)?,
        (None, Some(syn)) => synthetic(syn).await?,
    };
    let n_symbols = symbols.len();
    let n_bars = cols[3].len() / n_symbols.max(1);
    let [open, high, low, close, volume] = cols;
    let mut batch = Batch {
        n_symbols,
        n_bars,
        open: conv(&open),
        high: conv(&high),
        low: conv(&low),
        close: conv(&close),
        volume: conv(&volume),
        benchmark: None,
        has_ohlc,
        has_volume,
    };
    batch.check().map_err(ToolError::from)?;
    let bench = match (&data.benchmark, &data.benchmark_symbol) {
        (Some(_), Some(_)) => {
            return Err(inv(
                "data.benchmark",
                "give `benchmark` or `benchmark_symbol`, not both",
            ));
        }
        (Some(b), None) => Some(conv::<T>(b)),
        (None, Some(sym)) => {
            let i = symbols.iter().position(|s| s == sym).ok_or_else(|| {
                inv(
                    "data.benchmark_symbol",
                    format!("`{sym}` is not one of the symbols"),
                )
            })?;
            Some(batch.row(crate::batch::Field::Close, i).to_vec())
        }
        (None, None) => None,
    };
    if let Some(b) = bench {
        batch = batch.with_benchmark(b).map_err(|e| match e {
            crate::SignalsError::Invalid { rule, .. } => inv("data.benchmark", rule),
            other => other.into(),
        })?;
    }
    Ok(Loaded {
        batch,
        symbols,
        source,
    })
}

type Columns = (Vec<String>, [Vec<f64>; 5], bool, bool, String);

fn cap(n_symbols: usize, n_bars: usize, field: &str) -> Result<(), ToolError> {
    if n_symbols > MAX_SYMBOLS {
        return Err(ToolError::invalid(
            field,
            format!("{n_symbols} symbols; at most {MAX_SYMBOLS}"),
        ));
    }
    let cells = n_symbols.saturating_mul(n_bars);
    if cells > MAX_CELLS {
        return Err(ToolError::invalid(
            field,
            format!(
                "{n_symbols} symbols x {n_bars} bars = {cells} symbol-bars; at most {MAX_CELLS} a call"
            ),
        ));
    }
    Ok(())
}

fn inline(series: &[SeriesInput]) -> Result<Columns, ToolError> {
    let first = series
        .first()
        .ok_or_else(|| inv("data.series", "needs at least one symbol"))?;
    let n_bars = first.close.len();
    cap(series.len(), n_bars, "data.series")?;
    if n_bars == 0 {
        return Err(inv("data.series[0].close", "needs at least one bar"));
    }
    let has_ohlc = first.high.is_some() || first.low.is_some() || first.open.is_some();
    let has_volume = first.volume.is_some();
    let mut cols: [Vec<f64>; 5] = Default::default();
    for c in cols.iter_mut() {
        c.reserve(series.len() * n_bars);
    }
    let mut symbols = Vec::with_capacity(series.len());
    for (i, s) in series.iter().enumerate() {
        if symbols.contains(&s.symbol) {
            return Err(inv(
                format!("data.series[{i}].symbol"),
                format!("`{}` appears twice", s.symbol),
            ));
        }
        symbols.push(s.symbol.clone());
        let field = |name: &str| format!("data.series[{i}].{name}");
        let check = |name: &str, v: &Vec<f64>| -> Result<(), ToolError> {
            if v.len() != n_bars {
                return Err(inv(
                    field(name),
                    format!(
                        "has {} values; the first symbol's close has {n_bars}",
                        v.len()
                    ),
                ));
            }
            if let Some(j) = v.iter().position(|x| !x.is_finite()) {
                return Err(inv(field(name), format!("bar {j} is not a finite number")));
            }
            Ok(())
        };
        check("close", &s.close)?;
        cols[3].extend_from_slice(&s.close);
        for (k, name, v) in [
            (0, "open", &s.open),
            (1, "high", &s.high),
            (2, "low", &s.low),
        ] {
            match v {
                Some(v) if has_ohlc => {
                    check(name, v)?;
                    cols[k].extend_from_slice(v);
                }
                None if !has_ohlc => cols[k].extend_from_slice(&s.close),
                None if k == 0 => cols[k].extend_from_slice(&s.close),
                _ => {
                    return Err(inv(
                        field(name),
                        "give high and low for every symbol or for none",
                    ));
                }
            }
        }
        match (&s.volume, has_volume) {
            (Some(v), true) => {
                check("volume", v)?;
                cols[4].extend_from_slice(v);
            }
            (None, false) => cols[4].extend(std::iter::repeat_n(0.0, n_bars)),
            _ => {
                return Err(inv(
                    field("volume"),
                    "give volume for every symbol or for none",
                ));
            }
        }
    }
    Ok((symbols, cols, has_ohlc, has_volume, "inline".into()))
}

async fn synthetic(syn: &SyntheticInput) -> Result<Columns, ToolError> {
    if syn.symbols.is_empty() {
        return Err(inv("data.synthetic.symbols", "needs at least one symbol"));
    }
    let bars = syn.bars.unwrap_or(252);
    if !(2..=100_000).contains(&bars) {
        return Err(inv("data.synthetic.bars", "must be 2-100000"));
    }
    cap(syn.symbols.len(), bars, "data.synthetic")?;
    let seed = syn.seed.unwrap_or(42);
    let provider = SyntheticProvider {
        params: SyntheticParams {
            seed,
            bars,
            ..SyntheticParams::default()
        },
    };
    let mut cols: [Vec<f64>; 5] = Default::default();
    for (i, sym) in syn.symbols.iter().enumerate() {
        if syn.symbols[..i].contains(sym) {
            return Err(inv(
                format!("data.synthetic.symbols[{i}]"),
                format!("`{sym}` appears twice"),
            ));
        }
        let s = provider
            .bars(&BarRequest {
                symbol: sym.clone(),
                ..BarRequest::default()
            })
            .await
            .map_err(|e| inv("data.synthetic", e.to_string()))?;
        for b in &s.bars {
            cols[0].push(b.open);
            cols[1].push(b.high);
            cols[2].push(b.low);
            cols[3].push(b.close);
            cols[4].push(b.volume);
        }
    }
    Ok((
        syn.symbols.clone(),
        cols,
        true,
        true,
        format!("synthetic(seed={seed}, {bars} bars, nt-quant)"),
    ))
}

/// The last `n` values (NaN as null).
pub(crate) fn tail<T: Real>(v: &[T], n: usize) -> Vec<serde_json::Value> {
    v[v.len().saturating_sub(n)..]
        .iter()
        .map(|x| {
            serde_json::Number::from_f64(x.to_f64())
                .map_or(serde_json::Value::Null, serde_json::Value::Number)
        })
        .collect()
}

fn default_last_n() -> usize {
    5
}

/// Most values (symbols x outputs x bars) a `full` answer may carry.
pub(crate) const FULL_CAP: usize = 200_000;

/// Checks `last_n`.
pub(crate) fn check_last_n(n: usize) -> Result<(), ToolError> {
    if !(1..=1000).contains(&n) {
        return Err(ToolError::invalid("last_n", "must be 1-1000"));
    }
    Ok(())
}

fn inv(field: impl Into<String>, rule: impl Into<String>) -> ToolError {
    ToolError::invalid(field, rule)
}
