//! The model zoo: [`Architecture`] and its [`Hyper`]-parameters, and
//! [`Model`], the weights plus the forward pass of each architecture.
//!
//! - `nbeats`: N-BEATS generic stack (Oreshkin et al. 2019): blocks of a
//!   ReLU MLP with a linear backcast and forecast head each; every block
//!   sees the residual of the input left by the blocks before it and adds
//!   its forecast to the sum (doubly residual).
//! - `nhits`: NHITS-style (Challu et al. 2022): the same stack, but block
//!   `i` first average-pools its input with kernel `pool_kernels[i]` and
//!   forecasts `ceil(horizon / kernel)` coefficients that are linearly
//!   interpolated to the horizon (coarse blocks for slow patterns).
//! - `gru`: a one-layer GRU over the input window (PyTorch's gate layout),
//!   its last hidden state mapped linearly to the horizon.
//! - `momentum`: a ReLU MLP classifier over return features (seed §26):
//!   the logit of "next period's return is positive".

use candle_core::{DType, Device, Tensor};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::{NeuralError, Result};
use crate::params::Params;
use crate::rng::Rng;

/// Which network.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Architecture {
    /// N-BEATS generic stack (MLP blocks, backcast/forecast, doubly residual).
    #[default]
    Nbeats,
    /// NHITS-style stack (pooling + interpolated forecasts).
    Nhits,
    /// GRU over the input window.
    Gru,
    /// Momentum classifier: P(next return > 0) from return features.
    Momentum,
}

impl Architecture {
    /// Name as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Architecture::Nbeats => "nbeats",
            Architecture::Nhits => "nhits",
            Architecture::Gru => "gru",
            Architecture::Momentum => "momentum",
        }
    }

    /// Whether the model forecasts values (else it classifies direction).
    pub fn is_forecaster(self) -> bool {
        self != Architecture::Momentum
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "nbeats" => Architecture::Nbeats,
            "nhits" => Architecture::Nhits,
            "gru" => Architecture::Gru,
            "momentum" => Architecture::Momentum,
            _ => return None,
        })
    }
}

/// Hyper-parameters (every field has a default).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Hyper {
    /// Input window length (past values a forecast sees). Default 24.
    pub input_size: usize,
    /// Forecast horizon (steps ahead). Default 12.
    pub horizon: usize,
    /// Hidden width of every MLP layer / of the GRU state. Default 64.
    pub hidden: usize,
    /// MLP layers per block (N-BEATS/NHITS) or in the classifier. Default 2.
    pub layers: usize,
    /// Blocks in the N-BEATS/NHITS stack. Default 3.
    pub blocks: usize,
    /// NHITS pooling kernel of each block (cycled). Default [4, 2, 1].
    pub pool_kernels: Vec<usize>,
    /// Passes over the training windows. Default 100.
    pub epochs: usize,
    /// Windows per optimiser step. Default 32.
    pub batch_size: usize,
    /// AdamW learning rate. Default 0.001.
    pub learning_rate: f64,
    /// AdamW weight decay. Default 0.0001.
    pub weight_decay: f64,
    /// Seed of weight initialisation and batch order. Default 42.
    pub seed: u64,
    /// Share of the (time-ordered, last) training windows kept for
    /// validation; their residuals give the prediction intervals. Default 0.2.
    pub val_fraction: f64,
    /// Points at the end of the series held out for evaluation (never
    /// trained on). Default: the horizon (forecasters) or 20% of the samples
    /// (momentum).
    pub holdout: Option<usize>,
    /// Season length for the seasonal-naive baseline and seasonal MASE.
    pub season: Option<usize>,
    /// Momentum: lagged returns used as features. Default 5.
    pub lags: usize,
    /// Forecasters: shift each input window and its targets by the
    /// window's last value, so the network forecasts changes from it (lets
    /// trends leave the training range). Default true.
    pub level_shift: bool,
}

impl Default for Hyper {
    fn default() -> Self {
        Self {
            input_size: 24,
            horizon: 12,
            hidden: 64,
            layers: 2,
            blocks: 3,
            pool_kernels: vec![4, 2, 1],
            epochs: 100,
            batch_size: 32,
            learning_rate: 1e-3,
            weight_decay: 1e-4,
            seed: 42,
            val_fraction: 0.2,
            holdout: None,
            season: None,
            lags: 5,
            level_shift: true,
        }
    }
}

/// Weights plus the forward pass of one architecture.
#[derive(Debug, Clone)]
pub struct Model {
    /// The network.
    pub arch: Architecture,
    /// Its hyper-parameters.
    pub hyper: Hyper,
    /// Width of one input row (the window, or the feature count).
    pub input_width: usize,
    /// The weights.
    pub params: Params,
}

fn nhits_kernel(h: &Hyper, block: usize) -> usize {
    let k = h.pool_kernels[block % h.pool_kernels.len()];
    k.clamp(1, h.input_size.max(1))
}

fn nhits_coefs(h: &Hyper, block: usize) -> usize {
    h.horizon.div_ceil(nhits_kernel(h, block)).max(1)
}

/// Average pooling with kernel `k` as an `[n, ceil(n/k)]` matrix.
fn pool_matrix(n: usize, k: usize, device: &Device, dt: DType) -> Result<Tensor> {
    let m = n.div_ceil(k);
    let mut data = vec![0f32; n * m];
    for j in 0..m {
        let lo = j * k;
        let hi = (lo + k).min(n);
        for i in lo..hi {
            data[i * m + j] = 1.0 / (hi - lo) as f32;
        }
    }
    Ok(Tensor::from_vec(data, (n, m), device)?.to_dtype(dt)?)
}

/// Linear interpolation of `c` coefficients (evenly spread over the
/// horizon) to `h` steps, as a `[c, h]` matrix.
fn interp_matrix(c: usize, h: usize, device: &Device, dt: DType) -> Result<Tensor> {
    let mut data = vec![0f32; c * h];
    for k in 0..h {
        if c == 1 || h == 1 {
            data[k] = 1.0;
            continue;
        }
        let pos = k as f64 * (c - 1) as f64 / (h - 1) as f64;
        let lo = (pos.floor() as usize).min(c - 1);
        let hi = (lo + 1).min(c - 1);
        let w = (pos - lo as f64) as f32;
        data[lo * h + k] += 1.0 - w;
        if hi != lo {
            data[hi * h + k] += w;
        }
    }
    Ok(Tensor::from_vec(data, (c, h), device)?.to_dtype(dt)?)
}

fn sigmoid(x: &Tensor) -> Result<Tensor> {
    // σ(x) = (tanh(x/2) + 1) / 2: differentiable in every dtype.
    Ok((((x * 0.5)?.tanh()? + 1.0)? * 0.5)?)
}

impl Model {
    /// A freshly initialised model (weights from `hyper.seed`).
    pub fn init(
        arch: Architecture,
        hyper: &Hyper,
        input_width: usize,
        device: &Device,
    ) -> Result<Self> {
        let mut rng = Rng::new(hyper.seed);
        let mut p = Params::new(device);
        let h = hyper;
        match arch {
            Architecture::Nbeats | Architecture::Nhits => {
                for b in 0..h.blocks {
                    let inp = if arch == Architecture::Nhits {
                        h.input_size.div_ceil(nhits_kernel(h, b))
                    } else {
                        h.input_size
                    };
                    for l in 0..h.layers {
                        let i = if l == 0 { inp } else { h.hidden };
                        p.linear(&mut rng, &format!("b{b}.fc{l}"), i, h.hidden)?;
                    }
                    p.linear(&mut rng, &format!("b{b}.back"), h.hidden, h.input_size)?;
                    let out = if arch == Architecture::Nhits {
                        nhits_coefs(h, b)
                    } else {
                        h.horizon
                    };
                    p.linear(&mut rng, &format!("b{b}.fore"), h.hidden, out)?;
                }
            }
            Architecture::Gru => {
                let bound = 1.0 / (h.hidden as f64).sqrt();
                let g = 3 * h.hidden;
                p.uniform(&mut rng, "gru.wih", &[1, g], bound)?;
                p.uniform(&mut rng, "gru.whh", &[h.hidden, g], bound)?;
                p.uniform(&mut rng, "gru.bih", &[g], bound)?;
                p.uniform(&mut rng, "gru.bhh", &[g], bound)?;
                p.linear(&mut rng, "out", h.hidden, h.horizon)?;
            }
            Architecture::Momentum => {
                for l in 0..h.layers {
                    let i = if l == 0 { input_width } else { h.hidden };
                    p.linear(&mut rng, &format!("fc{l}"), i, h.hidden)?;
                }
                let last = if h.layers == 0 { input_width } else { h.hidden };
                p.linear(&mut rng, "out", last, 1)?;
            }
        }
        Ok(Self {
            arch,
            hyper: hyper.clone(),
            input_width,
            params: p,
        })
    }

    /// Width of one output row: the horizon, or 1 (a logit).
    pub fn output_width(&self) -> usize {
        if self.arch.is_forecaster() {
            self.hyper.horizon
        } else {
            1
        }
    }

    /// The forward pass over `x` (`[batch, input_width]`, scaled), in
    /// `x`'s dtype: `[batch, horizon]` forecasts (scaled) or `[batch, 1]` logits.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (_, w) = x.dims2()?;
        if w != self.input_width {
            return Err(NeuralError::invalid(
                "series",
                format!(
                    "input rows have {w} values, the model takes {}",
                    self.input_width
                ),
            ));
        }
        let p = &self.params;
        let h = &self.hyper;
        let dt = x.dtype();
        let dev = x.device();
        match self.arch {
            Architecture::Nbeats | Architecture::Nhits => {
                let mut residual = x.clone();
                let mut forecast: Option<Tensor> = None;
                for b in 0..h.blocks {
                    let mut z = if self.arch == Architecture::Nhits {
                        let k = nhits_kernel(h, b);
                        residual.matmul(&pool_matrix(h.input_size, k, dev, dt)?)?
                    } else {
                        residual.clone()
                    };
                    for l in 0..h.layers {
                        z = p.apply_linear(&format!("b{b}.fc{l}"), &z)?.relu()?;
                    }
                    let back = p.apply_linear(&format!("b{b}.back"), &z)?;
                    let mut fore = p.apply_linear(&format!("b{b}.fore"), &z)?;
                    if self.arch == Architecture::Nhits {
                        let c = nhits_coefs(h, b);
                        fore = fore.matmul(&interp_matrix(c, h.horizon, dev, dt)?)?;
                    }
                    residual = (residual - back)?;
                    forecast = Some(match forecast {
                        None => fore,
                        Some(f) => (f + fore)?,
                    });
                }
                forecast.ok_or_else(|| NeuralError::invalid("hyper.blocks", "must be at least 1"))
            }
            Architecture::Gru => {
                let hid = h.hidden;
                let wih = p.get("gru.wih", dt)?;
                let whh = p.get("gru.whh", dt)?;
                let bih = p.get("gru.bih", dt)?;
                let bhh = p.get("gru.bhh", dt)?;
                let batch = x.dim(0)?;
                let mut state = Tensor::zeros((batch, hid), dt, dev)?;
                for t in 0..w {
                    let xt = x.narrow(1, t, 1)?;
                    let gi = xt.matmul(&wih)?.broadcast_add(&bih)?;
                    let gh = state.matmul(&whh)?.broadcast_add(&bhh)?;
                    let r = sigmoid(&(gi.narrow(1, 0, hid)? + gh.narrow(1, 0, hid)?)?)?;
                    let zg = sigmoid(&(gi.narrow(1, hid, hid)? + gh.narrow(1, hid, hid)?)?)?;
                    let n = (gi.narrow(1, 2 * hid, hid)? + (r * gh.narrow(1, 2 * hid, hid)?)?)?
                        .tanh()?;
                    // h' = (1 - z) · n + z · h
                    state = ((n.clone() - (&zg * &n)?)? + (&zg * &state)?)?;
                }
                p.apply_linear("out", &state)
            }
            Architecture::Momentum => {
                let mut z = x.clone();
                for l in 0..h.layers {
                    z = p.apply_linear(&format!("fc{l}"), &z)?.relu()?;
                }
                p.apply_linear("out", &z)
            }
        }
    }
}

/// Scalar weights `arch` with `h` would have (for limits, before allocating;
/// momentum counts its feature width as `lags + 3`).
pub fn param_count(arch: Architecture, h: &Hyper) -> usize {
    let lin = |i: usize, o: usize| i * o + o;
    match arch {
        Architecture::Nbeats | Architecture::Nhits => (0..h.blocks.max(1))
            .map(|b| {
                let (inp, out) = if arch == Architecture::Nhits && !h.pool_kernels.is_empty() {
                    let k = h.pool_kernels[b % h.pool_kernels.len()].clamp(1, h.input_size.max(1));
                    (h.input_size.div_ceil(k), h.horizon.div_ceil(k).max(1))
                } else {
                    (h.input_size, h.horizon)
                };
                let mlp: usize = (0..h.layers)
                    .map(|l| lin(if l == 0 { inp } else { h.hidden }, h.hidden))
                    .sum();
                mlp + lin(h.hidden, h.input_size) + lin(h.hidden, out)
            })
            .sum(),
        Architecture::Gru => 3 * h.hidden * (1 + h.hidden + 2) + lin(h.hidden, h.horizon),
        Architecture::Momentum => {
            let w = h.lags + 3;
            let mlp: usize = (0..h.layers)
                .map(|l| lin(if l == 0 { w } else { h.hidden }, h.hidden))
                .sum();
            mlp + lin(if h.layers == 0 { w } else { h.hidden }, 1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pooling_and_interpolation_matrices() {
        let d = Device::Cpu;
        let p = pool_matrix(5, 2, &d, DType::F32).unwrap();
        let x = Tensor::new(&[[1f32, 3., 5., 7., 9.]], &d).unwrap();
        let y: Vec<Vec<f32>> = x.matmul(&p).unwrap().to_vec2().unwrap();
        assert_eq!(y, vec![vec![2.0, 6.0, 9.0]]);
        let i = interp_matrix(3, 5, &d, DType::F32).unwrap();
        let c = Tensor::new(&[[0f32, 10., 20.]], &d).unwrap();
        let y: Vec<Vec<f32>> = c.matmul(&i).unwrap().to_vec2().unwrap();
        assert_eq!(y, vec![vec![0.0, 5.0, 10.0, 15.0, 20.0]]);
    }

    #[test]
    fn every_architecture_has_the_right_output_shape() {
        let h = Hyper {
            input_size: 8,
            horizon: 3,
            hidden: 4,
            ..Hyper::default()
        };
        for arch in [
            Architecture::Nbeats,
            Architecture::Nhits,
            Architecture::Gru,
            Architecture::Momentum,
        ] {
            let m = Model::init(arch, &h, 8, &Device::Cpu).unwrap();
            let x = Tensor::zeros((2, 8), DType::F32, &Device::Cpu).unwrap();
            let y = m.forward(&x).unwrap();
            assert_eq!(y.dims(), &[2, m.output_width()], "{arch:?}");
            let width = if arch == Architecture::Momentum {
                h.lags + 3
            } else {
                8
            };
            let counted = Model::init(arch, &h, width, &Device::Cpu).unwrap();
            assert_eq!(counted.params.count(), param_count(arch, &h), "{arch:?}");
            let y16 = m.forward(&x.to_dtype(DType::BF16).unwrap()).unwrap();
            assert_eq!(y16.dtype(), DType::BF16);
        }
    }
}
