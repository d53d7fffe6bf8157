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
/// [`growth`] for independent bets, by a projected Newton method over the
/// bets with a positive slope or stake (the objective is concave: gradient
/// `E[Xᵢ/W]`, Hessian `−E[XᵢXⱼ/W²]` summed over the 2ⁿ joint outcomes),
/// each step halved until the growth rises and every outcome keeps some
/// wealth; a projected gradient step when Newton's does not rise. `check`
/// is called once an iteration and may stop the search (cancellation).
pub fn simultaneous(bets: &[KellyBet], mut check: impl FnMut() -> Result<()>) -> Result<Vec<f64>> {
    validate(bets)?;
    let n = bets.len();
    let mut f = vec![0.0; n];
    let mut g_now = growth(bets, &f);
    for _iter in 0..500 {
        check()?;
        let (grad, hess) = derivatives(bets, &f);
        // Optimal when no free slope is left: zero where staked, not
        // positive where not (the KKT conditions of the concave problem).
        let kkt = (0..n)
            .map(|i| {
                if f[i] > 0.0 {
                    grad[i].abs()
                } else {
                    grad[i].max(0.0)
                }
            })
            .fold(0.0, f64::max);
        if kkt < 1e-13 {
            break;
        }
        let free: Vec<usize> = (0..n).filter(|&i| f[i] > 0.0 || grad[i] > 0.0).collect();
        // Newton direction on the free bets: (−H_FF) d = g_F.
        let m = free.len();
        let mut a = vec![vec![0.0; m]; m];
        let mut b = vec![0.0; m];
        for (r, &i) in free.iter().enumerate() {
            b[r] = grad[i];
            for (c, &j) in free.iter().enumerate() {
                a[r][c] = -hess[i][j] + if r == c { 1e-14 } else { 0.0 };
            }
        }
        let mut dir = vec![0.0; n];
        if let Some(d) = cholesky_solve(a, b) {
            for (r, &i) in free.iter().enumerate() {
                dir[i] = d[r];
            }
        }
        let next = ascend(bets, &f, &dir, g_now).or_else(|| {
            let mut gdir = vec![0.0; n];
            for &i in &free {
                gdir[i] = grad[i];
            }
            ascend(bets, &f, &gdir, g_now)
        });
        let Some((f_new, g_new)) = next else { break };
        let moved = f
            .iter()
            .zip(&f_new)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        f = f_new;
        g_now = g_now.max(g_new);
        if moved < 1e-16 {
            break;
        }
    }
    Ok(f)
}

/// Gradient and Hessian of [`growth`] at `f`.
// Dense matrix code reads clearest with indices.
#[allow(clippy::needless_range_loop)]
fn derivatives(bets: &[KellyBet], f: &[f64]) -> (Vec<f64>, Vec<Vec<f64>>) {
    let n = bets.len();
    let mut g = vec![0.0; n];
    let mut h = vec![vec![0.0; n]; n];
    let mut x = vec![0.0; n];
    for mask in 0..(1usize << n) {
        let (prob, w) = outcome(bets, f, mask);
        if prob == 0.0 {
            continue;
        }
        for (i, b) in bets.iter().enumerate() {
            x[i] = if mask & (1 << i) != 0 {
                b.decimal - 1.0
            } else {
                -1.0
            };
        }
        let w2 = w * w;
        for i in 0..n {
            g[i] += prob * x[i] / w;
            for j in 0..=i {
                h[i][j] -= prob * x[i] * x[j] / w2;
            }
        }
    }
    for i in 0..n {
        for j in 0..i {
            h[j][i] = h[i][j];
        }
    }
    (g, h)
}

/// The first of `f + t·dir` (projected onto `f ≥ 0`, `t = 1, ½, ¼, …`)
/// whose growth beats `g_now`, with that growth.
fn ascend(bets: &[KellyBet], f: &[f64], dir: &[f64], g_now: f64) -> Option<(Vec<f64>, f64)> {
    let mut t = 1.0;
    for _ in 0..60 {
        let trial: Vec<f64> = f
            .iter()
            .zip(dir)
            .map(|(x, d)| (x + t * d).max(0.0))
            .collect();
        if trial.iter().sum::<f64>() < 1.0 {
            let g = growth(bets, &trial);
            // Rounding hides gains below ~1e-16 near the optimum: a step
            // that keeps the growth within that noise is taken.
            if g.is_finite() && g >= g_now - 1e-15 {
                return Some((trial, g));
            }
        }
        t *= 0.5;
    }
    None
}

/// Solves `a·x = b` for a symmetric positive definite `a` (Cholesky).
// Dense matrix code reads clearest with indices.
#[allow(clippy::needless_range_loop)]
fn cholesky_solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Option<Vec<f64>> {
    let n = b.len();
    for j in 0..n {
        let mut d = a[j][j];
        for k in 0..j {
            d -= a[j][k] * a[j][k];
        }
        if d.is_nan() || d <= 0.0 {
            return None;
        }
        let d = d.sqrt();
        a[j][j] = d;
        for i in (j + 1)..n {
            let mut s = a[i][j];
            for k in 0..j {
                s -= a[i][k] * a[j][k];
            }
            a[i][j] = s / d;
        }
    }
    for i in 0..n {
        for k in 0..i {
            b[i] -= a[i][k] * b[k];
        }
        b[i] /= a[i][i];
    }
    for i in (0..n).rev() {
        for k in (i + 1)..n {
            b[i] -= a[k][i] * b[k];
        }
        b[i] /= a[i][i];
    }
    Some(b)
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

/// Simultaneous Kelly turned into stakes, where a bet whose stake falls
/// below the minimum is dropped and the rest are optimised again without
/// it (dropping a bet changes the others' optimal fractions). Returns the
/// full-Kelly fractions of the final set (a dropped bet keeps the fraction
/// it had when dropped) and the stakes.
pub fn portfolio(
    bets: &[KellyBet],
    bankroll: Decimal,
    s: &Sizing,
    mut check: impl FnMut() -> Result<()>,
) -> Result<(Vec<f64>, Vec<Stake>)> {
    validate(bets)?;
    let n = bets.len();
    let mut dropped: Vec<Option<f64>> = vec![None; n];
    loop {
        let idx: Vec<usize> = (0..n).filter(|i| dropped[*i].is_none()).collect();
        let sub: Vec<KellyBet> = idx.iter().map(|i| bets[*i]).collect();
        let f_sub = if sub.is_empty() {
            Vec::new()
        } else {
            simultaneous(&sub, &mut check)?
        };
        let mut full = vec![0.0; n];
        for (k, i) in idx.iter().enumerate() {
            full[*i] = f_sub[k];
        }
        let mut sized = size(&full, bankroll, s);
        let newly: Vec<usize> = idx
            .iter()
            .copied()
            .filter(|i| sized[*i].limited_by.iter().any(|w| w == "min_stake"))
            .collect();
        if newly.is_empty() {
            for i in 0..n {
                if let Some(k) = dropped[i] {
                    full[i] = k;
                    sized[i].kelly_fraction = k;
                    sized[i].limited_by = vec!["min_stake".into()];
                }
            }
            return Ok((full, sized));
        }
        for i in newly {
            dropped[i] = Some(full[i]);
        }
    }
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

    /// B (p 0.52 at evens) alone would stake 4 % = 4.00 of 100, under the
    /// minimum of 5: it is dropped and A (p 0.6 at evens) is optimised
    /// alone, back to its single-bet 20 % = 20.00.
    #[test]
    fn a_bet_under_the_minimum_is_dropped_and_the_rest_reoptimised() {
        let bets = [
            KellyBet {
                p: 0.6,
                decimal: 2.0,
            },
            KellyBet {
                p: 0.52,
                decimal: 2.0,
            },
        ];
        let s = Sizing {
            min_stake: dec!(5),
            ..Sizing::default()
        };
        let (full, stakes) = portfolio(&bets, dec!(100), &s, ok).unwrap();
        assert_eq!(stakes[1].stake, dec!(0));
        assert_eq!(stakes[1].limited_by, vec!["min_stake"]);
        assert!(full[1] > 0.0 && full[1] < 0.04);
        assert_eq!(stakes[0].stake, dec!(20.00));
        assert!((full[0] - 0.2).abs() < 1e-9);
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

#[cfg(test)]
mod reference {
    use super::*;

    /// An independent maximiser for the comparison: cyclic coordinate
    /// ascent, each coordinate's optimum the root of its decreasing slope
    /// `E[Xᵢ/W]` by bisection.
    fn coordinate_ascent(bets: &[KellyBet]) -> Vec<f64> {
        let n = bets.len();
        let mut f = vec![0.0; n];
        let slope = |f: &[f64], i: usize| -> f64 {
            (0..(1usize << n))
                .map(|mask| {
                    let (prob, w) = outcome(bets, f, mask);
                    let x = if mask & (1 << i) != 0 {
                        bets[i].decimal - 1.0
                    } else {
                        -1.0
                    };
                    prob * x / w
                })
                .sum()
        };
        for _ in 0..5000 {
            let mut moved: f64 = 0.0;
            for i in 0..n {
                let others: f64 = (0..n).filter(|&j| j != i).map(|j| f[j]).sum();
                let mut t = f.clone();
                t[i] = 0.0;
                let new = if slope(&t, i) <= 0.0 {
                    0.0
                } else {
                    let (mut lo, mut hi) = (0.0, (1.0 - others) * (1.0 - 1e-12));
                    for _ in 0..100 {
                        t[i] = 0.5 * (lo + hi);
                        if slope(&t, i) > 0.0 {
                            lo = t[i]
                        } else {
                            hi = t[i]
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
        f
    }

    /// Newton and coordinate ascent agree on sets of 3–5 bets (some with no
    /// edge), and 12 bets solve quickly.
    #[test]
    fn newton_agrees_with_coordinate_ascent() {
        let mut rng = crate::sim::Rng::new(99);
        for n in [3usize, 4, 5, 5] {
            let bets: Vec<KellyBet> = (0..n)
                .map(|_| {
                    let d = 1.3 + 4.0 * rng.unit();
                    let p = (1.0 / d) * (0.85 + 0.35 * rng.unit());
                    KellyBet {
                        p: p.min(0.95),
                        decimal: d,
                    }
                })
                .collect();
            let a = simultaneous(&bets, || Ok(())).unwrap();
            let b = coordinate_ascent(&bets);
            assert!(
                (growth(&bets, &a) - growth(&bets, &b)).abs() < 1e-10,
                "{a:?} vs {b:?}"
            );
            for (x, y) in a.iter().zip(&b) {
                assert!((x - y).abs() < 1e-5, "{a:?} vs {b:?}");
            }
        }
        let bets: Vec<KellyBet> = (0..12)
            .map(|i| KellyBet {
                p: 0.3 + 0.03 * i as f64,
                decimal: 2.0 + 0.5 * (i % 4) as f64,
            })
            .collect();
        let t = std::time::Instant::now();
        let f = simultaneous(&bets, || Ok(())).unwrap();
        assert!(
            t.elapsed() < std::time::Duration::from_secs(10),
            "{:?}",
            t.elapsed()
        );
        assert!(f.iter().sum::<f64>() < 1.0 && f.iter().all(|x| *x >= 0.0));
    }
}
