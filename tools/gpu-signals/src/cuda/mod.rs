//! The CUDA path: cudarc's driver API and NVRTC, both loaded at run time
//! (`dynamic-loading`), so the crate builds and its CPU path runs on a
//! machine with no CUDA driver, toolkit or nvcc.
//!
//! [`CudaEngine::open`] looks for the driver and NVRTC libraries first and
//! opens device 0; a missing library or device is an `Err` with the reason,
//! never a panic. The kernels (`kernels.cu`) are compiled with NVRTC at
//! their first use, once per storage type (`float`, `double`), for the
//! device's own architecture and with `--fmad=false`, and cached. Device
//! buffers come from a small pool keyed by type and length, so a repeated
//! call of the same shape allocates nothing.
//!
//! A batch is uploaded symbol-major, transposed on the device to time-major
//! (`x[t * S + s]`) so that a warp's loads and stores coalesce, computed one
//! thread per symbol, transposed back into the host's `[symbol][output][bar]`
//! layout and downloaded.
#![allow(unsafe_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use cudarc::driver::{
    CudaContext, CudaFunction, CudaModule, CudaSlice, CudaStream, DeviceRepr, LaunchConfig,
    PushKernelArg, ValidAsZeroBits,
};
use cudarc::nvrtc::CompileOptions;

use crate::batch::{Batch, Field, Real};
use crate::error::{Result, SignalsError};
use crate::indicators::{Indicator, IndicatorValues};

/// The kernels' CUDA C source (`REAL` is defined before it).
pub const KERNELS: &str = include_str!("kernels.cu");

/// Threads per block of the per-symbol kernels: one warp, so that even
/// 10,000 symbols spread over every multiprocessor of a large GPU.
const BLOCK: u32 = 32;

/// Pooled device buffers of one element type, by length.
pub type Buffers<T> = HashMap<usize, Vec<CudaSlice<T>>>;

/// The buffer pool: free device buffers by type and length.
#[derive(Default)]
pub struct Pool {
    f32: Buffers<f32>,
    f64: Buffers<f64>,
}

/// The bytes the pool may keep (buffers returned past it are freed).
const POOL_LIMIT: usize = 8 << 30;

/// A storage type the kernels are compiled for.
pub trait DeviceReal: Real + DeviceRepr + ValidAsZeroBits {
    /// The C type (`float`, `double`).
    const CTYPE: &'static str;
    /// This type's pooled buffers.
    fn buffers(pool: &mut Pool) -> &mut Buffers<Self>;
}

impl DeviceReal for f32 {
    const CTYPE: &'static str = "float";
    fn buffers(pool: &mut Pool) -> &mut Buffers<Self> {
        &mut pool.f32
    }
}

impl DeviceReal for f64 {
    const CTYPE: &'static str = "double";
    fn buffers(pool: &mut Pool) -> &mut Buffers<Self> {
        &mut pool.f64
    }
}

/// What the CUDA device is.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DeviceInfo {
    /// Device name.
    pub name: String,
    /// Total memory, bytes.
    pub total_memory: usize,
    /// Free memory when opened, bytes.
    pub free_memory: usize,
    /// Compute capability `major.minor`.
    pub compute_capability: String,
    /// NVRTC version `major.minor`.
    pub nvrtc_version: String,
}

/// Seconds spent in each phase of one CUDA computation.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct Timings {
    /// Host to device copies.
    pub upload_s: f64,
    /// Transposes into the time-major layout.
    pub transpose_in_s: f64,
    /// The indicator kernels.
    pub kernels_s: f64,
    /// Transposes back into the host layout.
    pub transpose_out_s: f64,
    /// Device to host copies.
    pub download_s: f64,
}

/// An opened CUDA device with its compiled modules and buffer pool.
pub struct CudaEngine {
    ctx: Arc<CudaContext>,
    stream: Arc<CudaStream>,
    /// What the device is.
    pub info: DeviceInfo,
    arch: Option<&'static str>,
    modules: Mutex<HashMap<&'static str, Arc<CudaModule>>>,
    pool: Mutex<Pool>,
    pooled_bytes: Mutex<usize>,
}

impl std::fmt::Debug for CudaEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CudaEngine")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

fn err(e: impl std::fmt::Display) -> SignalsError {
    SignalsError::Cuda(e.to_string())
}

fn arch_for(major: i32, minor: i32) -> Option<&'static str> {
    Some(match (major, minor) {
        (7, 0) => "compute_70",
        (7, 5) => "compute_75",
        (8, 0) => "compute_80",
        (8, 6) => "compute_86",
        (8, 9) => "compute_89",
        (9, 0) => "compute_90",
        (10, 0) => "compute_100",
        (12, 0) => "compute_120",
        _ => return None,
    })
}

impl CudaEngine {
    /// Opens device 0, or says why not (no driver library, no NVRTC
    /// library, no device, a failing driver call).
    pub fn open() -> std::result::Result<Self, String> {
        // SAFETY: these only try to dlopen the libraries by their usual
        // names and drop the handles; nothing is called through them.
        let (driver, nvrtc) = unsafe {
            (
                cudarc::driver::sys::is_culib_present(),
                cudarc::nvrtc::sys::is_culib_present(),
            )
        };
        if !driver {
            return Err("no CUDA driver library (libcuda.so) on this machine".into());
        }
        if !nvrtc {
            return Err("no NVRTC library (libnvrtc.so) on this machine".into());
        }
        // A driver older than the symbols cudarc expects panics inside
        // cudarc; turn that into a reason as well.
        std::panic::catch_unwind(Self::open_loaded)
            .unwrap_or_else(|_| Err("the CUDA driver library failed to load a symbol".into()))
    }

    fn open_loaded() -> std::result::Result<Self, String> {
        let count = CudaContext::device_count().map_err(|e| format!("cuInit: {e}"))?;
        if count < 1 {
            return Err("the CUDA driver sees no device".into());
        }
        let ctx = CudaContext::new(0).map_err(|e| format!("device 0: {e}"))?;
        let stream = ctx.default_stream();
        let (major, minor) = ctx.compute_capability().map_err(|e| e.to_string())?;
        let (free, total) = ctx.mem_get_info().map_err(|e| e.to_string())?;
        let (mut vmaj, mut vmin) = (0i32, 0i32);
        // SAFETY: nvrtcVersion writes two ints through the pointers, which
        // point at live locals; the library is present (checked above).
        let rc = unsafe { cudarc::nvrtc::sys::nvrtcVersion(&mut vmaj, &mut vmin) };
        let nvrtc_version = if rc == cudarc::nvrtc::sys::nvrtcResult::NVRTC_SUCCESS {
            format!("{vmaj}.{vmin}")
        } else {
            format!("unknown ({rc:?})")
        };
        Ok(Self {
            info: DeviceInfo {
                name: ctx.name().map_err(|e| e.to_string())?,
                total_memory: total,
                free_memory: free,
                compute_capability: format!("{major}.{minor}"),
                nvrtc_version,
            },
            arch: arch_for(major, minor),
            ctx,
            stream,
            modules: Mutex::new(HashMap::new()),
            pool: Mutex::new(Pool::default()),
            pooled_bytes: Mutex::new(0),
        })
    }

    /// The module for storage type `T`, compiled on first use.
    fn module<T: DeviceReal>(&self) -> Result<Arc<CudaModule>> {
        let mut m = self
            .modules
            .lock()
            .map_err(|_| err("module cache poisoned"))?;
        if let Some(module) = m.get(T::CTYPE) {
            return Ok(module.clone());
        }
        let src = format!("#define REAL {}\n{KERNELS}", T::CTYPE);
        let opts = CompileOptions {
            fmad: Some(false),
            prec_div: Some(true),
            prec_sqrt: Some(true),
            arch: self.arch,
            name: Some(format!("nt_gpu_signals_{}.cu", T::CTYPE)),
            ..Default::default()
        };
        let ptx = cudarc::nvrtc::compile_ptx_with_opts(src, opts)
            .map_err(|e| err(format!("NVRTC: {e:?}")))?;
        let module = self.ctx.load_module(ptx).map_err(err)?;
        m.insert(T::CTYPE, module.clone());
        Ok(module)
    }

    fn function<T: DeviceReal>(&self, name: &str) -> Result<CudaFunction> {
        self.module::<T>()?.load_function(name).map_err(err)
    }

    /// A device buffer of `len` elements from the pool (contents undefined).
    fn take<T: DeviceReal>(&self, len: usize) -> Result<CudaSlice<T>> {
        {
            let mut pool = self.pool.lock().map_err(|_| err("pool poisoned"))?;
            if let Some(b) = T::buffers(&mut pool).get_mut(&len).and_then(Vec::pop) {
                if let Ok(mut bytes) = self.pooled_bytes.lock() {
                    *bytes = bytes.saturating_sub(len * std::mem::size_of::<T>());
                }
                return Ok(b);
            }
        }
        self.stream.alloc_zeros::<T>(len.max(1)).map_err(err)
    }

    /// Returns a buffer to the pool (or frees it past [`POOL_LIMIT`]).
    fn give<T: DeviceReal>(&self, b: CudaSlice<T>) {
        let size = b.len() * std::mem::size_of::<T>();
        if let (Ok(mut pool), Ok(mut bytes)) = (self.pool.lock(), self.pooled_bytes.lock())
            && *bytes + size <= POOL_LIMIT
        {
            *bytes += size;
            T::buffers(&mut pool).entry(b.len()).or_default().push(b);
        }
    }

    /// Transposes `[r][c]` (from element `in_off`) into `out[c * stride + off + r]`.
    #[allow(clippy::too_many_arguments)]
    fn transpose<T: DeviceReal>(
        &self,
        f: &CudaFunction,
        input: &CudaSlice<T>,
        in_off: usize,
        out: &mut CudaSlice<T>,
        r: usize,
        c: usize,
        stride: usize,
        off: usize,
    ) -> Result<()> {
        let (ri, ci) = (r as i32, c as i32);
        let (io, st, of) = (in_off as i64, stride as i64, off as i64);
        let cfg = LaunchConfig {
            grid_dim: (c.div_ceil(32) as u32, r.div_ceil(32) as u32, 1),
            block_dim: (32, 8, 1),
            shared_mem_bytes: 0,
        };
        let mut l = self.stream.launch_builder(f);
        l.arg(input)
            .arg(out)
            .arg(&ri)
            .arg(&ci)
            .arg(&io)
            .arg(&st)
            .arg(&of);
        // SAFETY: the kernel reads `input[in_off .. in_off + r*c]` and writes
        // `out[c' * stride + off + r']` for r' < r, c' < c; the caller sizes
        // both buffers for that, and the argument types match the kernel's
        // (const REAL*, REAL*, int, int, long long, long long, long long).
        unsafe { l.launch(cfg) }.map_err(err)?;
        Ok(())
    }

    /// Computes `inds` over `batch`; also returns the time of each phase.
    pub fn compute<T: DeviceReal>(
        &self,
        batch: &Batch<T>,
        inds: &[Indicator],
    ) -> Result<(Vec<IndicatorValues<T>>, Timings)> {
        let (s, b) = (batch.n_symbols, batch.n_bars);
        let cells = s * b;
        if s > i32::MAX as usize || b > i32::MAX as usize {
            return Err(SignalsError::invalid(
                "series",
                "too many symbols or bars for CUDA",
            ));
        }
        self.ctx.bind_to_thread().map_err(err)?;
        let tr = self.function::<T>("transpose")?;
        let mut t = Timings::default();
        let sync = |t0: Instant| -> Result<f64> {
            self.stream.synchronize().map_err(err)?;
            Ok(t0.elapsed().as_secs_f64())
        };
        // Upload and transpose the fields the indicators read.
        let mut fields = vec![Field::Close];
        if inds.iter().any(Indicator::needs_ohlc) {
            fields.extend([Field::High, Field::Low]);
        }
        if inds.iter().any(Indicator::needs_volume) {
            fields.push(Field::Volume);
        }
        let mut dev: HashMap<Field, CudaSlice<T>> = HashMap::new();
        let mut staging = self.take::<T>(cells)?;
        for f in fields {
            let t0 = Instant::now();
            self.stream
                .memcpy_htod(batch.field(f), &mut staging)
                .map_err(err)?;
            t.upload_s += sync(t0)?;
            let t0 = Instant::now();
            let mut tm = self.take::<T>(cells)?;
            self.transpose(&tr, &staging, 0, &mut tm, s, b, s, 0)?;
            t.transpose_in_s += sync(t0)?;
            dev.insert(f, tm);
        }
        self.give(staging);
        let bench = match &batch.benchmark {
            Some(v) => {
                let mut d = self.take::<T>(b)?;
                self.stream.memcpy_htod(v, &mut d).map_err(err)?;
                Some(d)
            }
            None => None,
        };
        let mut results = Vec::with_capacity(inds.len());
        for ind in inds {
            let k = ind.outputs().len();
            let mut out = self.take::<T>(k * cells)?;
            let t0 = Instant::now();
            let threads = kernel_call(ind, b).threads(s, b);
            let cfg = LaunchConfig {
                grid_dim: (threads.div_ceil(BLOCK as usize) as u32, 1, 1),
                block_dim: (BLOCK, 1, 1),
                shared_mem_bytes: 0,
            };
            self.launch(ind, &dev, bench.as_ref(), &mut out, s, b, cfg)?;
            t.kernels_s += sync(t0)?;
            let t0 = Instant::now();
            let mut host_layout = self.take::<T>(k * cells)?;
            for j in 0..k {
                self.transpose(&tr, &out, j * cells, &mut host_layout, b, s, k * b, j * b)?;
            }
            t.transpose_out_s += sync(t0)?;
            let t0 = Instant::now();
            let mut data = self.stream.clone_dtoh(&host_layout).map_err(err)?;
            data.truncate(k * cells);
            t.download_s += sync(t0)?;
            self.give(out);
            self.give(host_layout);
            results.push(IndicatorValues {
                indicator: *ind,
                n_symbols: s,
                n_bars: b,
                data,
            });
        }
        for (_, d) in dev {
            self.give(d);
        }
        if let Some(d) = bench {
            self.give(d);
        }
        Ok((results, t))
    }

    #[allow(clippy::too_many_arguments)]
    fn launch<T: DeviceReal>(
        &self,
        ind: &Indicator,
        dev: &HashMap<Field, CudaSlice<T>>,
        bench: Option<&CudaSlice<T>>,
        out: &mut CudaSlice<T>,
        s: usize,
        b: usize,
        cfg: LaunchConfig,
    ) -> Result<()> {
        let field = |f: Field| {
            dev.get(&f)
                .ok_or_else(|| err(format!("{} was not uploaded", f.name())))
        };
        let (si, bi) = (s as i32, b as i32);
        let c = field(Field::Close)?;
        let KernelCall {
            name, ints, real, ..
        } = kernel_call(ind, b);
        let f = self.function::<T>(name)?;
        let mut l = self.stream.launch_builder(&f);
        // Inputs in the kernel's order.
        let (h, lo, v);
        if ind.needs_ohlc() {
            h = field(Field::High)?;
            lo = field(Field::Low)?;
            l.arg(h).arg(lo);
        }
        l.arg(c);
        if ind.needs_volume() {
            v = field(Field::Volume)?;
            if matches!(ind, Indicator::Vwap { .. } | Indicator::Obv) {
                l.arg(v);
            }
        }
        let bench_dev;
        if ind.needs_benchmark() {
            bench_dev = bench.ok_or_else(|| err("no benchmark uploaded"))?;
            l.arg(bench_dev);
        }
        l.arg(out).arg(&si).arg(&bi);
        for x in &ints {
            l.arg(x);
        }
        if let Some(r) = &real {
            l.arg(r);
        }
        // SAFETY: every input buffer holds `s * b` values (the benchmark
        // `b`), `out` holds `outputs * s * b`; each thread (one per symbol,
        // or per symbol and chunk, as `cfg` was sized from `kernel_call`)
        // indexes `[t * s + sym]` (output j at `(j * b + t) * s + sym`) for
        // t < b only, and threads past the last return at once. The arguments are pushed in the kernel's
        // parameter order with its types (REAL pointers, int S, int B, int
        // parameters, then a double where the kernel takes one).
        unsafe { l.launch(cfg) }.map_err(err)?;
        Ok(())
    }

    /// Measures device-to-device copy bandwidth: copies a buffer of about
    /// `bytes` bytes `reps` times and counts each byte read and written.
    /// Returns GB/s (1e9 bytes a second).
    pub fn copy_bandwidth(&self, bytes: usize, reps: usize) -> Result<f64> {
        self.ctx.bind_to_thread().map_err(err)?;
        let n = (bytes / 4).max(1);
        let src = self.stream.alloc_zeros::<f32>(n).map_err(err)?;
        let mut dst = self.stream.alloc_zeros::<f32>(n).map_err(err)?;
        self.stream.memcpy_dtod(&src, &mut dst).map_err(err)?;
        self.stream.synchronize().map_err(err)?;
        let t0 = Instant::now();
        for _ in 0..reps.max(1) {
            self.stream.memcpy_dtod(&src, &mut dst).map_err(err)?;
        }
        self.stream.synchronize().map_err(err)?;
        let secs = t0.elapsed().as_secs_f64();
        Ok(2.0 * (n * 4) as f64 * reps.max(1) as f64 / secs / 1e9)
    }
}

/// How one indicator's kernel is launched.
#[derive(Debug, Clone, PartialEq)]
pub struct KernelCall {
    /// The kernel's name in `kernels.cu`.
    pub name: &'static str,
    /// Its integer parameters after the pointers and `S`, `B` (the chunk
    /// length last, for chunked kernels).
    pub ints: Vec<i32>,
    /// Its double parameter, if any (after the integers).
    pub real: Option<f64>,
    /// Bars per thread for kernels run per (symbol, chunk); none for one
    /// thread per symbol.
    pub chunk: Option<usize>,
}

impl KernelCall {
    /// Threads the launch needs for `s` symbols of `b` bars.
    pub fn threads(&self, s: usize, b: usize) -> usize {
        self.chunk.map_or(s, |c| s * b.div_ceil(c))
    }
}

/// The kernel that computes `ind` over `n_bars` bars and its parameters.
pub fn kernel_call(ind: &Indicator, n_bars: usize) -> KernelCall {
    use crate::indicators::cpu::CHUNK;
    let p = |v: usize| v as i32;
    let chunked = |name, n: usize, chunk: usize, real| KernelCall {
        name,
        ints: vec![p(n), p(chunk)],
        real,
        chunk: Some(chunk),
    };
    let seq = |name, ints: Vec<i32>, real| KernelCall {
        name,
        ints,
        real,
        chunk: None,
    };
    match *ind {
        Indicator::Sma { period } => chunked("sma", period, CHUNK, None),
        Indicator::Ema { period } => seq("ema", vec![p(period)], None),
        Indicator::Wma { period } => chunked("wma", period, CHUNK, None),
        Indicator::Rsi { period } => seq("rsi", vec![p(period)], None),
        Indicator::Macd { fast, slow, signal } => {
            seq("macd", vec![p(fast), p(slow), p(signal)], None)
        }
        Indicator::Bollinger { period, k } => chunked("bollinger", period, CHUNK, Some(k)),
        Indicator::Atr { period } => seq("atr", vec![p(period)], None),
        Indicator::Stoch { k, smooth, d } => seq("stoch", vec![p(k), p(smooth), p(d)], None),
        Indicator::Zscore { period } => chunked("zscore", period, CHUNK, None),
        Indicator::Volatility { period, per_year } => chunked(
            "volatility",
            period,
            CHUNK,
            Some(per_year.map_or(1.0, |y| (y as f64).sqrt())),
        ),
        // Cumulative VWAP is one chunk of every bar.
        Indicator::Vwap { period } => match period {
            Some(n) => chunked("vwap", n, CHUNK, None),
            None => chunked("vwap", 0, n_bars.max(1), None),
        },
        Indicator::Obv => seq("obv", vec![], None),
        Indicator::Corr { period } => chunked("corr", period, CHUNK, None),
    }
}
