//! The indicators, by name, and their values over a whole batch.
//!
//! An indicator is written as a name with its parameters joined by `_`
//! (`sma_20`, `macd_12_26_9`, `bb_20_2.5`); an indicator with several outputs
//! is referred to per output with a dot (`macd_12_26_9.hist`, `bb_20_2.upper`).
//! [`Indicator::parse`] reads these names and [`Indicator::name`] writes the
//! canonical one.
//!
//! # Conventions (matched to TA-Lib 0.6+/0.8 and checked against it)
//!
//! Every output is NaN during its warm-up (its *lookback*: the first index
//! with a value), then a number at every later bar. All arithmetic is f64;
//! an f32 batch stores the rounded result.
//!
//! | name | outputs | first value at | rule |
//! |---|---|---|---|
//! | `sma_n` | value | n-1 | mean of the last n closes |
//! | `ema_n` | value | n-1 | seeded with the SMA of the first n closes, then `e += (x - e) * 2/(n+1)` |
//! | `wma_n` | value | n-1 | weights 1..n, the newest close weighted n |
//! | `rsi_n` | value | n | Wilder: average gain and loss over the first n changes, then `avg = (avg*(n-1) + x)/n`; `100*g/(g+l)`, 0 when both are 0 |
//! | `macd_f_s_g` | macd, signal, hist | s+g-2 | TA-Lib's MACD: the fast EMA is seeded with the SMA of the f closes ending at bar s-1 (where the slow EMA is seeded), the signal is an EMA(g) of the MACD line seeded with its first g values; all three outputs start together |
//! | `bb_n_k` | upper, mid, lower | n-1 | mid = SMA(n), bands = mid ± k * population std (ddof 0) |
//! | `atr_n` | value | n | Wilder: true range from bar 1, first ATR the mean of TR over bars 1..=n, then `(atr*(n-1) + tr)/n` |
//! | `stoch_k_s_d` | k, d | k+s+d-3 | fast %K over k bars (0 when the range is 0), slow %K = SMA(s) of it, %D = SMA(d) of slow %K; both outputs start together (TA-Lib STOCH, SMA smoothing) |
//! | `zscore_n` | value | n-1 | (close - mean)/population std over n closes; 0 when the window is flat (not in TA-Lib: pandas reference) |
//! | `vol_n` / `vol_n_p` | value | n | sample std (ddof 1) of the last n log returns, times sqrt(p) when p (periods a year) is given (pandas reference) |
//! | `vwap` / `vwap_n` | value | 0 / n-1 | Σ typical·volume / Σ volume, cumulative from bar 0 or over n bars; typical = (h+l+c)/3; NaN when the volume sum is 0 (pandas reference) |
//! | `obv` | value | 0 | TA-Lib OBV: starts at bar 0's volume, adds volume on an up close, subtracts it on a down close |
//! | `corr_n` | value | n | Pearson correlation of the last n one-bar simple returns with the benchmark's; 0 when either window is flat (pandas reference) |
//!
//! Rolling sums (SMA, WMA, Bollinger, z-score, VWAP, volatility,
//! correlation) are running sums updated by one add and one subtract a bar,
//! as TA-Lib does, restarted from the window before every 256-bar chunk
//! ([`cpu::CHUNK`]: the CUDA path runs one thread per symbol and chunk);
//! variance sums are taken relative to the symbol's first close, so f64
//! keeps about 12 significant digits over 10,000+ bars.

pub mod cpu;

use serde::Serialize;

use crate::batch::{Batch, Real};
use crate::error::{Result, SignalsError};

/// Largest period any indicator accepts.
pub const MAX_PERIOD: usize = 10_000;

/// One indicator with its parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Indicator {
    /// Simple moving average of closes.
    Sma {
        /// Window.
        period: usize,
    },
    /// Exponential moving average of closes, SMA-seeded.
    Ema {
        /// Window (k = 2/(n+1)).
        period: usize,
    },
    /// Linearly weighted moving average of closes.
    Wma {
        /// Window.
        period: usize,
    },
    /// Wilder's RSI of closes.
    Rsi {
        /// Window.
        period: usize,
    },
    /// MACD line, signal and histogram.
    Macd {
        /// Fast EMA period.
        fast: usize,
        /// Slow EMA period.
        slow: usize,
        /// Signal EMA period.
        signal: usize,
    },
    /// Bollinger bands.
    Bollinger {
        /// Window.
        period: usize,
        /// Width in standard deviations.
        k: f64,
    },
    /// Wilder's average true range.
    Atr {
        /// Window.
        period: usize,
    },
    /// Slow stochastic %K and %D.
    Stoch {
        /// Fast %K window.
        k: usize,
        /// Slow %K smoothing.
        smooth: usize,
        /// %D smoothing.
        d: usize,
    },
    /// Rolling z-score of closes.
    Zscore {
        /// Window.
        period: usize,
    },
    /// Rolling volatility of log returns.
    Volatility {
        /// Returns in the window.
        period: usize,
        /// Periods a year to annualise with (none: per bar).
        per_year: Option<usize>,
    },
    /// Volume-weighted average price.
    Vwap {
        /// Window (none: cumulative).
        period: Option<usize>,
    },
    /// On-balance volume.
    Obv,
    /// Rolling correlation of returns with the benchmark.
    Corr {
        /// Returns in the window.
        period: usize,
    },
}

/// The symbols with more than one output name them.
const MACD_OUT: &[&str] = &["macd", "signal", "hist"];
const BB_OUT: &[&str] = &["upper", "mid", "lower"];
const STOCH_OUT: &[&str] = &["k", "d"];
const ONE_OUT: &[&str] = &["value"];

fn fmt_k(k: f64) -> String {
    if k.fract() == 0.0 {
        format!("{}", k as i64)
    } else {
        format!("{k}")
    }
}

impl Indicator {
    /// The canonical name (`macd_12_26_9`).
    pub fn name(&self) -> String {
        match *self {
            Indicator::Sma { period } => format!("sma_{period}"),
            Indicator::Ema { period } => format!("ema_{period}"),
            Indicator::Wma { period } => format!("wma_{period}"),
            Indicator::Rsi { period } => format!("rsi_{period}"),
            Indicator::Macd { fast, slow, signal } => format!("macd_{fast}_{slow}_{signal}"),
            Indicator::Bollinger { period, k } => format!("bb_{period}_{}", fmt_k(k)),
            Indicator::Atr { period } => format!("atr_{period}"),
            Indicator::Stoch { k, smooth, d } => format!("stoch_{k}_{smooth}_{d}"),
            Indicator::Zscore { period } => format!("zscore_{period}"),
            Indicator::Volatility { period, per_year } => match per_year {
                Some(p) => format!("vol_{period}_{p}"),
                None => format!("vol_{period}"),
            },
            Indicator::Vwap { period } => match period {
                Some(p) => format!("vwap_{p}"),
                None => "vwap".into(),
            },
            Indicator::Obv => "obv".into(),
            Indicator::Corr { period } => format!("corr_{period}"),
        }
    }

    /// Its outputs' names (`["value"]` for single-output indicators).
    pub fn outputs(&self) -> &'static [&'static str] {
        match self {
            Indicator::Macd { .. } => MACD_OUT,
            Indicator::Bollinger { .. } => BB_OUT,
            Indicator::Stoch { .. } => STOCH_OUT,
            _ => ONE_OUT,
        }
    }

    /// The first bar with a value (the warm-up length).
    pub fn lookback(&self) -> usize {
        match *self {
            Indicator::Sma { period }
            | Indicator::Ema { period }
            | Indicator::Wma { period }
            | Indicator::Bollinger { period, .. }
            | Indicator::Zscore { period } => period - 1,
            Indicator::Rsi { period }
            | Indicator::Atr { period }
            | Indicator::Volatility { period, .. }
            | Indicator::Corr { period } => period,
            Indicator::Macd { slow, signal, .. } => slow + signal - 2,
            Indicator::Stoch { k, smooth, d } => k + smooth + d - 3,
            Indicator::Vwap { period } => period.map_or(0, |p| p - 1),
            Indicator::Obv => 0,
        }
    }

    /// Whether it reads highs and lows.
    pub fn needs_ohlc(&self) -> bool {
        matches!(
            self,
            Indicator::Atr { .. } | Indicator::Stoch { .. } | Indicator::Vwap { .. }
        )
    }

    /// Whether it reads volumes.
    pub fn needs_volume(&self) -> bool {
        matches!(self, Indicator::Vwap { .. } | Indicator::Obv)
    }

    /// Whether it reads the benchmark.
    pub fn needs_benchmark(&self) -> bool {
        matches!(self, Indicator::Corr { .. })
    }

    /// Reads a name such as `rsi_14`, `macd_12_26_9`, `bb_20_2.5`, `vwap`.
    /// Parameters left out take TA-Lib's defaults (rsi/atr 14, macd 12/26/9,
    /// bb 20/2, stoch 5/3/3, sma/ema/wma 30, corr 30, zscore/vol 20).
    pub fn parse(field: &str, text: &str) -> Result<Self> {
        let bad = |rule: String| SignalsError::invalid(field, rule);
        let t = text.trim().to_ascii_lowercase();
        let mut parts = t.split('_');
        let kind = parts.next().unwrap_or_default();
        let raw: Vec<&str> = parts.collect();
        let int = |i: usize, default: usize| -> Result<usize> {
            match raw.get(i) {
                None => Ok(default),
                Some(s) => s
                    .parse::<usize>()
                    .map_err(|_| bad(format!("`{text}`: parameter `{s}` must be a whole number"))),
            }
        };
        let max_params = |n: usize| -> Result<()> {
            if raw.len() > n {
                Err(bad(format!(
                    "`{text}`: {kind} takes at most {n} parameters"
                )))
            } else {
                Ok(())
            }
        };
        let ind = match kind {
            "sma" | "ema" | "wma" | "rsi" | "atr" | "zscore" | "corr" => {
                max_params(1)?;
                let default = match kind {
                    "rsi" | "atr" => 14,
                    "zscore" => 20,
                    _ => 30,
                };
                let period = int(0, default)?;
                match kind {
                    "sma" => Indicator::Sma { period },
                    "ema" => Indicator::Ema { period },
                    "wma" => Indicator::Wma { period },
                    "rsi" => Indicator::Rsi { period },
                    "atr" => Indicator::Atr { period },
                    "zscore" => Indicator::Zscore { period },
                    _ => Indicator::Corr { period },
                }
            }
            "macd" => {
                max_params(3)?;
                Indicator::Macd {
                    fast: int(0, 12)?,
                    slow: int(1, 26)?,
                    signal: int(2, 9)?,
                }
            }
            "bb" | "bbands" | "bollinger" => {
                max_params(2)?;
                let k = match raw.get(1) {
                    None => 2.0,
                    Some(s) => s
                        .parse::<f64>()
                        .ok()
                        .filter(|k| k.is_finite() && *k > 0.0 && *k <= 10.0)
                        .ok_or_else(|| bad(format!("`{text}`: width `{s}` must be in (0, 10]")))?,
                };
                Indicator::Bollinger {
                    period: int(0, 20)?,
                    k,
                }
            }
            "stoch" => {
                max_params(3)?;
                Indicator::Stoch {
                    k: int(0, 5)?,
                    smooth: int(1, 3)?,
                    d: int(2, 3)?,
                }
            }
            "vol" | "volatility" => {
                max_params(2)?;
                Indicator::Volatility {
                    period: int(0, 20)?,
                    per_year: raw.get(1).map(|_| int(1, 0)).transpose()?,
                }
            }
            "vwap" => {
                max_params(1)?;
                Indicator::Vwap {
                    period: raw.first().map(|_| int(0, 0)).transpose()?,
                }
            }
            "obv" => {
                max_params(0)?;
                Indicator::Obv
            }
            _ => {
                return Err(bad(format!(
                    "`{text}` is not an indicator (known: sma, ema, wma, rsi, macd, bb, atr, stoch, zscore, vol, vwap, obv, corr; e.g. rsi_14, macd_12_26_9, bb_20_2)"
                )));
            }
        };
        ind.check(field)?;
        Ok(ind)
    }

    /// Checks the parameters (every window at least 1, at most
    /// [`MAX_PERIOD`]; volatility and correlation windows at least 2).
    pub fn check(&self, field: &str) -> Result<()> {
        let windows: Vec<(&str, usize, usize)> = match *self {
            Indicator::Sma { period }
            | Indicator::Ema { period }
            | Indicator::Wma { period }
            | Indicator::Rsi { period }
            | Indicator::Atr { period }
            | Indicator::Bollinger { period, .. }
            | Indicator::Zscore { period } => vec![("period", period, 1)],
            Indicator::Volatility { period, per_year } => {
                vec![
                    ("period", period, 2),
                    ("per_year", per_year.unwrap_or(1), 1),
                ]
            }
            Indicator::Corr { period } => vec![("period", period, 2)],
            Indicator::Macd { fast, slow, signal } => {
                if fast >= slow {
                    return Err(SignalsError::invalid(
                        field,
                        format!("{}: the fast period must be below the slow", self.name()),
                    ));
                }
                vec![("fast", fast, 1), ("slow", slow, 2), ("signal", signal, 1)]
            }
            Indicator::Stoch { k, smooth, d } => {
                vec![("k", k, 1), ("smooth", smooth, 1), ("d", d, 1)]
            }
            Indicator::Vwap { period } => vec![("period", period.unwrap_or(1), 1)],
            Indicator::Obv => vec![],
        };
        for (what, v, min) in windows {
            if v < min || v > MAX_PERIOD {
                return Err(SignalsError::invalid(
                    field,
                    format!(
                        "{}: {what} is {v}; it must be {min} to {MAX_PERIOD}",
                        self.name()
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Checks that `batch` has what this indicator reads.
    pub fn check_inputs<T: Real>(&self, field: &str, batch: &Batch<T>) -> Result<()> {
        let name = self.name();
        if self.needs_ohlc() && !batch.has_ohlc {
            return Err(SignalsError::invalid(
                field,
                format!("{name} needs high and low for every symbol"),
            ));
        }
        if self.needs_volume() && !batch.has_volume {
            return Err(SignalsError::invalid(
                field,
                format!("{name} needs volume for every symbol"),
            ));
        }
        if self.needs_benchmark() && batch.benchmark.is_none() {
            return Err(SignalsError::invalid(
                field,
                format!("{name} needs a benchmark series"),
            ));
        }
        Ok(())
    }
}

/// One indicator's values over a batch, laid out `[symbol][output][bar]`.
#[derive(Debug, Clone, PartialEq)]
pub struct IndicatorValues<T: Real> {
    /// The indicator.
    pub indicator: Indicator,
    /// Number of symbols.
    pub n_symbols: usize,
    /// Bars per symbol.
    pub n_bars: usize,
    /// `n_symbols * outputs * n_bars` values.
    pub data: Vec<T>,
}

impl<T: Real> IndicatorValues<T> {
    /// Output `output` (an index into [`Indicator::outputs`]) of symbol `s`.
    pub fn series(&self, output: usize, s: usize) -> &[T] {
        let k = self.indicator.outputs().len();
        let start = (s * k + output) * self.n_bars;
        &self.data[start..start + self.n_bars]
    }

    /// The index of the output called `name` (`None` for a single output).
    pub fn output_index(&self, name: Option<&str>) -> Option<usize> {
        let outs = self.indicator.outputs();
        match name {
            None if outs.len() == 1 => Some(0),
            None => None,
            Some(n) => outs.iter().position(|o| *o == n),
        }
    }
}

/// A reference to one series per symbol: an input field or one output of an
/// indicator (`close`, `rsi_14`, `macd_12_26_9.hist`).
#[derive(Debug, Clone, PartialEq)]
pub enum SeriesRef {
    /// An input field.
    Field(crate::batch::Field),
    /// An indicator output.
    Output {
        /// The indicator.
        indicator: Indicator,
        /// The output's index into [`Indicator::outputs`].
        output: usize,
    },
}

impl SeriesRef {
    /// Parses `close`, `rsi_14`, `bb_20_2.upper`; a multi-output indicator
    /// needs its output named.
    pub fn parse(field: &str, text: &str) -> Result<Self> {
        use crate::batch::Field;
        let t = text.trim().to_ascii_lowercase();
        let f = match t.as_str() {
            "open" => Some(Field::Open),
            "high" => Some(Field::High),
            "low" => Some(Field::Low),
            "close" => Some(Field::Close),
            "volume" => Some(Field::Volume),
            _ => None,
        };
        if let Some(f) = f {
            return Ok(SeriesRef::Field(f));
        }
        let (name, out) = match t.rsplit_once('.') {
            // `bb_20_2.5` has a dot in its width: only a known output name splits.
            Some((n, o)) if o.chars().all(|c| c.is_ascii_alphabetic()) => (n, Some(o)),
            _ => (t.as_str(), None),
        };
        let indicator = Indicator::parse(field, name)?;
        let outs = indicator.outputs();
        let output = match out {
            None if outs.len() == 1 => 0,
            None => {
                return Err(SignalsError::invalid(
                    field,
                    format!(
                        "`{text}` has several outputs; name one: {}",
                        outs.iter()
                            .map(|o| format!("{}.{o}", indicator.name()))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
            Some(o) => outs.iter().position(|x| *x == o).ok_or_else(|| {
                SignalsError::invalid(
                    field,
                    format!(
                        "`{text}`: {} has outputs {}",
                        indicator.name(),
                        outs.join(", ")
                    ),
                )
            })?,
        };
        Ok(SeriesRef::Output { indicator, output })
    }

    /// The canonical name.
    pub fn name(&self) -> String {
        match self {
            SeriesRef::Field(f) => f.name().into(),
            SeriesRef::Output { indicator, output } => {
                let outs = indicator.outputs();
                if outs.len() == 1 {
                    indicator.name()
                } else {
                    format!("{}.{}", indicator.name(), outs[*output])
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_bad_names_are_refused() {
        for n in [
            "sma_20",
            "ema_5",
            "wma_10",
            "rsi_14",
            "macd_12_26_9",
            "bb_20_2",
            "bb_20_2.5",
            "atr_14",
            "stoch_14_3_3",
            "zscore_20",
            "vol_20",
            "vol_20_252",
            "vwap",
            "vwap_20",
            "obv",
            "corr_30",
        ] {
            assert_eq!(Indicator::parse("x", n).unwrap().name(), n);
        }
        assert_eq!(
            Indicator::parse("x", "macd").unwrap().name(),
            "macd_12_26_9"
        );
        assert_eq!(Indicator::parse("x", "RSI").unwrap().name(), "rsi_14");
        for bad in [
            "sma_0",
            "ema_x",
            "foo_3",
            "macd_26_12_9",
            "vol_1",
            "sma_1_2",
            "bb_20_0",
        ] {
            let e = Indicator::parse("indicators[0]", bad).expect_err(bad);
            assert!(e.to_string().contains("indicators[0]"), "{e}");
        }
        assert_eq!(
            SeriesRef::parse("x", "bb_20_2.5.upper").unwrap().name(),
            "bb_20_2.5.upper"
        );
        assert_eq!(SeriesRef::parse("x", "close").unwrap().name(), "close");
        let e = SeriesRef::parse("x", "macd").expect_err("needs an output");
        assert!(e.to_string().contains("macd_12_26_9.hist"), "{e}");
        assert!(SeriesRef::parse("x", "macd.nope").is_err());
    }
}
