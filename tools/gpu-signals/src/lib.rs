//! GPU signals bundle (`gpu_signals`): technical indicators and trading
//! signals over a batch of many symbols x many bars, on the CPU (rayon, the
//! reference) or on CUDA (cudarc with NVRTC kernels, loaded at run time).
//!
//! - [`batch`]: the columnar, symbol-major batch layout (f32 or f64)
//! - [`indicators`]: indicator names, TA-Lib warm-up conventions, the CPU path
//! - [`cuda`]: the CUDA path: NVRTC kernels, buffer pool, copy bandwidth
//! - [`backend`]: choosing the backend per call (auto, cpu, cuda)
//! - [`signals`]: crossovers, breakouts, mean reversion, composite scores,
//!   ranking, rules as data
//! - [`bench`](mod@bench): synthetic batches and the throughput benchmark
//! - [`guide`]: the conventions resource and the prompt
//! - [`bundle`]: the bundle type; handlers in `tools/`

pub mod backend;
pub mod batch;
pub mod bench;
pub mod bundle;
pub mod cuda;
pub mod error;
pub mod guide;
pub mod indicators;
pub mod signals;
mod tools;

pub use bundle::GpuSignalsBundle;
pub use error::SignalsError;
