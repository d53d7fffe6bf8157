//! Where and in what precision a model runs: [`DeviceChoice`] (`auto`,
//! `cpu`, `cuda`) and [`Precision`] (`f32`, `bf16`).
//!
//! CUDA needs the crate's `cuda` feature (candle's CUDA backend, which needs
//! nvcc at build time); without it `cuda` is refused and `auto` is the CPU.
//! bf16 is mixed precision: f32 master weights, the forward and backward
//! passes in bf16 (matrix products on the CPU widen to f32 inside candle),
//! the loss reduced in f32.

use candle_core::{DType, Device};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::{NeuralError, Result};

/// The device a call asks for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DeviceChoice {
    /// CUDA when this build has it and a GPU answers, else the CPU.
    #[default]
    Auto,
    /// The CPU.
    Cpu,
    /// CUDA device 0 (refused when the build has no CUDA).
    Cuda,
}

/// Whether this build carries candle's CUDA backend.
pub const CUDA_BUILT: bool = cfg!(feature = "cuda");

impl DeviceChoice {
    /// The candle device, and its name for answers (`cpu`, `cuda:0`).
    pub fn resolve(self) -> Result<(Device, &'static str)> {
        match self {
            DeviceChoice::Cpu => Ok((Device::Cpu, "cpu")),
            DeviceChoice::Auto => {
                if CUDA_BUILT && let Ok(d) = Device::new_cuda(0) {
                    return Ok((d, "cuda:0"));
                }
                Ok((Device::Cpu, "cpu"))
            }
            DeviceChoice::Cuda => {
                if !CUDA_BUILT {
                    return Err(NeuralError::Unsupported(
                        "device `cuda`: this build has no CUDA (nt-neural was built without its `cuda` feature, which needs nvcc)".into(),
                    ));
                }
                Device::new_cuda(0).map(|d| (d, "cuda:0")).map_err(|e| {
                    NeuralError::Unsupported(format!("device `cuda`: no CUDA device answered: {e}"))
                })
            }
        }
    }
}

/// The numeric precision of the forward (and backward) pass.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// 32-bit floats throughout.
    #[default]
    F32,
    /// bfloat16 compute over f32 master weights (mixed precision).
    Bf16,
}

impl Precision {
    /// Name as stored and shown (`f32`, `bf16`).
    pub fn as_str(self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::Bf16 => "bf16",
        }
    }

    /// The candle dtype.
    pub fn dtype(self) -> DType {
        match self {
            Precision::F32 => DType::F32,
            Precision::Bf16 => DType::BF16,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuda_is_refused_without_the_feature_and_auto_falls_back() {
        let (_, name) = DeviceChoice::Auto.resolve().unwrap();
        if !CUDA_BUILT {
            assert_eq!(name, "cpu");
            let err = DeviceChoice::Cuda.resolve().unwrap_err().to_string();
            assert!(err.contains("this build has no CUDA"), "{err}");
        }
        assert_eq!(DeviceChoice::Cpu.resolve().unwrap().1, "cpu");
    }
}
