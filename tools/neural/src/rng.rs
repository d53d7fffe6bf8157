//! [`Rng`]: the seeded generator behind weight initialisation and batch
//! shuffling, so a seed gives the same model on the CPU every time (candle's
//! own CPU generator cannot be seeded). It is nt-quant's SplitMix64, the one
//! the synthetic bars come from.

pub use nt_quant::rng::Rng;
