//! Value at Risk and expected shortfall (CVaR) of a return series, as
//! positive loss fractions over one period (scaled by √h for an h-period
//! horizon in the parametric and Monte Carlo methods; historical VaR uses
//! overlapping h-period compounded returns when h > 1).
//!
//! - historical: `VaR = -q_{1-c}(r)` with NumPy's linear quantile, `CVaR` the
//!   mean loss of returns at or below `-VaR`;
//! - parametric (normal): `VaR = -(μ + σ z_{1-c})`, `CVaR = -(μ - σ φ(z_{1-c}) / (1-c))`
//!   (Jorion, *Value at Risk*, 3rd ed., ch. 5; McNeil, Frey, Embrechts 2005, ex. 2.14);
//! - Monte Carlo: draws from the fitted normal with a seed, then the
//!   historical estimators on the draws.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::{QuantError, Result};
use crate::rng::Rng;
use crate::stats::{mean, norm_pdf, norm_ppf, quantile_sorted, std_dev};

/// How VaR is estimated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum VarMethod {
    /// Empirical quantile of the returns.
    Historical,
    /// Normal distribution with the sample mean and deviation.
    Parametric,
    /// Simulated normal draws (seeded).
    MonteCarlo,
}

/// A VaR estimate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct VarEstimate {
    /// Method used.
    pub method: VarMethod,
    /// Confidence (0.99).
    pub confidence: f64,
    /// Horizon in periods.
    pub horizon: usize,
    /// Value at Risk as a positive loss fraction.
    pub var: f64,
    /// Expected shortfall beyond VaR, positive loss fraction.
    pub cvar: f64,
    /// Observations (or simulations) behind the estimate.
    pub samples: usize,
}

/// Historical VaR and CVaR of losses in `xs` at `confidence`.
fn empirical(xs: &mut [f64], confidence: f64) -> (f64, f64) {
    xs.sort_by(f64::total_cmp);
    let q = quantile_sorted(xs, 1.0 - confidence);
    let tail: Vec<f64> = xs.iter().copied().take_while(|r| *r <= q).collect();
    let cvar = if tail.is_empty() { -q } else { -mean(&tail) };
    (-q, cvar)
}

/// VaR and CVaR of `returns` at `confidence` over `horizon` periods.
pub fn value_at_risk(
    returns: &[f64],
    confidence: f64,
    horizon: usize,
    method: VarMethod,
    simulations: usize,
    seed: u64,
) -> Result<VarEstimate> {
    if !(0.5..1.0).contains(&confidence) {
        return Err(QuantError::invalid(
            "confidence",
            "must be in [0.5, 1), e.g. 0.95 or 0.99",
        ));
    }
    if !(1..=250).contains(&horizon) {
        return Err(QuantError::invalid("horizon", "must be 1-250 periods"));
    }
    if returns.len() < 10 {
        return Err(QuantError::NotEnoughData(format!(
            "{} returns; VaR needs at least 10",
            returns.len()
        )));
    }
    if returns.iter().any(|r| !r.is_finite() || *r <= -1.0) {
        return Err(QuantError::invalid(
            "returns",
            "every return must be finite and above -1",
        ));
    }
    let h = horizon as f64;
    let (mu, sigma) = (mean(returns), std_dev(returns));
    let (var, cvar, samples) = match method {
        VarMethod::Historical => {
            let mut xs: Vec<f64> = if horizon == 1 {
                returns.to_vec()
            } else {
                returns
                    .windows(horizon)
                    .map(|w| w.iter().map(|r| 1.0 + r).product::<f64>() - 1.0)
                    .collect()
            };
            if xs.len() < 10 {
                return Err(QuantError::NotEnoughData(
                    "too few overlapping horizon returns".into(),
                ));
            }
            let n = xs.len();
            let (v, c) = empirical(&mut xs, confidence);
            (v, c, n)
        }
        VarMethod::Parametric => {
            let z = norm_ppf(1.0 - confidence);
            let (m, s) = (mu * h, sigma * h.sqrt());
            (
                -(m + s * z),
                -(m - s * norm_pdf(z) / (1.0 - confidence)),
                returns.len(),
            )
        }
        VarMethod::MonteCarlo => {
            if !(1000..=5_000_000).contains(&simulations) {
                return Err(QuantError::invalid("simulations", "must be 1000-5000000"));
            }
            let mut rng = Rng::new(seed);
            let (m, s) = (mu * h, sigma * h.sqrt());
            let mut xs: Vec<f64> = (0..simulations).map(|_| m + s * rng.normal()).collect();
            let (v, c) = empirical(&mut xs, confidence);
            (v, c, simulations)
        }
    };
    Ok(VarEstimate {
        method,
        confidence,
        horizon,
        var,
        cvar,
        samples,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn historical_var_matches_a_worked_example() {
        // 20 returns -1%..-20% step 1% reversed with gains: by hand, the 5%
        // quantile with h = 19 * 0.05 = 0.95 lies between the two worst (-0.20,
        // -0.19): -0.20 + 0.95 * 0.01 = -0.1905 (numpy.quantile gives the same).
        let rs: Vec<f64> = (1..=20).map(|k| -(k as f64) / 100.0).collect();
        let v = value_at_risk(&rs, 0.95, 1, VarMethod::Historical, 0, 0).unwrap();
        assert!((v.var - 0.1905).abs() < 1e-12, "{}", v.var);
        assert!((v.cvar - 0.20).abs() < 1e-12);
    }

    #[test]
    fn parametric_var_matches_the_closed_form() {
        // Jorion's textbook case: μ = 0, σ = 1% -> 99% VaR = 2.326348%,
        // ES = σ φ(2.326348) / 0.01 = 2.665214%.
        let rs: Vec<f64> = (0..1000)
            .map(|i| if i % 2 == 0 { 0.01 } else { -0.01 })
            .collect();
        let s = std_dev(&rs);
        let v = value_at_risk(&rs, 0.99, 1, VarMethod::Parametric, 0, 0).unwrap();
        assert!((v.var - 2.326_347_874 * s).abs() < 1e-9);
        assert!((v.cvar / s - 2.665_214_220).abs() < 1e-6, "{}", v.cvar / s);
        let ten = value_at_risk(&rs, 0.99, 10, VarMethod::Parametric, 0, 0).unwrap();
        assert!((ten.var / v.var - 10f64.sqrt()).abs() < 1e-9);
    }

    #[test]
    fn on_a_normal_sample_all_three_methods_agree_within_sampling_error() {
        // 20000 draws of N(0.0005, 0.012). The closed-form 99% VaR is
        // -(μ - 2.326348 σ) = 0.027416. The standard error of an empirical
        // 1% quantile is sqrt(p(1-p)/n) / f(q) = sqrt(0.0099/20000) / (φ(2.326)/σ)
        // = 0.000703 * 0.012 / 0.026652 = 0.000317; allow four of them.
        let mut rng = Rng::new(99);
        let rs: Vec<f64> = (0..20_000).map(|_| 0.0005 + 0.012 * rng.normal()).collect();
        let closed = -(0.0005 - 2.326_347_874 * 0.012);
        let h = value_at_risk(&rs, 0.99, 1, VarMethod::Historical, 0, 0).unwrap();
        let p = value_at_risk(&rs, 0.99, 1, VarMethod::Parametric, 0, 0).unwrap();
        let m = value_at_risk(&rs, 0.99, 1, VarMethod::MonteCarlo, 200_000, 5).unwrap();
        assert!(
            (h.var - closed).abs() < 4.0 * 0.000_317,
            "hist {} vs {closed}",
            h.var
        );
        assert!((p.var - closed).abs() < 0.0005, "param {}", p.var);
        assert!(
            (m.var - p.var).abs() < 4.0 * 0.000_317 / 10f64.sqrt(),
            "mc {} vs {}",
            m.var,
            p.var
        );
        assert!(h.cvar > h.var && m.cvar > m.var);
    }

    #[test]
    fn bad_inputs_name_their_field() {
        let rs = vec![0.01; 50];
        let e = value_at_risk(&rs, 1.2, 1, VarMethod::Historical, 0, 0).unwrap_err();
        assert!(e.to_string().contains("confidence"));
        let e = value_at_risk(&rs[..3], 0.99, 1, VarMethod::Historical, 0, 0).unwrap_err();
        assert!(e.to_string().contains("at least 10"));
    }
}
