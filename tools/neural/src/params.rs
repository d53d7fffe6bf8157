//! [`Params`]: a model's named weights as candle [`Var`]s, initialised from
//! the seeded [`Rng`], written to and read from safetensors bytes.
//!
//! Weights are always kept in f32 (the master copy); a bf16 forward pass
//! casts them on the fly ([`Params::get`]), so gradients flow back into the
//! f32 weights (mixed precision).

use std::collections::{BTreeMap, HashMap};

use candle_core::{DType, Device, Tensor, Var};

use crate::error::{NeuralError, Result};
use crate::rng::Rng;

/// Named trainable weights.
#[derive(Debug, Clone)]
pub struct Params {
    vars: BTreeMap<String, Var>,
    device: Device,
}

impl Params {
    /// No weights yet, on `device`.
    pub fn new(device: &Device) -> Self {
        Self {
            vars: BTreeMap::new(),
            device: device.clone(),
        }
    }

    /// The device the weights live on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Adds `name` with `shape`, uniform in `[-bound, bound]` from `rng`.
    pub fn uniform(
        &mut self,
        rng: &mut Rng,
        name: &str,
        shape: &[usize],
        bound: f64,
    ) -> Result<()> {
        let n: usize = shape.iter().product();
        let data: Vec<f32> = (0..n)
            .map(|_| ((rng.unit() * 2.0 - 1.0) * bound) as f32)
            .collect();
        let t = Tensor::from_vec(data, shape, &self.device)?;
        self.vars.insert(name.to_string(), Var::from_tensor(&t)?);
        Ok(())
    }

    /// Adds a linear layer `name` (`name.w` of `[inp, out]`, `name.b` of
    /// `[out]`) with PyTorch's default bounds (1/√inp).
    pub fn linear(&mut self, rng: &mut Rng, name: &str, inp: usize, out: usize) -> Result<()> {
        let bound = 1.0 / (inp as f64).sqrt();
        self.uniform(rng, &format!("{name}.w"), &[inp, out], bound)?;
        self.uniform(rng, &format!("{name}.b"), &[out], bound)
    }

    /// Weight `name` in `dtype` (a cast of the f32 master weight when
    /// `dtype` is not f32; the cast is differentiable).
    pub fn get(&self, name: &str, dtype: DType) -> Result<Tensor> {
        let v = self
            .vars
            .get(name)
            .ok_or_else(|| NeuralError::Corrupt(format!("missing weight `{name}`")))?;
        Ok(v.as_tensor().to_dtype(dtype)?)
    }

    /// `x · W + b` for the linear layer `name`, in `x`'s dtype.
    pub fn apply_linear(&self, name: &str, x: &Tensor) -> Result<Tensor> {
        let dt = x.dtype();
        let w = self.get(&format!("{name}.w"), dt)?;
        let b = self.get(&format!("{name}.b"), dt)?;
        Ok(x.matmul(&w)?.broadcast_add(&b)?)
    }

    /// Every weight, for the optimiser.
    pub fn vars(&self) -> Vec<Var> {
        self.vars.values().cloned().collect()
    }

    /// Number of scalar weights.
    pub fn count(&self) -> usize {
        self.vars.values().map(|v| v.elem_count()).sum()
    }

    /// The weights as safetensors bytes (tensors in name order, f32 CPU copies).
    pub fn to_safetensors(&self) -> Result<Vec<u8>> {
        let mut map: HashMap<String, Tensor> = HashMap::new();
        for (k, v) in &self.vars {
            map.insert(
                k.clone(),
                v.as_tensor()
                    .to_device(&Device::Cpu)?
                    .to_dtype(DType::F32)?,
            );
        }
        safetensors::tensor::serialize(&map, None)
            .map_err(|e| NeuralError::Corrupt(format!("safetensors write: {e}")))
    }

    /// Weights read back from safetensors bytes onto `device`.
    pub fn from_safetensors(bytes: &[u8], device: &Device) -> Result<Self> {
        let map = candle_core::safetensors::load_buffer(bytes, device)
            .map_err(|e| NeuralError::Corrupt(format!("safetensors read: {e}")))?;
        let mut vars = BTreeMap::new();
        for (k, t) in map {
            if t.dtype() != DType::F32 {
                return Err(NeuralError::Corrupt(format!(
                    "weight `{k}` is {:?}, expected f32",
                    t.dtype()
                )));
            }
            vars.insert(k, Var::from_tensor(&t)?);
        }
        Ok(Self {
            vars,
            device: device.clone(),
        })
    }
}

impl Params {
    /// Checks that these weights have exactly the names and shapes of `like`.
    pub fn check_like(&self, like: &Params) -> Result<()> {
        if self.vars.len() != like.vars.len() {
            return Err(NeuralError::Corrupt(format!(
                "{} weights stored, the architecture has {}",
                self.vars.len(),
                like.vars.len()
            )));
        }
        for (k, v) in &like.vars {
            match self.vars.get(k) {
                Some(s) if s.shape() == v.shape() => {}
                Some(s) => {
                    return Err(NeuralError::Corrupt(format!(
                        "weight `{k}` is {:?}, the architecture wants {:?}",
                        s.shape(),
                        v.shape()
                    )));
                }
                None => return Err(NeuralError::Corrupt(format!("weight `{k}` is missing"))),
            }
        }
        Ok(())
    }
}
