//! The CUDA kernels' arithmetic and indexing, checked without a GPU: the
//! host C++ compiler builds `fixtures/emulate_kernels.cpp` around
//! `src/cuda/kernels.cu` (one emulated thread per symbol, time-major
//! buffers, no fused multiply-add), and every indicator's output must equal
//! the Rust CPU path to 1e-12 relative (f64) / 1e-5 (f32), warm-up NaN
//! included. The kernel parameters come from `cuda::kernel_call`, the same
//! mapping the CUDA launch uses. Skipped (with a message) where no C++
//! compiler is installed; the transpose kernel is not covered here.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use nt_gpu_signals::batch::{Batch, Field, Real};
use nt_gpu_signals::bench::{self, max_rel_diff};
use nt_gpu_signals::cuda::kernel_call;
use nt_gpu_signals::indicators::{Indicator, IndicatorValues, cpu};

const ALL: &[&str] = &[
    "sma_20",
    "ema_20",
    "wma_20",
    "rsi_14",
    "macd_12_26_9",
    "bb_20_2.5",
    "atr_14",
    "stoch_14_3_3",
    "zscore_20",
    "vol_20_252",
    "vol_5",
    "vwap",
    "vwap_20",
    "obv",
    "corr_20",
    "sma_1",
    "ema_80",
    "rsi_100",
];

fn compiler() -> Option<String> {
    let cxx = std::env::var("CXX").unwrap_or_else(|_| "c++".into());
    Command::new(&cxx)
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|_| cxx)
}

fn build(cxx: &str, dir: &Path, real: &str) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/emulate_kernels.cpp");
    let exe = dir.join(format!("emulate_{real}"));
    let out = Command::new(cxx)
        .args([
            "-std=c++17",
            "-O1",
            "-ffp-contract=off",
            "-Wno-unknown-pragmas",
            &format!("-DREAL={real}"),
            "-o",
        ])
        .arg(&exe)
        .arg(&src)
        .output()
        .expect("run the C++ compiler");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    exe
}

fn time_major<T: Real>(b: &Batch<T>, f: Field) -> Vec<f64> {
    let (s, n) = (b.n_symbols, b.n_bars);
    let x = b.field(f);
    let mut out = vec![0.0; s * n];
    for sym in 0..s {
        for t in 0..n {
            out[t * s + sym] = x[sym * n + t].to_f64();
        }
    }
    out
}

fn emulate<T: Real>(exe: &Path, b: &Batch<T>, ind: &Indicator) -> IndicatorValues<T> {
    let call = kernel_call(ind, b.n_bars);
    let (name, ints, real) = (call.name, call.ints, call.real);
    let mut args: Vec<String> = vec![name.into()];
    args.extend(ints.iter().map(|i| i.to_string()));
    if let Some(r) = real {
        args.push(format!("{r:?}"));
    }
    let mut input: Vec<u8> = Vec::new();
    input.extend((b.n_symbols as i32).to_le_bytes());
    input.extend((b.n_bars as i32).to_le_bytes());
    for f in [Field::High, Field::Low, Field::Close, Field::Volume] {
        for v in time_major(b, f) {
            input.extend(v.to_le_bytes());
        }
    }
    for v in b.benchmark.as_ref().expect("benchmark") {
        input.extend(v.to_f64().to_le_bytes());
    }
    let mut child = Command::new(exe)
        .args(&args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run the emulator");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(&input)
        .expect("write");
    let out = child.wait_with_output().expect("emulator output");
    assert!(out.status.success(), "{name}");
    let vals: Vec<f64> = out
        .stdout
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")))
        .collect();
    let (s, n, k) = (b.n_symbols, b.n_bars, ind.outputs().len());
    assert_eq!(vals.len(), k * s * n, "{name}");
    // Time-major per output -> the host layout [symbol][output][bar].
    let mut data = vec![T::default(); k * s * n];
    for j in 0..k {
        for t in 0..n {
            for sym in 0..s {
                data[(sym * k + j) * n + t] = T::from_f64(vals[(j * n + t) * s + sym]);
            }
        }
    }
    IndicatorValues {
        indicator: *ind,
        n_symbols: s,
        n_bars: n,
        data,
    }
}

fn check<T: Real>(exe: &Path, symbols: usize, bars: usize, tol: f64) {
    let b = bench::synthetic::<T>(symbols, bars, 99 + symbols as u64);
    for n in ALL {
        let ind = Indicator::parse("t", n.split('.').next().unwrap_or(n)).expect(n);
        let want = cpu::compute(&b, &ind);
        let got = emulate(exe, &b, &ind);
        // A kernel that skipped a value leaves -12345 there.
        assert!(
            got.data.iter().all(|v| v.to_f64() != -12345.0),
            "{n}: unwritten output"
        );
        let (d, at) = max_rel_diff(std::slice::from_ref(&got), std::slice::from_ref(&want));
        assert!(
            d <= tol,
            "{} {symbols}x{bars} {n}: {d:e} > {tol:e} at {at:?}",
            T::NAME
        );
    }
}

#[test]
fn kernels_equal_the_cpu_path_when_emulated() {
    let Some(cxx) = compiler() else {
        println!("SKIPPED: no C++ compiler (set CXX) to emulate the kernels");
        return;
    };
    let dir = std::env::temp_dir().join(format!("nt-gpu-signals-emu-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let (f64exe, f32exe) = (build(&cxx, &dir, "double"), build(&cxx, &dir, "float"));
    // 130 symbols: two blocks of 128 threads, the second mostly idle (300
    // bars: two chunks);
    // 50 bars: shorter than some warm-ups (ema_80, rsi_100).
    check::<f64>(&f64exe, 130, 300, 1e-12);
    check::<f64>(&f64exe, 3, 50, 1e-12);
    // Rolling kernels run per 256-bar chunk: three chunks, the last partial.
    check::<f64>(&f64exe, 5, 700, 1e-12);
    check::<f32>(&f32exe, 130, 300, 1e-5);
    let _ = std::fs::remove_dir_all(&dir);
}
