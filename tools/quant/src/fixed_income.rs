//! Fixed income: bond price, yield, duration and convexity; the
//! Nelson–Siegel–Svensson yield curve fit; and the 2s10s curve signal.
//!
//! - Price of a bond on a coupon date with `n` periods left, coupon `c` per
//!   period and yield `y` (annual, compounded `f` times a year):
//!   `P = Σ c / (1+y/f)^k + F / (1+y/f)^n`.
//! - Macaulay duration `D = Σ t_k PV_k / P` (years), modified `D / (1+y/f)`,
//!   convexity `Σ t_k (t_k + 1/f) PV_k / (P (1+y/f)²)` (Fabozzi, *Bond
//!   Markets, Analysis and Strategies*, ch. 4).
//! - NSS (Svensson 1994): `y(t) = β0 + β1 L1(t) + β2 (L1(t) - e^{-t/τ1}) +
//!   β3 (L2(t) - e^{-t/τ2})`, `Li(t) = (1 - e^{-t/τi}) / (t/τi)`. For fixed
//!   τ the βs are linear least squares; τ1, τ2 are found by a log grid then
//!   Nelder–Mead.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::{QuantError, Result};
use crate::optimize::{ParamRange, SearchMethod, search};
use crate::portfolio::weights::solve;
use crate::stats::{mean, std_dev};

/// A plain coupon bond on a coupon date.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Bond {
    /// Face value (default 100).
    #[serde(default = "hundred")]
    pub face: f64,
    /// Annual coupon rate (0.06 = 6%).
    pub coupon: f64,
    /// Years to maturity (a whole number of coupon periods).
    pub years: f64,
    /// Coupons a year (1, 2, 4 or 12; default 2).
    #[serde(default = "two")]
    pub frequency: u32,
}

fn hundred() -> f64 {
    100.0
}
fn two() -> u32 {
    2
}

/// Price and risk figures of a bond at a yield.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BondFigures {
    /// Annual yield (compounded at the coupon frequency).
    pub yield_rate: f64,
    /// Price.
    pub price: f64,
    /// Macaulay duration, years.
    pub macaulay_duration: f64,
    /// Modified duration.
    pub modified_duration: f64,
    /// Convexity, years².
    pub convexity: f64,
    /// Price change for a 1bp rise in yield.
    pub dv01: f64,
}

impl Bond {
    fn periods(&self) -> Result<usize> {
        if !matches!(self.frequency, 1 | 2 | 4 | 12) {
            return Err(QuantError::invalid(
                "bond.frequency",
                "must be 1, 2, 4 or 12",
            ));
        }
        let n = self.years * f64::from(self.frequency);
        if !(self.years > 0.0 && self.years <= 100.0) || (n - n.round()).abs() > 1e-9 {
            return Err(QuantError::invalid(
                "bond.years",
                "must be a whole number of coupon periods, up to 100 years",
            ));
        }
        if !(self.face > 0.0) || !(0.0..=1.0).contains(&self.coupon) {
            return Err(QuantError::invalid(
                "bond.coupon",
                "coupon must be 0-1 and face positive",
            ));
        }
        Ok(n.round() as usize)
    }

    /// Figures at annual yield `y`.
    pub fn at_yield(&self, y: f64) -> Result<BondFigures> {
        let n = self.periods()?;
        let f = f64::from(self.frequency);
        if !(y > -f && y < 10.0) {
            return Err(QuantError::invalid(
                "yield",
                "must be between -frequency and 10",
            ));
        }
        let g = 1.0 + y / f;
        let c = self.face * self.coupon / f;
        let (mut price, mut tw, mut cx) = (0.0, 0.0, 0.0);
        for k in 1..=n {
            let cf = if k == n { c + self.face } else { c };
            let t = k as f64 / f;
            let pv = cf / g.powi(k as i32);
            price += pv;
            tw += t * pv;
            cx += t * (t + 1.0 / f) * pv;
        }
        let mac = tw / price;
        let modified = mac / g;
        Ok(BondFigures {
            yield_rate: y,
            price,
            macaulay_duration: mac,
            modified_duration: modified,
            convexity: cx / (price * g * g),
            dv01: modified * price * 1e-4,
        })
    }

    /// The yield at which the bond is worth `price` (bisection to 1e-12).
    pub fn yield_for_price(&self, price: f64) -> Result<BondFigures> {
        if !(price > 0.0) {
            return Err(QuantError::invalid("price", "must be positive"));
        }
        let f = f64::from(self.frequency);
        let (mut lo, mut hi) = (-0.99 * f, 5.0);
        if self.at_yield(hi)?.price > price || self.at_yield(lo)?.price < price {
            return Err(QuantError::invalid(
                "price",
                "no yield between -99% per period and 500% gives that price",
            ));
        }
        for _ in 0..200 {
            let mid = 0.5 * (lo + hi);
            if self.at_yield(mid)?.price > price {
                lo = mid
            } else {
                hi = mid
            }
            if hi - lo < 1e-13 {
                break;
            }
        }
        self.at_yield(0.5 * (lo + hi))
    }
}

/// NSS parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Nss {
    /// Long-run level.
    pub beta0: f64,
    /// Slope.
    pub beta1: f64,
    /// First hump.
    pub beta2: f64,
    /// Second hump.
    pub beta3: f64,
    /// First decay (years).
    pub tau1: f64,
    /// Second decay (years).
    pub tau2: f64,
}

fn loads(t: f64, tau1: f64, tau2: f64) -> [f64; 4] {
    let l = |tau: f64| {
        let x = t / tau;
        if x < 1e-8 {
            1.0 - x / 2.0
        } else {
            (1.0 - (-x).exp()) / x
        }
    };
    let (l1, l2) = (l(tau1), l(tau2));
    [1.0, l1, l1 - (-t / tau1).exp(), l2 - (-t / tau2).exp()]
}

impl Nss {
    /// The curve's yield at maturity `t` years.
    pub fn yield_at(&self, t: f64) -> f64 {
        let x = loads(t, self.tau1, self.tau2);
        self.beta0 * x[0] + self.beta1 * x[1] + self.beta2 * x[2] + self.beta3 * x[3]
    }
}

/// Least-squares βs for fixed τs; returns (βs, sum of squared errors).
fn betas(m: &[f64], y: &[f64], tau1: f64, tau2: f64) -> Option<([f64; 4], f64)> {
    let rows: Vec<[f64; 4]> = m.iter().map(|t| loads(*t, tau1, tau2)).collect();
    let mut a = vec![vec![0.0; 4]; 4];
    let mut b = vec![0.0; 4];
    for (r, yi) in rows.iter().zip(y) {
        for i in 0..4 {
            b[i] += r[i] * yi;
            for j in 0..4 {
                a[i][j] += r[i] * r[j];
            }
        }
    }
    // A tiny ridge keeps near-collinear τ pairs solvable.
    (0..4).for_each(|i| a[i][i] += 1e-12);
    let x = solve(&a, &b).ok()?;
    let sse = rows
        .iter()
        .zip(y)
        .map(|(r, yi)| (r.iter().zip(&x).map(|(p, q)| p * q).sum::<f64>() - yi).powi(2))
        .sum();
    Some(([x[0], x[1], x[2], x[3]], sse))
}

/// Fits NSS to (maturity in years, yield) points; returns the parameters
/// and the root-mean-square error.
pub fn fit_nss(maturities: &[f64], yields: &[f64]) -> Result<(Nss, f64)> {
    if maturities.len() != yields.len() || maturities.len() < 6 {
        return Err(QuantError::invalid(
            "points",
            "give at least 6 (maturity, yield) points",
        ));
    }
    if maturities.iter().any(|m| !(*m > 0.0 && *m <= 100.0))
        || yields.iter().any(|y| !y.is_finite())
    {
        return Err(QuantError::invalid(
            "points",
            "maturities must be in (0, 100] years and yields finite",
        ));
    }
    let sse =
        |tau1: f64, tau2: f64| betas(maturities, yields, tau1, tau2).map_or(f64::INFINITY, |b| b.1);
    let space = [
        ParamRange {
            name: "ln_tau1".into(),
            min: (0.05f64).ln(),
            max: (30.0f64).ln(),
            step: Some(((30.0f64).ln() - (0.05f64).ln()) / 24.0),
            integer: false,
        },
        ParamRange {
            name: "ln_tau2".into(),
            min: (0.05f64).ln(),
            max: (30.0f64).ln(),
            step: Some(((30.0f64).ln() - (0.05f64).ln()) / 24.0),
            integer: false,
        },
    ];
    let mut quiet = |_: usize, _: usize| Ok(());
    // Log of the error keeps the simplex well scaled as the fit gets close.
    let mut obj = |p: &[f64]| Ok(-(sse(p[0].exp(), p[1].exp()) + 1e-300).ln());
    let grid = search(&space, SearchMethod::Grid, 0, &mut obj, &mut quiet)?;
    // Refine the five best grid points with Nelder–Mead in a box two grid
    // steps wide around each (the error surface has several basins).
    let step = space[0].step.unwrap_or(0.3);
    let mut best = grid.best.clone();
    for start in grid.top.iter().take(5) {
        let local: Vec<ParamRange> = space
            .iter()
            .zip(&start.params)
            .map(|(p, c)| ParamRange {
                name: p.name.clone(),
                min: (c - 2.0 * step).max(p.min),
                max: (c + 2.0 * step).min(p.max),
                step: None,
                integer: false,
            })
            .collect();
        let refined = search(
            &local,
            SearchMethod::NelderMead { max_evals: 300 },
            0,
            &mut obj,
            &mut quiet,
        )?;
        if refined.best.score > best.score {
            best = refined.best;
        }
    }
    let (tau1, tau2) = (best.params[0].exp(), best.params[1].exp());
    let (b, e) = betas(maturities, yields, tau1, tau2)
        .ok_or_else(|| QuantError::Data("the curve could not be fitted".into()))?;
    Ok((
        Nss {
            beta0: b[0],
            beta1: b[1],
            beta2: b[2],
            beta3: b[3],
            tau1,
            tau2,
        },
        (e / maturities.len() as f64).sqrt(),
    ))
}

/// The 2s10s signal.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CurveSignal {
    /// 10-year minus 2-year yield now.
    pub spread: f64,
    /// Its z-score over the lookback.
    pub z: f64,
    /// Whether the curve is inverted (spread < 0).
    pub inverted: bool,
    /// `steepener` (spread unusually low), `flattener` (unusually high) or `none`.
    pub signal: &'static str,
}

/// 2s10s: z-score of the latest spread over the previous `lookback`
/// spreads; beyond ±`entry_z` the spread is expected to revert.
pub fn two_ten_signal(
    two: &[f64],
    ten: &[f64],
    lookback: usize,
    entry_z: f64,
) -> Result<CurveSignal> {
    if two.len() != ten.len() || two.len() < lookback + 1 || lookback < 5 {
        return Err(QuantError::invalid(
            "yields_2y",
            "give equal-length 2y and 10y histories longer than lookback (>= 5)",
        ));
    }
    let spreads: Vec<f64> = ten.iter().zip(two).map(|(a, b)| a - b).collect();
    let now = spreads[spreads.len() - 1];
    let hist = &spreads[spreads.len() - 1 - lookback..spreads.len() - 1];
    let sd = std_dev(hist);
    let z = if sd > 0.0 {
        (now - mean(hist)) / sd
    } else {
        0.0
    };
    let signal = if z < -entry_z {
        "steepener"
    } else if z > entry_z {
        "flattener"
    } else {
        "none"
    };
    Ok(CurveSignal {
        spread: now,
        z,
        inverted: now < 0.0,
        signal,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bond_figures_match_textbook_values() {
        // Fabozzi's example: 10-year 6% semi-annual bond at an 8% yield is worth 86.4097.
        // Independent figures (plain Python sum over the 20 cash flows):
        // Macaulay 7.454251784, modified 7.167549792, convexity 65.04403455.
        let b = Bond {
            face: 100.0,
            coupon: 0.06,
            years: 10.0,
            frequency: 2,
        };
        let f = b.at_yield(0.08).unwrap();
        assert!((f.price - 86.409_673_655).abs() < 1e-8, "{}", f.price);
        assert!((f.macaulay_duration - 7.454_251_784).abs() < 1e-8);
        assert!((f.modified_duration - 7.167_549_792).abs() < 1e-8);
        assert!((f.convexity - 65.044_034_55).abs() < 1e-7);
        // A par bond: 5-year 9% at 9% prices at 100, Macaulay 4.134395.
        let par = Bond {
            face: 100.0,
            coupon: 0.09,
            years: 5.0,
            frequency: 2,
        }
        .at_yield(0.09)
        .unwrap();
        assert!(
            (par.price - 100.0).abs() < 1e-9
                && (par.macaulay_duration - 4.134_395_248).abs() < 1e-8
        );
        // Convexity agrees with a central second difference of price.
        let h = 1e-4;
        let fd = (b.at_yield(0.08 - h).unwrap().price + b.at_yield(0.08 + h).unwrap().price
            - 2.0 * f.price)
            / (f.price * h * h);
        assert!((fd - f.convexity).abs() < 1e-3, "{fd}");
        let back = b.yield_for_price(86.409_673_655).unwrap();
        assert!((back.yield_rate - 0.08).abs() < 1e-10);
        assert!(Bond { years: 1.3, ..b }.at_yield(0.05).is_err());
    }

    #[test]
    fn nss_recovers_a_known_curve() {
        let truth = Nss {
            beta0: 0.045,
            beta1: -0.02,
            beta2: 0.015,
            beta3: -0.01,
            tau1: 1.8,
            tau2: 9.0,
        };
        let m = [0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 7.0, 10.0, 20.0, 30.0];
        let y: Vec<f64> = m.iter().map(|t| truth.yield_at(*t)).collect();
        let (fit, rmse) = fit_nss(&m, &y).unwrap();
        assert!(rmse < 2e-6, "rmse {rmse}");
        for t in [0.75, 4.0, 15.0] {
            assert!((fit.yield_at(t) - truth.yield_at(t)).abs() < 2e-5, "{t}");
        }
    }

    #[test]
    fn the_two_ten_signal_reads_an_unusually_flat_curve_as_a_steepener() {
        let two: Vec<f64> = (0..60).map(|i| 0.04 + 0.0001 * f64::from(i % 5)).collect();
        let mut ten: Vec<f64> = two.iter().map(|t| t + 0.01).collect();
        *ten.last_mut().unwrap() = two[59] - 0.002;
        let s = two_ten_signal(&two, &ten, 40, 2.0).unwrap();
        assert!(s.inverted && s.signal == "steepener" && s.z < -2.0, "{s:?}");
    }
}
