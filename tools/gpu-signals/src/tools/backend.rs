//! `signals_backend` (which backends exist and why CUDA is off when it is)
//! and `signals_benchmark` (a bounded synthetic batch on each backend).

use std::sync::Arc;

use nt_mcp_core::{NoArgs, Route, ToolCtx, ToolError, ToolOutput, route};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use super::Precision;
use super::indicators::parse_list;
use crate::GpuSignalsBundle;
use crate::backend::{Backend, BackendChoice};
use crate::batch::MAX_CELLS;
use crate::bench::{self, BenchResult, DEFAULT_INDICATORS};
use crate::cuda::DeviceReal;

pub(crate) fn routes() -> Vec<Route<GpuSignalsBundle>> {
    vec![
        route(
            "signals_backend",
            "Which backends can compute signals: the CPU (threads) and CUDA (device name, memory, compute capability, NVRTC version), or why CUDA is unavailable; and what backend \"auto\" picks.",
            backend,
        ),
        route(
            "signals_benchmark",
            "Benchmark indicator throughput on a seeded synthetic batch (bounded: at most 20,000,000 symbol-bars): nominal GB/s (each input and output value once) and symbol-bars/s on the CPU and, when available, CUDA, where it also measures device-to-device copy bandwidth and reports the kernels' share of it, and checks CUDA against the CPU.",
            benchmark,
        )
        .cpu_heavy(),
    ]
}

async fn backend(
    b: Arc<GpuSignalsBundle>,
    _input: NoArgs,
    _ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    let threads = rayon::current_num_threads();
    let (cuda, text) = match b.engine.cuda() {
        Ok(e) => (
            json!({"available": true, "device": e.info}),
            format!(
                "cpu ({threads} threads) and cuda ({}, {:.1} GiB, compute {}, NVRTC {}); auto uses cuda",
                e.info.name,
                e.info.total_memory as f64 / (1u64 << 30) as f64,
                e.info.compute_capability,
                e.info.nvrtc_version
            ),
        ),
        Err(why) => (
            json!({"available": false, "reason": why}),
            format!("cpu ({threads} threads) only; CUDA unavailable: {why}; auto uses cpu"),
        ),
    };
    let auto = b.engine.resolve(BackendChoice::Auto)?;
    Ok(ToolOutput::new(
        text,
        json!({
            "backends": if cuda["available"] == true { json!(["cpu", "cuda"]) } else { json!(["cpu"]) },
            "auto": auto, "cpu": {"threads": threads}, "cuda": cuda,
        }),
    ))
}

fn default_symbols() -> usize {
    1000
}
fn default_bars() -> usize {
    1000
}
fn default_reps() -> usize {
    3
}

/// Input of `signals_benchmark`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct BenchmarkInput {
    /// Symbols (1-20000, default 1000).
    #[serde(default = "default_symbols")]
    pub symbols: usize,
    /// Bars per symbol (2-20000, default 1000); symbols x bars at most 20,000,000.
    #[serde(default = "default_bars")]
    pub bars: usize,
    /// f32 (default) or f64 storage.
    pub precision: Option<Precision>,
    /// auto (default: the CPU, and CUDA when available), cpu or cuda (CUDA, checked against the CPU).
    #[serde(default)]
    pub backend: BackendChoice,
    /// Indicators to run (default sma_20, ema_20, rsi_14, macd_12_26_9, bb_20_2, atr_14, zscore_20, vol_20).
    pub indicators: Option<Vec<String>>,
    /// Runs per backend; the best counts (1-5, default 3).
    #[serde(default = "default_reps")]
    pub reps: usize,
    /// Seed of the synthetic batch (default 7).
    pub seed: Option<u64>,
}

async fn benchmark(
    b: Arc<GpuSignalsBundle>,
    input: BenchmarkInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    if !(1..=20_000).contains(&input.symbols) {
        return Err(ToolError::invalid("symbols", "must be 1-20000"));
    }
    if !(2..=20_000).contains(&input.bars) {
        return Err(ToolError::invalid("bars", "must be 2-20000"));
    }
    if input.symbols * input.bars > MAX_CELLS {
        return Err(ToolError::invalid(
            "bars",
            format!(
                "{} x {} = {} symbol-bars; at most {MAX_CELLS}",
                input.symbols,
                input.bars,
                input.symbols * input.bars
            ),
        ));
    }
    if !(1..=5).contains(&input.reps) {
        return Err(ToolError::invalid("reps", "must be 1-5"));
    }
    let names: Vec<String> = match &input.indicators {
        Some(v) => v.clone(),
        None => DEFAULT_INDICATORS.iter().map(|s| s.to_string()).collect(),
    };
    let inds = parse_list("indicators", &names)?;
    match input.precision.unwrap_or(Precision::F32) {
        Precision::F32 => bench_run::<f32>(&b, &input, &inds, &ctx).await,
        Precision::F64 => bench_run::<f64>(&b, &input, &inds, &ctx).await,
    }
}

async fn bench_run<T: DeviceReal>(
    b: &GpuSignalsBundle,
    input: &BenchmarkInput,
    inds: &[crate::indicators::Indicator],
    ctx: &ToolCtx,
) -> Result<ToolOutput, ToolError> {
    let batch = bench::synthetic::<T>(input.symbols, input.bars, input.seed.unwrap_or(7));
    let cuda_ok = b.engine.cuda().is_ok();
    if input.backend == BackendChoice::Cuda && !cuda_ok {
        b.engine.resolve(BackendChoice::Cuda)?;
    }
    let mut results: Vec<BenchResult> = Vec::new();
    ctx.progress.report(0.0, Some(2.0), "cpu").await;
    ctx.check_cancelled()?;
    let cpu_reps = if input.backend == BackendChoice::Cuda {
        1
    } else {
        input.reps
    };
    let (cpu, cpu_vals) = bench::run(&b.engine, &batch, inds, Backend::Cpu, cpu_reps)?;
    if input.backend != BackendChoice::Cuda {
        results.push(cpu.clone());
    }
    let mut cuda_part = json!({"ran": false, "reason": b.engine.cuda().err()});
    if cuda_ok && input.backend != BackendChoice::Cpu {
        ctx.progress.report(1.0, Some(2.0), "cuda").await;
        ctx.check_cancelled()?;
        let (g, g_vals) = bench::run(&b.engine, &batch, inds, Backend::Cuda, input.reps)?;
        let eng = b
            .engine
            .cuda()
            .map_err(crate::SignalsError::CudaUnavailable)?;
        let copy = eng.copy_bandwidth(512 << 20, 10)?;
        let (diff, at) = bench::max_rel_diff(&g_vals, &cpu_vals);
        let ratio = g.kernel_gb_per_s.map(|k| k / copy);
        cuda_part = json!({
            "ran": true, "device": eng.info.name, "copy_gb_per_s": copy,
            "kernel_share_of_copy_bandwidth": ratio,
            "max_rel_diff_vs_cpu": diff, "worst_at": at,
        });
        results.push(g);
    }
    let text = results
        .iter()
        .map(|r| {
            format!(
                "{}: {:.2} GB/s, {:.3e} symbol-bars/s ({:.1} ms){}",
                r.backend.name(),
                r.gb_per_s,
                r.bars_per_s,
                r.seconds * 1e3,
                r.kernel_gb_per_s
                    .map(|k| format!(", kernels {k:.1} GB/s"))
                    .unwrap_or_default()
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    let text = format!(
        "{} symbols x {} bars, {}, {} indicator(s): {text}{}",
        input.symbols,
        input.bars,
        T::NAME,
        inds.len(),
        match (
            cuda_part["copy_gb_per_s"].as_f64(),
            cuda_part["kernel_share_of_copy_bandwidth"].as_f64()
        ) {
            (Some(c), Some(r)) => format!(
                "; device copy {c:.1} GB/s, kernels at {:.0}% of it",
                r * 100.0
            ),
            _ => String::new(),
        }
    );
    Ok(ToolOutput::new(
        text,
        json!({"results": results, "cuda": cuda_part, "bytes_counted": "each input value read and each output value written once"}),
    ))
}
