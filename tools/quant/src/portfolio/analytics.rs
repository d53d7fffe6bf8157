//! Comparing and explaining performance: an A/B test of two strategies'
//! period returns (paired t-test on the differences when the periods line
//! up, else Welch's unequal-variance t-test with Welch–Satterthwaite degrees
//! of freedom), and Brinson–Fachler attribution (Brinson & Fachler 1985):
//! allocation `(w_p - w_b)(r_b,i - R_b)`, selection `w_b (r_p,i - r_b,i)`,
//! interaction `(w_p - w_b)(r_p,i - r_b,i)`, which add up to `R_p - R_b`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::{QuantError, Result};
use crate::stats::{mean, std_dev, t_two_sided_p};

/// The A/B verdict.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AbTest {
    /// `paired` or `welch`.
    pub test: &'static str,
    /// Mean period return of A.
    pub mean_a: f64,
    /// Mean period return of B.
    pub mean_b: f64,
    /// t statistic of mean(A) - mean(B).
    pub t: f64,
    /// Degrees of freedom.
    pub df: f64,
    /// Two-sided p-value.
    pub p_value: f64,
    /// Whether p < alpha.
    pub significant: bool,
    /// The significance level used.
    pub alpha: f64,
}

/// Tests whether A's mean return differs from B's.
pub fn ab_test(a: &[f64], b: &[f64], paired: bool, alpha: f64) -> Result<AbTest> {
    if a.len() < 3 || b.len() < 3 {
        return Err(QuantError::NotEnoughData(
            "each side needs at least 3 returns".into(),
        ));
    }
    if !(0.0 < alpha && alpha < 0.5) {
        return Err(QuantError::invalid("alpha", "must be in (0, 0.5)"));
    }
    let (ma, mb) = (mean(a), mean(b));
    let (test, t, df) = if paired {
        if a.len() != b.len() {
            return Err(QuantError::invalid(
                "paired",
                "paired needs the same number of returns on both sides",
            ));
        }
        let d: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
        let se = std_dev(&d) / (d.len() as f64).sqrt();
        (
            "paired",
            if se > 0.0 { mean(&d) / se } else { 0.0 },
            (d.len() - 1) as f64,
        )
    } else {
        let (va, vb) = (
            std_dev(a).powi(2) / a.len() as f64,
            std_dev(b).powi(2) / b.len() as f64,
        );
        let se = (va + vb).sqrt();
        let df =
            (va + vb).powi(2) / (va * va / (a.len() - 1) as f64 + vb * vb / (b.len() - 1) as f64);
        (
            "welch",
            if se > 0.0 { (ma - mb) / se } else { 0.0 },
            if df.is_finite() { df } else { 1.0 },
        )
    };
    let p = t_two_sided_p(t, df);
    Ok(AbTest {
        test,
        mean_a: ma,
        mean_b: mb,
        t,
        df,
        p_value: p,
        significant: p < alpha,
        alpha,
    })
}

/// One segment (sector, asset class) of the portfolio and its benchmark.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Segment {
    /// Segment name.
    pub name: String,
    /// Portfolio weight.
    pub portfolio_weight: f64,
    /// Benchmark weight.
    pub benchmark_weight: f64,
    /// Portfolio return in the segment.
    pub portfolio_return: f64,
    /// Benchmark return in the segment.
    pub benchmark_return: f64,
}

/// A segment's attribution.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SegmentEffects {
    /// Segment name.
    pub name: String,
    /// Allocation effect.
    pub allocation: f64,
    /// Selection effect.
    pub selection: f64,
    /// Interaction effect.
    pub interaction: f64,
}

/// The attribution of the active return.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Attribution {
    /// Portfolio return.
    pub portfolio_return: f64,
    /// Benchmark return.
    pub benchmark_return: f64,
    /// Portfolio minus benchmark.
    pub active_return: f64,
    /// Sum of allocation effects.
    pub allocation: f64,
    /// Sum of selection effects.
    pub selection: f64,
    /// Sum of interaction effects.
    pub interaction: f64,
    /// By segment.
    pub segments: Vec<SegmentEffects>,
}

/// Brinson–Fachler attribution of `segments`.
pub fn brinson(segments: &[Segment]) -> Result<Attribution> {
    if segments.is_empty() {
        return Err(QuantError::invalid("segments", "give at least one segment"));
    }
    for (name, w) in [
        (
            "portfolio_weight",
            segments.iter().map(|s| s.portfolio_weight).sum::<f64>(),
        ),
        (
            "benchmark_weight",
            segments.iter().map(|s| s.benchmark_weight).sum(),
        ),
    ] {
        if (w - 1.0).abs() > 1e-6 {
            return Err(QuantError::invalid(
                format!("segments[].{name}"),
                format!("weights must sum to 1 (they sum to {w})"),
            ));
        }
    }
    let rp: f64 = segments
        .iter()
        .map(|s| s.portfolio_weight * s.portfolio_return)
        .sum();
    let rb: f64 = segments
        .iter()
        .map(|s| s.benchmark_weight * s.benchmark_return)
        .sum();
    let effects: Vec<SegmentEffects> = segments
        .iter()
        .map(|s| {
            let dw = s.portfolio_weight - s.benchmark_weight;
            SegmentEffects {
                name: s.name.clone(),
                allocation: dw * (s.benchmark_return - rb),
                selection: s.benchmark_weight * (s.portfolio_return - s.benchmark_return),
                interaction: dw * (s.portfolio_return - s.benchmark_return),
            }
        })
        .collect();
    Ok(Attribution {
        portfolio_return: rp,
        benchmark_return: rb,
        active_return: rp - rb,
        allocation: effects.iter().map(|e| e.allocation).sum(),
        selection: effects.iter().map(|e| e.selection).sum(),
        interaction: effects.iter().map(|e| e.interaction).sum(),
        segments: effects,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brinson_fachler_worked_example() {
        // By hand: Rp = .7*.05 + .3*.02 = .041, Rb = .6*.04 + .4*.025 = .034.
        // Allocation: .1*(.04-.034) + (-.1)*(.025-.034) = .0006 + .0009 = .0015
        // Selection: .6*.01 + .4*(-.005) = .004; interaction: .1*.01 + (-.1)*(-.005) = .0015
        let seg = |n: &str, wp, wb, rp, rb| Segment {
            name: n.into(),
            portfolio_weight: wp,
            benchmark_weight: wb,
            portfolio_return: rp,
            benchmark_return: rb,
        };
        let a = brinson(&[
            seg("equity", 0.7, 0.6, 0.05, 0.04),
            seg("bonds", 0.3, 0.4, 0.02, 0.025),
        ])
        .unwrap();
        let near = |x: f64, y: f64| (x - y).abs() < 1e-12;
        assert!(near(a.active_return, 0.007));
        assert!(
            near(a.allocation, 0.0015) && near(a.selection, 0.004) && near(a.interaction, 0.0015)
        );
        assert!(near(
            a.allocation + a.selection + a.interaction,
            a.active_return
        ));
        assert!(brinson(&[seg("x", 0.5, 1.0, 0.0, 0.0)]).is_err());
    }

    #[test]
    fn welch_and_paired_tests_match_hand_computed_statistics() {
        // a = [1,2,3,4,5] (mean 3, s² 2.5), b = [2,4,6,8,10] (mean 6, s² 10):
        // Welch t = -3 / sqrt(0.5 + 2) = -1.897367, df = 2.5² / (0.25/4 + 4/4) = 5.882353.
        let a = [1.0, 2.0, 3.0, 4.0, 5.0];
        let b = [2.0, 4.0, 6.0, 8.0, 10.0];
        let w = ab_test(&a, &b, false, 0.05).unwrap();
        assert!(
            (w.t + 1.897_366_596).abs() < 1e-8 && (w.df - 5.882_352_941).abs() < 1e-8,
            "{w:?}"
        );
        assert!(
            !w.significant && w.p_value > 0.1 && w.p_value < 0.12,
            "{}",
            w.p_value
        );
        // Paired: d = [-1..-5], mean -3, s 1.5811, t = -3 / (1.5811/sqrt 5) = -4.242641, df 4;
        // t table: t_{0.995,4} = 4.604, t_{0.99,4} = 3.747 -> 0.01 < p < 0.02.
        let p = ab_test(&a, &b, true, 0.05).unwrap();
        assert!((p.t + 4.242_640_687).abs() < 1e-8);
        assert!(
            p.significant && p.p_value > 0.01 && p.p_value < 0.02,
            "{}",
            p.p_value
        );
    }
}
