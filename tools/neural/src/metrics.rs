//! Forecast accuracy: MAE, sMAPE, MASE, and the naive and seasonal-naive
//! forecasts they are compared against.
//!
//! - MAE = mean |y - ŷ|
//! - sMAPE = 100 · mean(2 |y - ŷ| / (|y| + |ŷ|)), a term with `y = ŷ = 0`
//!   counting 0 (the M4 competition's definition, in percent)
//! - MASE = MAE / mean_t |y_t - y_(t-m)| over the in-sample (training) part,
//!   `m` = 1 (naive) or the season (Hyndman & Koehler 2006); below 1 means
//!   better than the in-sample one-step (seasonal) naive forecast.

use serde::Serialize;

/// Mean absolute error; `None` for empty or unequal inputs.
pub fn mae(actual: &[f64], forecast: &[f64]) -> Option<f64> {
    if actual.is_empty() || actual.len() != forecast.len() {
        return None;
    }
    Some(
        actual
            .iter()
            .zip(forecast)
            .map(|(a, f)| (a - f).abs())
            .sum::<f64>()
            / actual.len() as f64,
    )
}

/// Symmetric MAPE in percent (0-200).
pub fn smape(actual: &[f64], forecast: &[f64]) -> Option<f64> {
    if actual.is_empty() || actual.len() != forecast.len() {
        return None;
    }
    let sum: f64 = actual
        .iter()
        .zip(forecast)
        .map(|(a, f)| {
            let d = a.abs() + f.abs();
            if d == 0.0 {
                0.0
            } else {
                2.0 * (a - f).abs() / d
            }
        })
        .sum();
    Some(100.0 * sum / actual.len() as f64)
}

/// The MASE scale: mean |y_t - y_(t-m)| over `insample`; `None` when it has
/// `m` points or fewer or is constant at lag `m`.
pub fn mase_scale(insample: &[f64], m: usize) -> Option<f64> {
    let m = m.max(1);
    if insample.len() <= m {
        return None;
    }
    let n = insample.len() - m;
    let s = (m..insample.len())
        .map(|t| (insample[t] - insample[t - m]).abs())
        .sum::<f64>()
        / n as f64;
    (s > 0.0).then_some(s)
}

/// Mean absolute scaled error of `forecast` against `actual`, scaled by the
/// in-sample lag-`m` naive error of `insample`.
pub fn mase(actual: &[f64], forecast: &[f64], insample: &[f64], m: usize) -> Option<f64> {
    Some(mae(actual, forecast)? / mase_scale(insample, m)?)
}

/// The naive forecast from `history`: its last value, `horizon` times.
pub fn naive(history: &[f64], horizon: usize) -> Vec<f64> {
    vec![history.last().copied().unwrap_or(f64::NAN); horizon]
}

/// The seasonal-naive forecast from `history` with season `m`: step `k`
/// (0-based) repeats the value one season (or more) before it,
/// `y[n + k - m·(k div m + 1)]`. Falls back to [`naive`] when the history is
/// shorter than a season.
pub fn seasonal_naive(history: &[f64], horizon: usize, m: usize) -> Vec<f64> {
    let n = history.len();
    if m <= 1 || n < m {
        return naive(history, horizon);
    }
    (0..horizon)
        .map(|k| history[n + k - m * (k / m + 1)])
        .collect()
}

/// The three figures for one forecaster on one holdout.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Scores {
    /// Mean absolute error.
    pub mae: f64,
    /// Symmetric MAPE, percent.
    pub smape: f64,
    /// MASE (scale from the in-sample part), `null` when the scale is 0.
    pub mase: Option<f64>,
}

impl Scores {
    /// The scores of `forecast` against `actual` with the MASE scale `scale`.
    pub fn of(actual: &[f64], forecast: &[f64], scale: Option<f64>) -> Option<Self> {
        let mae = mae(actual, forecast)?;
        Some(Self {
            mae,
            smape: smape(actual, forecast)?,
            mase: scale.map(|s| mae / s),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Worked by hand:
    // actual [10, 12, 14], forecast [11, 11, 15]: errors 1, 1, 1 -> MAE 1.
    // sMAPE terms 2/21, 2/23, 2/29 -> 100/3 · (0.0952381 + 0.0869565 + 0.0689655)
    //   = 8.371 ... (0.2511601 / 3 · 100 = 8.372003).
    // In-sample [1, 3, 2, 6]: lag-1 diffs 2, 1, 4 -> scale 7/3; MASE = 3/7.
    // Lag-2 diffs |2-1|, |6-3| = 1, 3 -> scale 2; MASE = 0.5.
    #[test]
    fn worked_example() {
        let a = [10.0, 12.0, 14.0];
        let f = [11.0, 11.0, 15.0];
        assert_eq!(mae(&a, &f), Some(1.0));
        let s = smape(&a, &f).unwrap();
        let hand = 100.0 / 3.0 * (2.0 / 21.0 + 2.0 / 23.0 + 2.0 / 29.0);
        assert!((s - hand).abs() < 1e-12);
        assert!((s - 8.372_003).abs() < 1e-5, "{s}");
        let ins = [1.0, 3.0, 2.0, 6.0];
        assert!((mase(&a, &f, &ins, 1).unwrap() - 3.0 / 7.0).abs() < 1e-12);
        assert!((mase(&a, &f, &ins, 2).unwrap() - 0.5).abs() < 1e-12);
        assert_eq!(smape(&[0.0], &[0.0]), Some(0.0));
        assert_eq!(mae(&[], &[]), None);
        assert_eq!(mase_scale(&[5.0, 5.0, 5.0], 1), None);
    }

    #[test]
    fn naive_forecasts() {
        let h = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0];
        assert_eq!(naive(&h, 3), vec![7.0; 3]);
        // m = 3: the last season is 5, 6, 7; it repeats.
        assert_eq!(seasonal_naive(&h, 5, 3), vec![5.0, 6.0, 7.0, 5.0, 6.0]);
        assert_eq!(seasonal_naive(&h[..2], 2, 3), vec![2.0, 2.0]);
    }
}
