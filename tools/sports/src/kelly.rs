//! Kelly staking: the single-bet Kelly fraction, fractional Kelly, and
//! simultaneous Kelly for several independent bets settled at the same time,
//! found by maximising the expected log growth numerically; caps and
//! minimum stakes turn fractions into stakes.
//!
//! Sources: J. L. Kelly, "A new interpretation of information rate", *Bell
//! System Technical Journal* 35 (1956); E. O. Thorp, "The Kelly criterion in
//! blackjack, sports betting and the stock market" (2006), §2 (`f* = p − q`
//! at even money) and §7 (simultaneous bets maximise
//! `E ln(1 + Σ fᵢ Xᵢ)` over the joint outcomes).

use rust_decimal::Decimal;
use serde::Serialize;

use crate::error::{Result, SportsError};
use crate::odds::cents_down;

/// Most bets `simultaneous` takes (it enumerates their 2ⁿ joint outcomes).
pub const MAX_SIMULTANEOUS: usize = 12;

/// One bet: its win probability and decimal odds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct KellyBet {
    /// Probability the bet wins, in (0, 1).
    pub p: f64,
    /// Decimal odds (> 1).
    pub decimal: f64,
}

/// The Kelly fraction of one bet: `f* = (p·d − 1)/(d − 1)` (`(bp − q)/b`
/// with `b = d − 1`), zero when the edge is not positive.
pub fn single(p: f64, decimal: f64) -> f64 {
    ((p * decimal - 1.0) / (decimal - 1.0)).max(0.0)
}

/// Expected log growth `E ln(1 + Σ fᵢ Xᵢ)` of independent bets at fractions
/// `f`, where `Xᵢ = dᵢ − 1` on a win and `−1` on a loss (−∞ when some joint
/// outcome leaves nothing).
pub fn growth(bets: &[KellyBet], f: &[f64]) -> f64 {
    let mut g = 0.0;
    for mask in 0..(1usize << bets.len()) {
        let (prob, w) = outcome(bets, f, mask);
        if prob == 0.0 {
            continue;
        }
        if w <= 0.0 {
            return f64::NEG_INFINITY;
        }
        g += prob * w.ln();
    }
    g
}

fn outcome(bets: &[KellyBet], f: &[f64], mask: usize) -> (f64, f64) {
    let mut prob = 1.0;
    let mut w = 1.0;
    for (i, b) in bets.iter().enumerate() {
        if mask & (1 << i) != 0 {
            prob *= b.p;
            w += f[i] * (b.decimal - 1.0);
        } else {
            prob *= 1.0 - b.p;
            w -= f[i];
        }
    }
    (prob, w)
}

/// `∂/∂fᵢ E ln W = E[Xᵢ / W]`.
fn slope(bets: &[KellyBet], f: &[f64], i: usize) -> f64 {
    let mut d = 0.0;
    for mask in 0..(1usize << bets.len()) {
        let (prob, w) = outcome(bets, f, mask);
        let x = if mask & (1 << i) != 0 {
            bets[i].decimal - 1.0
        } else {
            -1.0
        };
        d += prob * x / w;
    }
    d
}

/// Checks the bets: probabilities in (0, 1), odds above 1, at most
/// [`MAX_SIMULTANEOUS`].
pub fn validate(bets: &[KellyBet]) -> Result<()> {
    if bets.is_empty() || bets.len() > MAX_SIMULTANEOUS {
        return Err(SportsError::invalid(
            "bets",
            format!("give 1 to {MAX_SIMULTANEOUS} bets"),
        ));
    }
    for (i, b) in bets.iter().enumerate() {
        if !(b.p > 0.0 && b.p < 1.0) {
            return Err(SportsError::invalid(
                format!("bets[{i}].probability"),
                "must be strictly between 0 and 1",
            ));
        }
        if !(b.decimal.is_finite() && b.decimal > 1.0) {
            return Err(SportsError::invalid(
                format!("bets[{i}].odds"),
                "decimal odds must be greater than 1",
            ));
        }
    }
    Ok(())
}

/// Simultaneous Kelly: the fractions `fᵢ ≥ 0`, `Σ fᵢ < 1`, maximising
/// [`growth`] for independent bets, by cyclic coordinate ascent (the
/// objective is concave; each coordinate's optimum is the root of its
/// decreasing slope, found by bisection). `check` is called once a sweep
/// and may stop the search (cancellation).
pub fn simultaneous(bets: &[KellyBet], mut check: impl FnMut() -> Result<()>) -> Result<Vec<f64>> {
    validate(bets)?;
    let n = bets.len();
    let mut f = vec![0.0; n];
    for _sweep in 0..5000 {
        check()?;
        let mut moved: f64 = 0.0;
        for i in 0..n {
            let others: f64 = f
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(_, x)| x)
                .sum();
            let ub = (1.0 - others) * (1.0 - 1e-12);
            let mut trial = f.clone();
            trial[i] = 0.0;
            let new = if slope(bets, &trial, i) <= 0.0 {
                0.0
            } else {
                let (mut lo, mut hi) = (0.0, ub);
                for _ in 0..100 {
                    let mid = 0.5 * (lo + hi);
                    trial[i] = mid;
                    if slope(bets, &trial, i) > 0.0 {
                        lo = mid;
                    } else {
                        hi = mid;
                    }
                    if hi - lo < 1e-14 {
                        break;
                    }
                }
                0.5 * (lo + hi)
            };
            moved = moved.max((new - f[i]).abs());
            f[i] = new;
        }
        if moved < 1e-12 {
            break;
        }
    }
    Ok(f)
}

/// Limits applied to Kelly fractions before they become stakes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Sizing {
    /// Share of full Kelly to bet (0.5 = half Kelly), in (0, 1].
    pub fraction: f64,
    /// Largest share of the bankroll on one bet.
    pub max_bet_fraction: f64,
    /// Largest share of the bankroll on all bets together.
    pub max_total_fraction: f64,
    /// Stakes below this are not placed (zero).
    pub min_stake: Decimal,
}

impl Default for Sizing {
    fn default() -> Self {
        Self {
            fraction: 1.0,
            max_bet_fraction: 1.0,
            max_total_fraction: 1.0,
            min_stake: Decimal::ZERO,
        }
    }
}

/// A sized stake.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stake {
    /// Full-Kelly fraction.
    pub kelly_fraction: f64,
    /// Fraction after the Kelly multiplier and caps.
    pub fraction: f64,
    /// Stake in money (cents, rounded down); zero when below the minimum.
    pub stake: Decimal,
    /// Why the stake is what it is, when a cap or the minimum applied.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub limited_by: Vec<String>,
}

/// Turns full-Kelly fractions into stakes on `bankroll`: the Kelly
/// multiplier, the per-bet cap, the total cap (scaling all down in
/// proportion), then the minimum stake.
pub fn size(kelly: &[f64], bankroll: Decimal, s: &Sizing) -> Vec<Stake> {
    let bank: f64 = rust_decimal::prelude::ToPrimitive::to_f64(&bankroll).unwrap_or(0.0);
    let mut out: Vec<Stake> = kelly
        .iter()
        .map(|k| {
            let mut fr = k * s.fraction;
            let mut why = Vec::new();
            if fr > s.max_bet_fraction {
                fr = s.max_bet_fraction;
                why.push("max_bet_fraction".into());
            }
            Stake {
                kelly_fraction: *k,
                fraction: fr,
                stake: Decimal::ZERO,
                limited_by: why,
            }
        })
        .collect();
    let total: f64 = out.iter().map(|x| x.fraction).sum();
    if total > s.max_total_fraction && total > 0.0 {
        let scale = s.max_total_fraction / total;
        for x in &mut out {
            if x.fraction > 0.0 {
                x.fraction *= scale;
                x.limited_by.push("max_total_fraction".into());
            }
        }
    }
    for x in &mut out {
        x.stake = cents_down(x.fraction * bank);
        if x.stake > Decimal::ZERO && x.stake < s.min_stake {
            x.stake = Decimal::ZERO;
            x.limited_by.push("min_stake".into());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn ok() -> Result<()> {
        Ok(())
    }

    /// Thorp (2006) §2: at even money the Kelly fraction is `p − q`; with
    /// p = 0.6 that is 0.2. Kelly (1956) with b = 2 (decimal 3), p = 0.4:
    /// (bp − q)/b = (0.8 − 0.6)/2 = 0.1.
    #[test]
    fn single_kelly_worked_examples() {
        assert!((single(0.6, 2.0) - 0.2).abs() < 1e-12);
        assert!((single(0.4, 3.0) - 0.1).abs() < 1e-12);
        assert_eq!(single(0.45, 2.0), 0.0);
    }

    #[test]
    fn simultaneous_equals_single_for_one_bet() {
        for (p, d) in [(0.6, 2.0), (0.4, 3.0), (0.55, 1.91), (0.2, 6.5), (0.3, 2.5)] {
            let f = simultaneous(&[KellyBet { p, decimal: d }], ok).unwrap();
            assert!(
                (f[0] - single(p, d)).abs() < 1e-9,
                "{p} {d}: {} vs {}",
                f[0],
                single(p, d)
            );
        }
    }

    /// Two independent even-money bets at p = 0.6: by symmetry f₁ = f₂ = f,
    /// and d/df [0.36 ln(1+2f) + 0.16 ln(1−2f)] = 0 gives
    /// 0.72(1−2f) = 0.32(1+2f), f = 0.4/2.08 = 0.192308 (each below the
    /// single-bet 0.2).
    #[test]
    fn two_even_money_bets_closed_form() {
        let b = KellyBet {
            p: 0.6,
            decimal: 2.0,
        };
        let f = simultaneous(&[b, b], ok).unwrap();
        for x in f {
            assert!((x - 0.4 / 2.08).abs() < 1e-9, "{x}");
        }
    }

    /// Against a brute-force grid (step 0.0005) over both fractions.
    #[test]
    fn simultaneous_matches_a_brute_force_grid_on_two_bets() {
        for bets in [
            [
                KellyBet {
                    p: 0.55,
                    decimal: 2.1,
                },
                KellyBet {
                    p: 0.35,
                    decimal: 3.4,
                },
            ],
            [
                KellyBet {
                    p: 0.7,
                    decimal: 1.6,
                },
                KellyBet {
                    p: 0.25,
                    decimal: 5.0,
                },
            ],
            [
                KellyBet {
                    p: 0.5,
                    decimal: 2.3,
                },
                KellyBet {
                    p: 0.45,
                    decimal: 2.0,
                },
            ],
        ] {
            let f = simultaneous(&bets, ok).unwrap();
            let (mut best, mut arg) = (f64::NEG_INFINITY, (0.0, 0.0));
            let step = 0.0005;
            for i in 0..=1000 {
                for j in 0..=1000 {
                    let g = [i as f64 * step, j as f64 * step];
                    if g[0] + g[1] >= 1.0 {
                        continue;
                    }
                    let v = growth(&bets, &g);
                    if v > best {
                        best = v;
                        arg = (g[0], g[1]);
                    }
                }
            }
            assert!(growth(&bets, &f) >= best - 1e-12, "{f:?} vs grid {arg:?}");
            assert!(
                (f[0] - arg.0).abs() <= step && (f[1] - arg.1).abs() <= step,
                "{f:?} vs {arg:?}"
            );
        }
    }

    #[test]
    fn sizing_applies_multiplier_caps_and_minimum() {
        let s = size(
            &[0.2, 0.1, 0.004],
            dec!(1000),
            &Sizing {
                fraction: 0.5,
                max_bet_fraction: 0.08,
                max_total_fraction: 0.1,
                min_stake: dec!(2),
            },
        );
        // 0.1 → capped 0.08; 0.05; 0.002 → total 0.132 → scaled by 0.1/0.132.
        assert_eq!(
            s[0].limited_by,
            vec!["max_bet_fraction", "max_total_fraction"]
        );
        assert_eq!(s[0].stake, dec!(60.60));
        assert_eq!(s[1].stake, dec!(37.87));
        assert_eq!(s[2].stake, dec!(0));
        assert!(s[2].limited_by.contains(&"min_stake".to_string()));
    }

    #[test]
    fn bad_bets_name_the_field() {
        let e = simultaneous(
            &[KellyBet {
                p: 1.2,
                decimal: 2.0,
            }],
            ok,
        )
        .unwrap_err();
        assert!(
            matches!(e, SportsError::Invalid { ref field, .. } if field == "bets[0].probability")
        );
    }
}
