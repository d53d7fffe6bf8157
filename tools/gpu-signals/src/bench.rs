//! Synthetic batches and the throughput benchmark behind `signals_benchmark`
//! and the `gpu-signals-bench` binary.
//!
//! Throughput is counted in *nominal bytes*: each input value an indicator
//! reads and each output value it writes, once ([`crate::backend::nominal_bytes`]).
//! On CUDA the kernel time alone gives the figure compared with the
//! device-to-device copy bandwidth (which also counts bytes read plus bytes
//! written), so the ratio says how close the kernels come to the memory
//! system's limit; the wall time with transfers and transposes is reported
//! beside it.

use nt_quant::rng::Rng;
use rayon::prelude::*;
use serde::Serialize;

use crate::backend::{Backend, BackendChoice, Engine, nominal_bytes};
use crate::batch::{Batch, Real};
use crate::cuda::{DeviceReal, Timings};
use crate::error::Result;
use crate::indicators::{Indicator, IndicatorValues};

/// The indicators the benchmark runs by default.
pub const DEFAULT_INDICATORS: &[&str] = &[
    "sma_20",
    "ema_20",
    "rsi_14",
    "macd_12_26_9",
    "bb_20_2",
    "atr_14",
    "zscore_20",
    "vol_20",
];

/// One indicator of every kind, at common parameters: what the bench binary
/// runs with `--indicators all` and the CUDA equality test checks.
pub const ALL_INDICATORS: &[&str] = &[
    "sma_20",
    "ema_20",
    "wma_20",
    "rsi_14",
    "macd_12_26_9",
    "bb_20_2",
    "atr_14",
    "stoch_14_3_3",
    "zscore_20",
    "vol_20_252",
    "vwap",
    "vwap_20",
    "obv",
    "corr_20",
];

/// A seeded random-walk OHLCV batch (every symbol its own stream), with a
/// benchmark series.
pub fn synthetic<T: Real>(n_symbols: usize, n_bars: usize, seed: u64) -> Batch<T> {
    let cells = n_symbols * n_bars;
    let mut cols: Vec<Vec<T>> = (0..5).map(|_| vec![T::default(); cells]).collect();
    {
        let [o, h, l, c, v] = &mut cols[..] else {
            unreachable!("five columns")
        };
        o.par_chunks_mut(n_bars)
            .zip(h.par_chunks_mut(n_bars))
            .zip(l.par_chunks_mut(n_bars))
            .zip(c.par_chunks_mut(n_bars))
            .zip(v.par_chunks_mut(n_bars))
            .enumerate()
            .for_each(|(s, ((((o, h), l), c), v))| {
                let mut rng = Rng::new(seed ^ (s as u64).wrapping_mul(0xA24B_AED4_963E_E407));
                let mut price = 20.0 + 180.0 * rng.unit();
                let vol = 0.005 + 0.02 * rng.unit();
                for t in 0..n_bars {
                    let open = price;
                    price *= (vol * rng.normal()).exp();
                    let range = price * vol * rng.unit();
                    o[t] = T::from_f64(open);
                    c[t] = T::from_f64(price);
                    h[t] = T::from_f64(open.max(price) + range);
                    l[t] = T::from_f64(open.min(price) - range);
                    v[t] = T::from_f64((1e5 + 9e5 * rng.unit()).round());
                }
            });
    }
    let mut rng = Rng::new(seed.rotate_left(17) ^ 0xBE7C);
    let mut p = 1000.0;
    let bench: Vec<T> = (0..n_bars)
        .map(|_| {
            p *= (0.01 * rng.normal()).exp();
            T::from_f64(p)
        })
        .collect();
    let mut it = cols.into_iter();
    let (o, h, l, c, v) = (
        it.next().unwrap_or_default(),
        it.next().unwrap_or_default(),
        it.next().unwrap_or_default(),
        it.next().unwrap_or_default(),
        it.next().unwrap_or_default(),
    );
    Batch {
        n_symbols,
        n_bars,
        open: o,
        high: h,
        low: l,
        close: c,
        volume: v,
        benchmark: Some(bench),
        has_ohlc: true,
        has_volume: true,
    }
}

/// One backend's benchmark figures.
#[derive(Debug, Clone, Serialize)]
pub struct BenchResult {
    /// `cpu` or `cuda`.
    pub backend: Backend,
    /// `f32` or `f64`.
    pub precision: &'static str,
    /// Symbols.
    pub symbols: usize,
    /// Bars per symbol.
    pub bars: usize,
    /// The indicators run.
    pub indicators: Vec<String>,
    /// Best wall time of the runs, seconds (CUDA: with transfers).
    pub seconds: f64,
    /// Nominal bytes read and written.
    pub bytes: usize,
    /// Nominal GB/s over the wall time.
    pub gb_per_s: f64,
    /// Symbol-bars a second, over all indicators.
    pub bars_per_s: f64,
    /// CUDA only: phase times of the best run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cuda_timings: Option<Timings>,
    /// CUDA only: nominal GB/s over the kernel time alone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kernel_gb_per_s: Option<f64>,
}

/// Runs `inds` over `batch` on `backend` `reps` times; the best run's
/// figures, and the last run's values (to compare backends).
pub fn run<T: DeviceReal>(
    engine: &Engine,
    batch: &Batch<T>,
    inds: &[Indicator],
    backend: Backend,
    reps: usize,
) -> Result<(BenchResult, Vec<IndicatorValues<T>>)> {
    let choice = match backend {
        Backend::Cpu => BackendChoice::Cpu,
        Backend::Cuda => BackendChoice::Cuda,
    };
    let bytes: usize = inds.iter().map(|i| nominal_bytes(batch, i)).sum();
    let mut best: Option<(f64, Option<Timings>)> = None;
    let mut last = Vec::new();
    for _ in 0..reps.max(1) {
        let c = engine.compute(batch, inds, choice, "indicators")?;
        if best.as_ref().is_none_or(|(s, _)| c.seconds < *s) {
            best = Some((c.seconds, c.cuda_timings));
        }
        last = c.values;
    }
    let (seconds, timings) = best.unwrap_or((f64::NAN, None));
    Ok((
        BenchResult {
            backend,
            precision: T::NAME,
            symbols: batch.n_symbols,
            bars: batch.n_bars,
            indicators: inds.iter().map(Indicator::name).collect(),
            seconds,
            bytes,
            gb_per_s: bytes as f64 / seconds / 1e9,
            bars_per_s: (batch.cells() * inds.len()) as f64 / seconds,
            kernel_gb_per_s: timings.map(|t| bytes as f64 / t.kernels_s / 1e9),
            cuda_timings: timings,
        },
        last,
    ))
}

/// The largest relative difference between two sets of values, and where
/// (`indicator`, symbol, bar). NaN must be NaN on both sides (else the
/// difference is infinite); two zeros are equal.
pub fn max_rel_diff<T: Real>(
    a: &[IndicatorValues<T>],
    b: &[IndicatorValues<T>],
) -> (f64, Option<(String, usize, usize)>) {
    let mut worst = (0.0, None);
    for (x, y) in a.iter().zip(b) {
        for (i, (p, q)) in x.data.iter().zip(&y.data).enumerate() {
            let (p, q) = (p.to_f64(), q.to_f64());
            let d = if p.is_nan() || q.is_nan() {
                if p.is_nan() && q.is_nan() {
                    0.0
                } else {
                    f64::INFINITY
                }
            } else if p == q {
                0.0
            } else {
                (p - q).abs() / p.abs().max(q.abs())
            };
            if d > worst.0 {
                let k = x.indicator.outputs().len();
                let (sym, bar) = (i / (k * x.n_bars), i % x.n_bars);
                worst = (d, Some((x.indicator.name(), sym, bar)));
            }
        }
    }
    worst
}
