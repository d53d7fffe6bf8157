//! Which backend computes a batch: [`Engine`] holds the CUDA device when one
//! loads (opened once, on first need) and runs each call on the backend the
//! call asks for: `auto` (CUDA when a device loaded, else the CPU), `cpu`, or
//! `cuda` (an error naming the reason when there is no CUDA).

use std::sync::OnceLock;
use std::time::Instant;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::batch::Batch;
use crate::cuda::{CudaEngine, DeviceReal, Timings};
use crate::error::{Result, SignalsError};
use crate::indicators::{Indicator, IndicatorValues, cpu};

/// The backend a call asks for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum BackendChoice {
    /// CUDA when a device loaded, else the CPU.
    #[default]
    Auto,
    /// The CPU (rayon) path.
    Cpu,
    /// The CUDA path; an error when CUDA is unavailable.
    Cuda,
}

/// The backend that ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// The CPU.
    Cpu,
    /// CUDA.
    Cuda,
}

impl Backend {
    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Cpu => "cpu",
            Backend::Cuda => "cuda",
        }
    }
}

/// Indicator values with the backend and time that produced them.
#[derive(Debug)]
pub struct Computed<T: crate::batch::Real> {
    /// One entry per indicator asked for, in order.
    pub values: Vec<IndicatorValues<T>>,
    /// The backend that ran.
    pub backend: Backend,
    /// Wall time, seconds.
    pub seconds: f64,
    /// On CUDA, the time of each phase.
    pub cuda_timings: Option<Timings>,
}

/// The backends: the CPU always, CUDA when a device loads.
#[derive(Default)]
pub struct Engine {
    cuda: OnceLock<std::result::Result<CudaEngine, String>>,
    disabled: bool,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("disabled", &self.disabled)
            .field(
                "cuda",
                &self.cuda.get().map(|c| c.as_ref().map(|e| &e.info)),
            )
            .finish()
    }
}

impl Engine {
    /// An engine that never tries CUDA (`NT_GPU_SIGNALS_DISABLE_CUDA`).
    pub fn cpu_only() -> Self {
        Self {
            cuda: OnceLock::new(),
            disabled: true,
        }
    }

    /// The CUDA engine, opened on first call, or why there is none.
    pub fn cuda(&self) -> std::result::Result<&CudaEngine, String> {
        if self.disabled {
            return Err("CUDA is disabled by configuration (disable_cuda)".into());
        }
        self.cuda
            .get_or_init(CudaEngine::open)
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The backend `choice` resolves to.
    pub fn resolve(&self, choice: BackendChoice) -> Result<Backend> {
        match choice {
            BackendChoice::Cpu => Ok(Backend::Cpu),
            BackendChoice::Auto => Ok(if self.cuda().is_ok() {
                Backend::Cuda
            } else {
                Backend::Cpu
            }),
            BackendChoice::Cuda => self
                .cuda()
                .map(|_| Backend::Cuda)
                .map_err(SignalsError::CudaUnavailable),
        }
    }

    /// Computes `inds` over `batch` on `choice`'s backend. Checks each
    /// indicator's inputs first (`field` names the input list).
    pub fn compute<T: DeviceReal>(
        &self,
        batch: &Batch<T>,
        inds: &[Indicator],
        choice: BackendChoice,
        field: &str,
    ) -> Result<Computed<T>> {
        for (i, ind) in inds.iter().enumerate() {
            ind.check(&format!("{field}[{i}]"))?;
            ind.check_inputs(&format!("{field}[{i}]"), batch)?;
        }
        let backend = self.resolve(choice)?;
        let t0 = Instant::now();
        let (values, cuda_timings) = match backend {
            Backend::Cpu => (inds.iter().map(|i| cpu::compute(batch, i)).collect(), None),
            Backend::Cuda => {
                let eng = self.cuda().map_err(SignalsError::CudaUnavailable)?;
                let (v, t) = eng.compute(batch, inds)?;
                (v, Some(t))
            }
        };
        Ok(Computed {
            values,
            backend,
            seconds: t0.elapsed().as_secs_f64(),
            cuda_timings,
        })
    }
}

/// Bytes an indicator reads and writes over `batch` (each input and output
/// value once): the figure GB/s is computed from.
pub fn nominal_bytes<T: crate::batch::Real>(batch: &Batch<T>, ind: &Indicator) -> usize {
    let mut inputs = 1;
    if ind.needs_ohlc() {
        inputs += 2;
    }
    if ind.needs_volume() {
        inputs += 1;
    }
    (inputs + ind.outputs().len()) * batch.cells() * std::mem::size_of::<T>()
}
