//! Indicators over the bars seen so far (each looks back only).

use crate::bars::Bar;
use crate::stats::{mean, std_dev};

/// Mean of the last `n` closes (None with fewer bars).
pub fn sma(h: &[Bar], n: usize) -> Option<f64> {
    (n > 0 && h.len() >= n).then(|| mean(&closes(&h[h.len() - n..])))
}

/// Sample standard deviation of the last `n` closes.
pub fn stdev(h: &[Bar], n: usize) -> Option<f64> {
    (n > 1 && h.len() >= n).then(|| std_dev(&closes(&h[h.len() - n..])))
}

/// Average true range over the last `n` bars (Wilder's true range, simple mean).
pub fn atr(h: &[Bar], n: usize) -> Option<f64> {
    if n == 0 || h.len() < n + 1 {
        return None;
    }
    let tr: Vec<f64> = (h.len() - n..h.len())
        .map(|i| {
            let (b, prev) = (h[i], h[i - 1].close);
            (b.high - b.low)
                .max((b.high - prev).abs())
                .max((b.low - prev).abs())
        })
        .collect();
    Some(mean(&tr))
}

/// Highest high of the `n` bars before the last one.
pub fn prior_high(h: &[Bar], n: usize) -> Option<f64> {
    (h.len() > n && n > 0).then(|| {
        h[h.len() - 1 - n..h.len() - 1]
            .iter()
            .map(|b| b.high)
            .fold(f64::MIN, f64::max)
    })
}

/// Lowest low of the last `n` bars.
pub fn lowest_low(h: &[Bar], n: usize) -> Option<f64> {
    (h.len() >= n && n > 0).then(|| {
        h[h.len() - n..]
            .iter()
            .map(|b| b.low)
            .fold(f64::MAX, f64::min)
    })
}

/// Closing prices of bars.
pub fn closes(h: &[Bar]) -> Vec<f64> {
    h.iter().map(|b| b.close).collect()
}
