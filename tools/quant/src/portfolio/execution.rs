//! Execution schedules: TWAP (equal slices) and VWAP (slices in proportion
//! to an intraday volume profile), rounded to a lot size with the remainder
//! in the last slices so the total is exact.

use serde::Serialize;

use crate::error::{QuantError, Result};

/// A typical US equity intraday volume profile over 13 half-hour buckets
/// (09:30-16:00): the U shape, heavy at the open and the close. Shares of
/// the day, summing to 1.
pub const US_EQUITY_U_SHAPE: [f64; 13] = [
    0.12, 0.09, 0.075, 0.065, 0.06, 0.055, 0.055, 0.055, 0.06, 0.065, 0.075, 0.095, 0.15,
];

/// One slice of a schedule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Slice {
    /// Slice number from 0.
    pub index: usize,
    /// Quantity to trade in it.
    pub qty: f64,
    /// Share of the order.
    pub fraction: f64,
    /// Quantity done by the end of it.
    pub cumulative: f64,
}

/// Splits `total` by `weights` into lots of `lot`, exactly.
fn split(total: f64, weights: &[f64], lot: f64) -> Result<Vec<Slice>> {
    if !(total > 0.0 && total.is_finite()) {
        return Err(QuantError::invalid("quantity", "must be positive"));
    }
    if !(lot > 0.0) {
        return Err(QuantError::invalid("lot_size", "must be positive"));
    }
    let wsum: f64 = weights.iter().sum();
    if weights.is_empty()
        || weights.len() > 10_000
        || weights.iter().any(|w| *w < 0.0)
        || !(wsum > 0.0)
    {
        return Err(QuantError::invalid(
            "volume_profile",
            "need 1-10000 non-negative values with a positive sum",
        ));
    }
    let lots = (total / lot).round();
    if (lots * lot - total).abs() > 1e-9 * total.max(1.0) {
        return Err(QuantError::invalid(
            "quantity",
            format!("{total} is not a whole number of lots of {lot}"),
        ));
    }
    // Largest-remainder apportionment of whole lots.
    let ideal: Vec<f64> = weights.iter().map(|w| lots * w / wsum).collect();
    let mut alloc: Vec<f64> = ideal.iter().map(|x| x.floor()).collect();
    let mut left = lots - alloc.iter().sum::<f64>();
    let mut order: Vec<usize> = (0..ideal.len()).collect();
    order.sort_by(|a, b| {
        (ideal[*b] - alloc[*b])
            .total_cmp(&(ideal[*a] - alloc[*a]))
            .then(a.cmp(b))
    });
    for i in order {
        if left < 0.5 {
            break;
        }
        alloc[i] += 1.0;
        left -= 1.0;
    }
    let mut cum = 0.0;
    Ok(alloc
        .into_iter()
        .enumerate()
        .map(|(index, l)| {
            let qty = l * lot;
            cum += qty;
            Slice {
                index,
                qty,
                fraction: qty / total,
                cumulative: cum,
            }
        })
        .collect())
}

/// Time-weighted: `slices` equal slices.
pub fn twap(total: f64, slices: usize, lot: f64) -> Result<Vec<Slice>> {
    if !(1..=10_000).contains(&slices) {
        return Err(QuantError::invalid("slices", "must be 1-10000"));
    }
    split(total, &vec![1.0; slices], lot)
}

/// Volume-weighted: slices in proportion to `profile` (default the US
/// equity U shape).
pub fn vwap(total: f64, profile: Option<&[f64]>, lot: f64) -> Result<Vec<Slice>> {
    split(total, profile.unwrap_or(&US_EQUITY_U_SHAPE), lot)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_add_up_exactly_in_whole_lots() {
        let t = twap(1000.0, 3, 1.0).unwrap();
        assert_eq!(
            t.iter().map(|s| s.qty).collect::<Vec<_>>(),
            vec![334.0, 333.0, 333.0]
        );
        let v = vwap(10_000.0, None, 100.0).unwrap();
        assert_eq!(v.iter().map(|s| s.qty).sum::<f64>(), 10_000.0);
        assert!(v.iter().all(|s| s.qty % 100.0 == 0.0));
        assert_eq!(v[0].qty, 1200.0); // 12% of the day
        assert_eq!(v[12].qty, 1500.0);
        let p = vwap(100.0, Some(&[1.0, 3.0]), 1.0).unwrap();
        assert_eq!((p[0].qty, p[1].qty), (25.0, 75.0));
        assert!(twap(10.5, 2, 1.0).is_err());
    }
}
