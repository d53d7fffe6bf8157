//! Portfolio weights from a covariance matrix (and expected returns):
//!
//! - minimum variance: `w = Σ⁻¹1 / 1ᵀΣ⁻¹1`;
//! - maximum Sharpe (tangency): `w = Σ⁻¹(μ - r_f) / 1ᵀΣ⁻¹(μ - r_f)` (Markowitz 1952, Tobin 1958);
//! - long-only versions by an active set: solve on the assets still in,
//!   drop the most negative weight, repeat;
//! - risk parity (equal risk contribution `w_i (Σw)_i = w'Σw / n`,
//!   Maillard, Roncalli & Teïletche 2010) by damped fixed-point iteration.

use crate::error::{QuantError, Result};
use crate::stats::covariance;

/// Sample covariance matrix of return columns (`columns[i]` is asset i).
pub fn covariance_matrix(columns: &[Vec<f64>]) -> Result<Vec<Vec<f64>>> {
    let n = columns.first().map_or(0, Vec::len);
    if columns.is_empty() || n < 3 || columns.iter().any(|c| c.len() != n) {
        return Err(QuantError::invalid(
            "returns",
            "give one return series per asset, all the same length (at least 3)",
        ));
    }
    Ok(columns
        .iter()
        .map(|a| columns.iter().map(|b| covariance(a, b)).collect())
        .collect())
}

/// Solves `A x = b` by Gaussian elimination with partial pivoting.
pub fn solve(a: &[Vec<f64>], b: &[f64]) -> Result<Vec<f64>> {
    let n = b.len();
    let mut m: Vec<Vec<f64>> = a
        .iter()
        .zip(b)
        .map(|(row, bi)| row.iter().copied().chain([*bi]).collect())
        .collect();
    for c in 0..n {
        let p = (c..n)
            .max_by(|i, j| m[*i][c].abs().total_cmp(&m[*j][c].abs()))
            .unwrap_or(c);
        if m[p][c].abs() < 1e-14 {
            return Err(QuantError::invalid(
                "covariance",
                "the covariance matrix is singular (duplicate or constant assets?)",
            ));
        }
        m.swap(c, p);
        let pivot = m[c].clone();
        for (r, row) in m.iter_mut().enumerate() {
            if r != c {
                let f = row[c] / pivot[c];
                for (x, p) in row.iter_mut().zip(&pivot).skip(c) {
                    *x -= f * p;
                }
            }
        }
    }
    Ok((0..n).map(|i| m[i][n] / m[i][i]).collect())
}

fn check_square(cov: &[Vec<f64>]) -> Result<usize> {
    let n = cov.len();
    if n == 0 || cov.iter().any(|r| r.len() != n) {
        return Err(QuantError::invalid(
            "covariance",
            "must be a non-empty square matrix",
        ));
    }
    Ok(n)
}

/// Weights ∝ Σ⁻¹ v normalised to sum 1, optionally long-only.
fn normalised_inverse(cov: &[Vec<f64>], v: &[f64], long_only: bool) -> Result<Vec<f64>> {
    let n = check_square(cov)?;
    let mut active: Vec<usize> = (0..n).collect();
    loop {
        let sub: Vec<Vec<f64>> = active
            .iter()
            .map(|i| active.iter().map(|j| cov[*i][*j]).collect())
            .collect();
        let x = solve(&sub, &active.iter().map(|i| v[*i]).collect::<Vec<_>>())?;
        let total: f64 = x.iter().sum();
        if total.abs() < 1e-14 {
            return Err(QuantError::invalid(
                "expected_returns",
                "the weights do not normalise (no asset beats the risk-free rate?)",
            ));
        }
        let w: Vec<f64> = x.iter().map(|xi| xi / total).collect();
        let worst = w
            .iter()
            .enumerate()
            .filter(|(_, x)| **x < -1e-12)
            .min_by(|a, b| a.1.total_cmp(b.1));
        match worst {
            Some((k, _)) if long_only && active.len() > 1 => {
                active.remove(k);
            }
            _ => {
                let mut full = vec![0.0; n];
                for (i, wi) in active.iter().zip(w) {
                    full[*i] = wi;
                }
                return Ok(full);
            }
        }
    }
}

/// Minimum-variance weights.
pub fn min_variance(cov: &[Vec<f64>], long_only: bool) -> Result<Vec<f64>> {
    let n = check_square(cov)?;
    normalised_inverse(cov, &vec![1.0; n], long_only)
}

/// Maximum-Sharpe (tangency) weights for expected returns `mu` and risk-free `rf`.
pub fn max_sharpe(cov: &[Vec<f64>], mu: &[f64], rf: f64, long_only: bool) -> Result<Vec<f64>> {
    let n = check_square(cov)?;
    if mu.len() != n {
        return Err(QuantError::invalid(
            "expected_returns",
            format!("need {n} values, one per asset"),
        ));
    }
    let excess: Vec<f64> = mu.iter().map(|m| m - rf).collect();
    if long_only && excess.iter().all(|e| *e <= 0.0) {
        return Err(QuantError::invalid(
            "expected_returns",
            "no asset is expected to beat the risk-free rate",
        ));
    }
    normalised_inverse(cov, &excess, long_only)
}

/// Each asset's share of portfolio variance, `w_i (Σw)_i / w'Σw`.
pub fn risk_contributions(cov: &[Vec<f64>], w: &[f64]) -> Vec<f64> {
    let sw: Vec<f64> = cov
        .iter()
        .map(|r| r.iter().zip(w).map(|(a, b)| a * b).sum())
        .collect();
    let var: f64 = w.iter().zip(&sw).map(|(a, b)| a * b).sum();
    w.iter().zip(&sw).map(|(a, b)| a * b / var).collect()
}

/// Equal-risk-contribution weights (long only, sum 1).
pub fn risk_parity(cov: &[Vec<f64>]) -> Result<Vec<f64>> {
    let n = check_square(cov)?;
    if (0..n).any(|i| cov[i][i] <= 0.0) {
        return Err(QuantError::invalid(
            "covariance",
            "every asset needs a positive variance",
        ));
    }
    let mut w: Vec<f64> = (0..n).map(|i| 1.0 / cov[i][i].sqrt()).collect();
    let s: f64 = w.iter().sum();
    w.iter_mut().for_each(|x| *x /= s);
    for _ in 0..10_000 {
        let sw: Vec<f64> = cov
            .iter()
            .map(|r| r.iter().zip(&w).map(|(a, b)| a * b).sum())
            .collect();
        let var: f64 = w.iter().zip(&sw).map(|(a, b)| a * b).sum();
        let mut next: Vec<f64> = sw
            .iter()
            .map(|x| (var / n as f64 / x.max(1e-300)).max(0.0))
            .collect();
        let s: f64 = next.iter().sum();
        next.iter_mut().for_each(|x| *x /= s);
        let step: f64 = next.iter().zip(&w).map(|(a, b)| (a - b).abs()).sum();
        w = w
            .iter()
            .zip(&next)
            .map(|(a, b)| 0.5 * a + 0.5 * b)
            .collect();
        if step < 1e-13 {
            break;
        }
    }
    Ok(w)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cov() -> Vec<Vec<f64>> {
        // vols 10%, 20%, 30%; correlations 0.2, 0.4, 0.5
        let s = [0.1, 0.2, 0.3];
        let rho = [[1.0, 0.2, 0.4], [0.2, 1.0, 0.5], [0.4, 0.5, 1.0]];
        (0..3)
            .map(|i| (0..3).map(|j| rho[i][j] * s[i] * s[j]).collect())
            .collect()
    }

    #[test]
    fn min_variance_satisfies_its_first_order_condition() {
        // At the minimum-variance portfolio (Σw)_i is the same for every asset.
        let c = cov();
        let w = min_variance(&c, false).unwrap();
        assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        let sw: Vec<f64> = c
            .iter()
            .map(|r| r.iter().zip(&w).map(|(a, b)| a * b).sum())
            .collect();
        assert!(sw.iter().all(|x| (x - sw[0]).abs() < 1e-12), "{sw:?}");
        // Two uncorrelated assets with variances a, b: w1 = b / (a + b).
        let w = min_variance(&[vec![0.04, 0.0], vec![0.0, 0.01]], true).unwrap();
        assert!((w[0] - 0.2).abs() < 1e-12);
    }

    #[test]
    fn tangency_matches_the_two_asset_closed_form_and_long_only_drops_losers() {
        // Uncorrelated: w_i ∝ (μ_i - rf) / σ_i²: (0.08/0.04, 0.03/0.01) = (2, 3) -> (0.4, 0.6).
        let c = vec![vec![0.04, 0.0], vec![0.0, 0.01]];
        let w = max_sharpe(&c, &[0.10, 0.05], 0.02, false).unwrap();
        assert!((w[0] - 0.4).abs() < 1e-12 && (w[1] - 0.6).abs() < 1e-12);
        let w = max_sharpe(&cov(), &[0.06, 0.01, 0.12], 0.02, true).unwrap();
        assert!(w.iter().all(|x| *x >= 0.0) && w[1] == 0.0, "{w:?}");
    }

    #[test]
    fn risk_parity_equalises_contributions_and_is_inverse_vol_when_uncorrelated() {
        let w = risk_parity(&cov()).unwrap();
        for rc in risk_contributions(&cov(), &w) {
            assert!((rc - 1.0 / 3.0).abs() < 1e-9, "{rc}");
        }
        let d = vec![vec![0.01, 0.0], vec![0.0, 0.04]];
        let w = risk_parity(&d).unwrap();
        assert!((w[0] - 2.0 / 3.0).abs() < 1e-9);
    }
}
