//! Neural forecasting bundle (`neural`): N-BEATS / NHITS-style MLP stacks,
//! a GRU forecaster and a momentum classifier (seed §19, §26) on candle,
//! trained as cancellable work with progress, versioned in the database
//! with safetensors weights, scored by MAE, sMAPE and MASE against naive
//! forecasts.
//!
//! - [`models`]: the architectures, hyper-parameters and forward passes
//! - [`params`]: named weights, seeded initialisation, safetensors bytes
//! - [`train`]: training, forecasting, intervals and holdout evaluation
//! - [`metrics`]: MAE, sMAPE, MASE, naive and seasonal-naive forecasts
//! - [`data`]: series sources (array, CSV, synthetic bars), scaler, windows, features
//! - [`device`]: device (`auto`/`cpu`/`cuda`) and precision (`f32`/`bf16`)
//! - [`store`]: the versioned model store
//! - [`rng`]: the seeded generator
//! - [`bundle`]: the bundle type and its settings; handlers in `tools/`

pub mod bundle;
pub mod data;
pub mod device;
pub mod error;
pub mod metrics;
pub mod models;
pub mod params;
pub mod rng;
pub mod store;
mod tools;
pub mod train;

pub use bundle::{Limits, NeuralBundle};
pub use error::NeuralError;
