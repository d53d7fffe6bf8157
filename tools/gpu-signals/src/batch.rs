//! The batch layout: many symbols x many bars, columnar and symbol-major.
//!
//! A [`Batch<T>`] holds `n_symbols * n_bars` values per field (open, high,
//! low, close, volume) in one contiguous `Vec<T>` each; symbol `s`'s bars are
//! `field[s * n_bars .. (s + 1) * n_bars]`, oldest first. `T` is `f32` or
//! `f64` ([`Real`]): the storage precision. Arithmetic is always done in
//! `f64` and rounded to `T` once, when a value is stored, so the f32 path
//! loses only the final rounding (and the CPU and CUDA paths agree).

use crate::error::{Result, SignalsError};

/// Largest `n_symbols * n_bars` a tool call accepts (the library itself has
/// no cap beyond memory; the benchmark binary goes past it on purpose).
pub const MAX_CELLS: usize = 20_000_000;

/// A storage precision: `f32` or `f64`.
pub trait Real:
    Copy + Send + Sync + Default + PartialEq + std::fmt::Debug + 'static + serde::Serialize
{
    /// Its name (`f32`, `f64`).
    const NAME: &'static str;
    /// Widens to `f64`.
    fn to_f64(self) -> f64;
    /// Rounds an `f64` to this precision.
    fn from_f64(v: f64) -> Self;
}

impl Real for f32 {
    const NAME: &'static str = "f32";
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
    fn from_f64(v: f64) -> Self {
        v as f32
    }
}

impl Real for f64 {
    const NAME: &'static str = "f64";
    fn to_f64(self) -> f64 {
        self
    }
    fn from_f64(v: f64) -> Self {
        v
    }
}

/// One OHLCV field of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    /// Opening price.
    Open,
    /// High.
    High,
    /// Low.
    Low,
    /// Closing price.
    Close,
    /// Volume.
    Volume,
}

impl Field {
    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            Field::Open => "open",
            Field::High => "high",
            Field::Low => "low",
            Field::Close => "close",
            Field::Volume => "volume",
        }
    }
}

/// Bars of many symbols, columnar and symbol-major (see the module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct Batch<T: Real> {
    /// Number of symbols.
    pub n_symbols: usize,
    /// Bars per symbol (every symbol has the same number).
    pub n_bars: usize,
    /// Opening prices, `n_symbols * n_bars`.
    pub open: Vec<T>,
    /// Highs.
    pub high: Vec<T>,
    /// Lows.
    pub low: Vec<T>,
    /// Closes.
    pub close: Vec<T>,
    /// Volumes.
    pub volume: Vec<T>,
    /// A benchmark series of `n_bars` closes (for rolling correlation).
    pub benchmark: Option<Vec<T>>,
    /// Whether highs/lows/opens were given (else they repeat the close).
    pub has_ohlc: bool,
    /// Whether volumes were given (else they are zero).
    pub has_volume: bool,
}

impl<T: Real> Batch<T> {
    /// A batch from closes only: open, high and low repeat the close and
    /// volume is zero (indicators that need them are refused).
    pub fn from_closes(n_symbols: usize, n_bars: usize, close: Vec<T>) -> Result<Self> {
        let b = Self {
            n_symbols,
            n_bars,
            open: close.clone(),
            high: close.clone(),
            low: close.clone(),
            volume: vec![T::default(); close.len()],
            close,
            benchmark: None,
            has_ohlc: false,
            has_volume: false,
        };
        b.check()?;
        Ok(b)
    }

    /// A batch from every field; checks the shape and the values.
    pub fn from_ohlcv(
        n_symbols: usize,
        n_bars: usize,
        open: Vec<T>,
        high: Vec<T>,
        low: Vec<T>,
        close: Vec<T>,
        volume: Vec<T>,
    ) -> Result<Self> {
        let b = Self {
            n_symbols,
            n_bars,
            open,
            high,
            low,
            close,
            volume,
            benchmark: None,
            has_ohlc: true,
            has_volume: true,
        };
        b.check()?;
        Ok(b)
    }

    /// Adds a benchmark series (`n_bars` values).
    pub fn with_benchmark(mut self, benchmark: Vec<T>) -> Result<Self> {
        if benchmark.len() != self.n_bars {
            return Err(SignalsError::invalid(
                "benchmark",
                format!(
                    "has {} values; every series has {} bars",
                    benchmark.len(),
                    self.n_bars
                ),
            ));
        }
        finite("benchmark", &benchmark, 1)?;
        self.benchmark = Some(benchmark);
        Ok(self)
    }

    /// `n_symbols * n_bars`.
    pub fn cells(&self) -> usize {
        self.n_symbols * self.n_bars
    }

    /// The field `f` of every symbol.
    pub fn field(&self, f: Field) -> &[T] {
        match f {
            Field::Open => &self.open,
            Field::High => &self.high,
            Field::Low => &self.low,
            Field::Close => &self.close,
            Field::Volume => &self.volume,
        }
    }

    /// Symbol `s`'s bars of field `f`.
    pub fn row(&self, f: Field, s: usize) -> &[T] {
        &self.field(f)[s * self.n_bars..(s + 1) * self.n_bars]
    }

    /// Checks the shape (every field `n_symbols * n_bars` long, at least one
    /// symbol and bar) and that every value is finite.
    pub fn check(&self) -> Result<()> {
        if self.n_symbols == 0 || self.n_bars == 0 {
            return Err(SignalsError::invalid(
                "series",
                "needs at least one symbol with at least one bar",
            ));
        }
        let cells = self
            .n_symbols
            .checked_mul(self.n_bars)
            .ok_or_else(|| SignalsError::invalid("series", "symbols x bars overflows"))?;
        for f in [
            Field::Open,
            Field::High,
            Field::Low,
            Field::Close,
            Field::Volume,
        ] {
            let v = self.field(f);
            if v.len() != cells {
                return Err(SignalsError::invalid(
                    f.name(),
                    format!(
                        "has {} values; {} symbols x {} bars needs {cells}",
                        v.len(),
                        self.n_symbols,
                        self.n_bars
                    ),
                ));
            }
            finite(f.name(), v, self.n_bars)?;
        }
        Ok(())
    }
}

/// Refuses NaN and infinities, naming the symbol index and bar.
fn finite<T: Real>(field: &str, v: &[T], n_bars: usize) -> Result<()> {
    if let Some(i) = v.iter().position(|x| !x.to_f64().is_finite()) {
        return Err(SignalsError::invalid(
            field,
            format!(
                "value at symbol {} bar {} is {:?}; every value must be a finite number",
                i / n_bars.max(1),
                i % n_bars.max(1),
                v[i]
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_and_values_are_checked() {
        let e = Batch::<f64>::from_closes(2, 3, vec![1.0; 5]).expect_err("short");
        assert!(e.to_string().contains("has 5 values"), "{e}");
        let e = Batch::<f64>::from_closes(1, 3, vec![1.0, f64::NAN, 2.0]).expect_err("nan");
        assert!(e.to_string().contains("bar 1"), "{e}");
        let b = Batch::<f32>::from_closes(2, 2, vec![1.0, 2.0, 3.0, 4.0]).unwrap();
        assert_eq!(b.row(Field::Close, 1), &[3.0, 4.0]);
        assert!(b.with_benchmark(vec![1.0]).is_err());
    }
}
