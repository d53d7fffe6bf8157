//! CUDA against the CPU on fresh random data, every indicator, f32 and f64:
//! equal to 1e-5 relative (f32) and 1e-12 (f64). Runs where a CUDA device
//! and NVRTC load; elsewhere it prints that it skipped.

use nt_gpu_signals::backend::{Backend, Engine};
use nt_gpu_signals::bench;
use nt_gpu_signals::cuda::DeviceReal;
use nt_gpu_signals::indicators::Indicator;

/// Edge windows (1 and 500 bars), checked besides one of every kind.
const EDGES: &[&str] = &["sma_1", "ema_500"];

fn check<T: DeviceReal>(engine: &Engine, symbols: usize, bars: usize, seed: u64, tol: f64) {
    let inds: Vec<Indicator> = bench::ALL_INDICATORS
        .iter()
        .chain(EDGES)
        .map(|n| Indicator::parse("t", n).expect(n))
        .collect();
    let batch = bench::synthetic::<T>(symbols, bars, seed);
    let (_, cpu) = bench::run(engine, &batch, &inds, Backend::Cpu, 1).expect("cpu");
    let (_, gpu) = bench::run(engine, &batch, &inds, Backend::Cuda, 1).expect("cuda");
    let (diff, at) = bench::max_rel_diff(&gpu, &cpu);
    println!(
        "{} {symbols}x{bars}: max relative difference {diff:.3e} at {at:?}",
        T::NAME
    );
    assert!(diff <= tol, "{}: {diff:e} > {tol:e} at {at:?}", T::NAME);
}

#[test]
fn cuda_equals_cpu_on_fresh_random_data() {
    let engine = Engine::default();
    if let Err(why) = engine.cuda() {
        println!("SKIPPED: no CUDA here ({why})");
        return;
    }
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1);
    println!("seed {seed}");
    // Odd sizes: partial transpose tiles and a partial last block; a batch
    // shorter than some warm-ups; then a larger one, twice (buffer reuse).
    check::<f64>(&engine, 37, 61, seed, 1e-12);
    check::<f32>(&engine, 37, 61, seed, 1e-5);
    check::<f64>(&engine, 1, 5, seed, 1e-12);
    for _ in 0..2 {
        check::<f64>(&engine, 1000, 2000, seed ^ 1, 1e-12);
        check::<f32>(&engine, 1000, 2000, seed ^ 2, 1e-5);
    }
}

#[test]
fn forcing_cuda_without_a_device_is_a_clear_error() {
    let engine = Engine::cpu_only();
    let batch = bench::synthetic::<f64>(2, 10, 1);
    let e = engine
        .compute(
            &batch,
            &[Indicator::Sma { period: 3 }],
            nt_gpu_signals::backend::BackendChoice::Cuda,
            "i",
        )
        .expect_err("no cuda");
    assert!(e.to_string().contains("CUDA unavailable"), "{e}");
    // And auto falls back to the CPU.
    let c = engine
        .compute(
            &batch,
            &[Indicator::Sma { period: 3 }],
            nt_gpu_signals::backend::BackendChoice::Auto,
            "i",
        )
        .expect("auto");
    assert_eq!(c.backend, Backend::Cpu);
}
