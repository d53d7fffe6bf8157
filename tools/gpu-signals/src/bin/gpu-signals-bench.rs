//! `gpu-signals-bench`: indicator throughput on the CPU and CUDA over a
//! fresh random batch, CUDA checked against the CPU, and the kernels' GB/s
//! next to the measured device-to-device copy bandwidth.
//!
//! ```text
//! gpu-signals-bench [--symbols 10000] [--bars 10000] [--precision f32|f64|both]
//!                   [--reps 3] [--indicators sma_20,ema_20,...|all] [--seed N] [--cpu-only]
//! ```
//!
//! Exits 1 when CUDA and the CPU differ by more than 1e-5 relative (f32) or
//! 1e-12 (f64), 2 on bad arguments or a failure.

use std::process::ExitCode;

use nt_gpu_signals::backend::{Backend, Engine};
use nt_gpu_signals::bench::{self, ALL_INDICATORS, BenchResult, DEFAULT_INDICATORS};
use nt_gpu_signals::cuda::DeviceReal;
use nt_gpu_signals::indicators::Indicator;

struct Args {
    symbols: usize,
    bars: usize,
    precisions: Vec<&'static str>,
    reps: usize,
    indicators: Vec<Indicator>,
    seed: u64,
    cpu_only: bool,
}

fn parse() -> Result<Args, String> {
    let mut a = Args {
        symbols: 10_000,
        bars: 10_000,
        precisions: vec!["f32", "f64"],
        reps: 3,
        indicators: Vec::new(),
        seed: 0x5eed,
        cpu_only: false,
    };
    let mut names: Vec<String> = DEFAULT_INDICATORS.iter().map(|s| s.to_string()).collect();
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut val = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        let num = |v: String| {
            v.parse::<usize>()
                .map_err(|_| format!("`{v}` is not a count"))
        };
        match flag.as_str() {
            "--symbols" => a.symbols = num(val()?)?,
            "--bars" => a.bars = num(val()?)?,
            "--reps" => a.reps = num(val()?)?.max(1),
            "--seed" => a.seed = num(val()?)? as u64,
            "--precision" => {
                a.precisions = match val()?.as_str() {
                    "f32" => vec!["f32"],
                    "f64" => vec!["f64"],
                    "both" => vec!["f32", "f64"],
                    other => return Err(format!("--precision `{other}`: f32, f64 or both")),
                }
            }
            "--indicators" => {
                let v = val()?;
                names = if v == "all" {
                    ALL_INDICATORS.iter().map(|s| s.to_string()).collect()
                } else {
                    v.split(',').map(|s| s.trim().to_string()).collect()
                };
            }
            "--cpu-only" => a.cpu_only = true,
            "-h" | "--help" => {
                return Err("usage: gpu-signals-bench [--symbols N] [--bars N] [--precision f32|f64|both] [--reps N] [--indicators a,b|all] [--seed N] [--cpu-only]".into());
            }
            other => return Err(format!("unknown argument `{other}` (try --help)")),
        }
    }
    if a.symbols == 0 || a.bars < 2 {
        return Err("--symbols must be at least 1 and --bars at least 2".into());
    }
    for n in &names {
        a.indicators
            .push(Indicator::parse("--indicators", n).map_err(|e| e.to_string())?);
    }
    Ok(a)
}

fn show(r: &BenchResult) {
    println!(
        "  {:<4} {}: {:>9.3} s  {:>8.2} GB/s  {:>10.3e} symbol-bars/s{}",
        r.backend.name(),
        r.precision,
        r.seconds,
        r.gb_per_s,
        r.bars_per_s,
        match (r.kernel_gb_per_s, r.cuda_timings) {
            (Some(k), Some(t)) => format!(
                "  | kernels {k:.1} GB/s ({:.3} s); upload {:.3} s, transpose in {:.3} s, out {:.3} s, download {:.3} s",
                t.kernels_s, t.upload_s, t.transpose_in_s, t.transpose_out_s, t.download_s
            ),
            _ => String::new(),
        }
    );
}

/// Runs one precision; Ok(false) when CUDA and the CPU disagree.
fn one<T: DeviceReal>(
    a: &Args,
    engine: &Engine,
    tol: f64,
    copy: Option<f64>,
) -> Result<bool, String> {
    let t0 = std::time::Instant::now();
    let batch = bench::synthetic::<T>(a.symbols, a.bars, a.seed);
    println!(
        "{}: {} symbols x {} bars ({:.2} GB of inputs), generated in {:.1} s",
        T::NAME,
        a.symbols,
        a.bars,
        (batch.cells() * 5 * std::mem::size_of::<T>()) as f64 / 1e9,
        t0.elapsed().as_secs_f64()
    );
    let (cpu, cpu_vals) = bench::run(engine, &batch, &a.indicators, Backend::Cpu, a.reps)
        .map_err(|e| e.to_string())?;
    show(&cpu);
    if a.cpu_only || engine.cuda().is_err() {
        return Ok(true);
    }
    let (g, g_vals) = bench::run(engine, &batch, &a.indicators, Backend::Cuda, a.reps)
        .map_err(|e| e.to_string())?;
    show(&g);
    let (diff, at) = bench::max_rel_diff(&g_vals, &cpu_vals);
    let ok = diff <= tol;
    println!(
        "  cuda vs cpu: max relative difference {diff:.3e} (limit {tol:e}){} -> {}",
        at.map(|(n, s, b)| format!(" at {n} symbol {s} bar {b}"))
            .unwrap_or_default(),
        if ok { "EQUAL" } else { "DIFFERENT" }
    );
    if let (Some(c), Some(k)) = (copy, g.kernel_gb_per_s) {
        println!(
            "  kernels at {:.1}% of device-to-device copy bandwidth ({k:.1} / {c:.1} GB/s); with transposes and transfers {:.2} GB/s",
            100.0 * k / c,
            g.gb_per_s
        );
    }
    Ok(ok)
}

fn main() -> ExitCode {
    let a = match parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let engine = if a.cpu_only {
        Engine::cpu_only()
    } else {
        Engine::default()
    };
    println!(
        "indicators: {}",
        a.indicators
            .iter()
            .map(Indicator::name)
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!("cpu: {} rayon threads", rayon::current_num_threads());
    let copy = match engine.cuda() {
        Ok(e) => {
            println!(
                "cuda: {} ({:.1} GiB, compute {}, NVRTC {})",
                e.info.name,
                e.info.total_memory as f64 / (1u64 << 30) as f64,
                e.info.compute_capability,
                e.info.nvrtc_version
            );
            match e.copy_bandwidth(1 << 30, 20) {
                Ok(c) => {
                    println!(
                        "cuda: device-to-device copy {c:.1} GB/s (1 GiB, read + write counted)"
                    );
                    Some(c)
                }
                Err(err) => {
                    eprintln!("copy bandwidth: {err}");
                    None
                }
            }
        }
        Err(why) => {
            println!("cuda: unavailable ({why}); CPU only");
            None
        }
    };
    let mut all_equal = true;
    for p in &a.precisions {
        let r = match *p {
            "f32" => one::<f32>(&a, &engine, 1e-5, copy),
            _ => one::<f64>(&a, &engine, 1e-12, copy),
        };
        match r {
            Ok(eq) => all_equal &= eq,
            Err(e) => {
                eprintln!("{p}: {e}");
                return ExitCode::from(2);
            }
        }
    }
    if all_equal {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
