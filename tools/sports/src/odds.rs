//! Odds maths: conversions between decimal, fractional, American and implied
//! probability; the bookmaker's overround and its removal (proportional,
//! power and Shin); fair odds and expected value; arbitrage and middles
//! across books.
//!
//! Probabilities are `f64` (they are estimates, not money); prices come in
//! as text or [`Decimal`] and stakes go out as [`Decimal`] cents.
//!
//! Sources: the proportional ("basic") and power methods as in J. Buchdahl,
//! *The Wisdom of the Crowd* (2nd ed.) and the `implied` R package
//! (Opisthokonta); Shin's model from H. S. Shin, "Measuring the incidence of
//! insider trading in a market for state-contingent claims", *Economic
//! Journal* 103 (1993), in the closed form of E. Štrumbelj, "On determining
//! probability forecasts from betting odds", *IJF* 30 (2014), eq. (2).

use rust_decimal::Decimal;
use rust_decimal::prelude::{FromPrimitive, ToPrimitive};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::{Result, SportsError};

/// How a price is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum OddsFormat {
    /// European decimal odds: total return per unit staked (`2.50`).
    Decimal,
    /// UK fractional odds: profit over stake (`3/2`, `evens`).
    Fractional,
    /// US moneyline: `+150` (profit on 100) or `-200` (stake to win 100).
    American,
    /// Implied probability, in (0, 1) (`0.4`) or as a percentage (`40%`).
    Implied,
}

/// One price in every format.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Converted {
    /// Decimal odds.
    pub decimal: f64,
    /// Fractional odds (best fraction with a denominator up to 100).
    pub fractional: String,
    /// American odds (`+150`, `-200`).
    pub american: String,
    /// Implied probability `1 / decimal`.
    pub implied: f64,
}

/// Parses `text` written in `format` into decimal odds (> 1).
pub fn to_decimal(format: OddsFormat, text: &str, field: &str) -> Result<f64> {
    let t = text.trim();
    let bad = |rule: &str| SportsError::invalid(field, format!("`{t}`: {rule}"));
    let d = match format {
        OddsFormat::Decimal => t.parse::<f64>().map_err(|_| bad("not a number"))?,
        OddsFormat::Fractional => {
            if t.eq_ignore_ascii_case("evens") || t.eq_ignore_ascii_case("evs") {
                2.0
            } else {
                let (n, d) = t
                    .split_once('/')
                    .ok_or_else(|| bad("fractional odds look like `5/2`"))?;
                let n: f64 = n
                    .trim()
                    .parse()
                    .map_err(|_| bad("numerator is not a number"))?;
                let d: f64 = d
                    .trim()
                    .parse()
                    .map_err(|_| bad("denominator is not a number"))?;
                if !(n > 0.0 && d > 0.0) {
                    return Err(bad("numerator and denominator must be positive"));
                }
                1.0 + n / d
            }
        }
        OddsFormat::American => {
            let a: f64 = t
                .trim_start_matches('+')
                .parse()
                .map_err(|_| bad("not a number"))?;
            if a >= 100.0 {
                1.0 + a / 100.0
            } else if a <= -100.0 {
                1.0 + 100.0 / -a
            } else {
                return Err(bad("American odds are +100 or more, or -100 or less"));
            }
        }
        OddsFormat::Implied => {
            let p = match t.strip_suffix('%') {
                Some(pct) => pct.trim().parse::<f64>().map_err(|_| bad("not a number"))? / 100.0,
                None => t.parse::<f64>().map_err(|_| bad("not a number"))?,
            };
            if !(p > 0.0 && p < 1.0) {
                return Err(bad("an implied probability is strictly between 0 and 1"));
            }
            1.0 / p
        }
    };
    if !d.is_finite() || d <= 1.0 {
        return Err(bad("decimal odds must be greater than 1"));
    }
    Ok(d)
}

/// `decimal` in every format.
pub fn convert(decimal: f64) -> Converted {
    Converted {
        decimal: round(decimal, 6),
        fractional: fractional(decimal),
        american: american(decimal),
        implied: round(1.0 / decimal, 8),
    }
}

/// American odds of `decimal`: `+(d-1)*100` at 2.0 and above, else `-100/(d-1)`.
pub fn american(decimal: f64) -> String {
    if decimal >= 2.0 {
        format!("+{}", round((decimal - 1.0) * 100.0, 2))
    } else {
        format!("-{}", round(100.0 / (decimal - 1.0), 2))
    }
}

/// Fractional odds of `decimal`: the best rational approximation of
/// `decimal - 1` with a denominator up to 100 (continued fractions).
pub fn fractional(decimal: f64) -> String {
    let x = decimal - 1.0;
    let (mut h0, mut h1) = (0i64, 1i64);
    let (mut k0, mut k1) = (1i64, 0i64);
    let mut r = x;
    let (mut best_n, mut best_d) = (x.round() as i64, 1i64);
    for _ in 0..32 {
        let a = r.floor() as i64;
        let h2 = a * h1 + h0;
        let k2 = a * k1 + k0;
        if k2 > 100 {
            break;
        }
        (best_n, best_d) = (h2, k2);
        (h0, h1, k0, k1) = (h1, h2, k1, k2);
        let frac = r - a as f64;
        if frac.abs() < 1e-9 {
            break;
        }
        r = 1.0 / frac;
    }
    if best_n == best_d {
        "evens".into()
    } else {
        format!("{best_n}/{best_d}")
    }
}

/// The book's overround: `Σ 1/dᵢ − 1` (0.05 = a 5 % margin).
pub fn overround(decimals: &[f64]) -> f64 {
    decimals.iter().map(|d| 1.0 / d).sum::<f64>() - 1.0
}

/// How the margin is taken out of a book's prices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum MarginMethod {
    /// `pᵢ = πᵢ / Σπ` (the margin spread in proportion to the price).
    Proportional,
    /// `pᵢ = πᵢᵏ` with `k` such that `Σ pᵢ = 1` (more margin on longshots).
    Power,
    /// Shin (1993): insider share `z` such that the Shin probabilities sum to 1.
    Shin,
}

/// Fair probabilities of one market, and the method's parameter.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fair {
    /// Fair probabilities, in the order of the prices; they sum to 1.
    pub probabilities: Vec<f64>,
    /// Fair decimal odds `1 / pᵢ`.
    pub fair_odds: Vec<f64>,
    /// The book's overround before removal.
    pub overround: f64,
    /// `k` for the power method, `z` for Shin, absent for proportional.
    pub parameter: Option<f64>,
}

/// Removes the margin from one market's decimal prices (two or more outcomes).
pub fn remove_margin(decimals: &[f64], method: MarginMethod) -> Result<Fair> {
    if decimals.len() < 2 {
        return Err(SportsError::invalid(
            "odds",
            "a market has at least two outcomes",
        ));
    }
    if let Some(i) = decimals.iter().position(|d| !d.is_finite() || *d <= 1.0) {
        return Err(SportsError::invalid(
            format!("odds[{i}]"),
            "decimal odds must be greater than 1",
        ));
    }
    let pi: Vec<f64> = decimals.iter().map(|d| 1.0 / d).collect();
    let s: f64 = pi.iter().sum();
    let (probs, parameter) = match method {
        MarginMethod::Proportional => (pi.iter().map(|p| p / s).collect::<Vec<_>>(), None),
        MarginMethod::Power => {
            // Σ πᵢᵏ is decreasing in k (every πᵢ < 1); solve Σ πᵢᵏ = 1.
            let f = |k: f64| pi.iter().map(|p| p.powf(k)).sum::<f64>() - 1.0;
            let k = bisect(f, 1e-3, 50.0);
            (pi.iter().map(|p| p.powf(k)).collect(), Some(k))
        }
        MarginMethod::Shin => {
            let shin = |z: f64| -> Vec<f64> {
                pi.iter()
                    .map(|p| ((z * z + 4.0 * (1.0 - z) * p * p / s).sqrt() - z) / (2.0 * (1.0 - z)))
                    .collect()
            };
            // At z = 0 the sum is √S; it falls as z grows. A book with no
            // margin (S ≤ 1) has z = 0.
            let z = if s <= 1.0 {
                0.0
            } else {
                bisect(|z| shin(z).iter().sum::<f64>() - 1.0, 0.0, 0.999_999)
            };
            (shin(z), Some(z))
        }
    };
    let total: f64 = probs.iter().sum();
    let probabilities: Vec<f64> = probs.iter().map(|p| p / total).collect();
    Ok(Fair {
        fair_odds: probabilities.iter().map(|p| 1.0 / p).collect(),
        probabilities,
        overround: s - 1.0,
        parameter,
    })
}

/// Root of a decreasing `f` on `[lo, hi]` by bisection (to 1e-15).
fn bisect(f: impl Fn(f64) -> f64, mut lo: f64, mut hi: f64) -> f64 {
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if f(mid) > 0.0 {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo < 1e-15 {
            break;
        }
    }
    0.5 * (lo + hi)
}

/// Expected profit per unit staked at decimal odds `decimal` when the
/// outcome's probability is `p`: `p·d − 1`.
pub fn expected_value(p: f64, decimal: f64) -> f64 {
    p * decimal - 1.0
}

/// A price one book offers on one outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Quote {
    /// The book (`pinnacle`, `sim-book-a`).
    pub book: String,
    /// The outcome (`Arsenal`, `Draw`, `Over`).
    pub outcome: String,
    /// Decimal odds.
    pub odds: Decimal,
    /// Line (handicap for spreads, total for totals), when the market has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub point: Option<Decimal>,
}

/// One leg of an arbitrage or a middle.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Leg {
    /// The book.
    pub book: String,
    /// The outcome.
    pub outcome: String,
    /// Decimal odds.
    pub odds: Decimal,
    /// Line, when the market has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub point: Option<Decimal>,
    /// Stake on this leg (cents).
    pub stake: Decimal,
    /// What the leg returns if it wins (stake × odds).
    pub returns: Decimal,
}

/// A sure bet: the best price of each outcome across books sums below 1.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Arbitrage {
    /// Σ 1/best odds (below 1 for an arbitrage).
    pub implied_sum: f64,
    /// Guaranteed profit as a share of the total stake: `1/Σ − 1`.
    pub profit_pct: f64,
    /// Stakes in proportion to `1/dᵢ`, rounded down to cents.
    pub legs: Vec<Leg>,
    /// Total staked.
    pub total_stake: Decimal,
    /// The least any outcome returns, minus the total stake.
    pub guaranteed_profit: Decimal,
}

fn f(d: Decimal) -> f64 {
    d.to_f64().unwrap_or(f64::NAN)
}

/// Cents, rounded down (after dropping float noise below 1e-8, so
/// 0.1 × 1000 is 100.00, not 99.99).
pub fn cents_down(x: f64) -> Decimal {
    Decimal::from_f64(x)
        .unwrap_or_default()
        .round_dp(8)
        .round_dp_with_strategy(2, rust_decimal::RoundingStrategy::ToZero)
}

/// The best price of each outcome of a one-line market (h2h) across books,
/// and the arbitrage when they sum below 1 (stakes for `total_stake`).
/// `outcomes` names every outcome of the market: one without a price in any
/// book means no arbitrage.
pub fn find_arbitrage(
    quotes: &[Quote],
    outcomes: &[String],
    total_stake: Decimal,
) -> Option<Arbitrage> {
    let mut best: Vec<&Quote> = Vec::new();
    for name in outcomes {
        let q = quotes
            .iter()
            .filter(|q| &q.outcome == name && q.odds > Decimal::ONE)
            .max_by(|a, b| a.odds.cmp(&b.odds))?;
        best.push(q);
    }
    if best.len() < 2 {
        return None;
    }
    let sum: f64 = best.iter().map(|q| 1.0 / f(q.odds)).sum();
    if sum >= 1.0 {
        return None;
    }
    let t = f(total_stake);
    let legs: Vec<Leg> = best
        .iter()
        .map(|q| {
            let stake = cents_down(t / (f(q.odds) * sum));
            Leg {
                book: q.book.clone(),
                outcome: q.outcome.clone(),
                odds: q.odds,
                point: q.point,
                stake,
                returns: (stake * q.odds).round_dp(2),
            }
        })
        .collect();
    let staked: Decimal = legs.iter().map(|l| l.stake).sum();
    let least = legs.iter().map(|l| l.returns).min().unwrap_or_default();
    Some(Arbitrage {
        implied_sum: round(sum, 8),
        profit_pct: round(1.0 / sum - 1.0, 8),
        total_stake: staked,
        guaranteed_profit: least - staked,
        legs,
    })
}

/// Which lined market a middle is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LineMarket {
    /// Over/under a total: outcomes `Over` and `Under`, `point` the total.
    Totals,
    /// Handicaps: outcomes are the two sides, `point` each side's handicap.
    Spreads,
}

/// Two bets on opposite sides of a line where results inside a window win both.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Middle {
    /// The two legs, stakes set so both return the same.
    pub legs: Vec<Leg>,
    /// Results strictly inside this window win both legs (totals: the
    /// total; spreads: the first leg's side's winning margin).
    pub window: (Decimal, Decimal),
    /// Width of the window.
    pub width: Decimal,
    /// Profit when the result misses the window (usually a small loss).
    pub miss_profit: Decimal,
    /// Profit when it lands inside (both legs win).
    pub hit_profit: Decimal,
}

/// Middles across books in one lined market: for totals an `Over a` and an
/// `Under b` with `b > a`; for spreads side A at handicap `h` and side B at
/// `w` with `h + w > 0` (A's margin in `(−h, w)` wins both). Stakes split
/// `total_stake` so either leg alone returns the same.
pub fn find_middles(market: LineMarket, quotes: &[Quote], total_stake: Decimal) -> Vec<Middle> {
    let mut out = Vec::new();
    let lined: Vec<&Quote> = quotes
        .iter()
        .filter(|q| q.point.is_some() && q.odds > Decimal::ONE)
        .collect();
    for a in &lined {
        for b in &lined {
            if a.outcome == b.outcome || a.book == b.book {
                continue;
            }
            let (pa, pb) = (a.point.unwrap_or_default(), b.point.unwrap_or_default());
            let window = match market {
                LineMarket::Totals => {
                    if !(a.outcome.eq_ignore_ascii_case("over")
                        && b.outcome.eq_ignore_ascii_case("under"))
                        || pb <= pa
                    {
                        continue;
                    }
                    (pa, pb)
                }
                LineMarket::Spreads => {
                    if a.outcome > b.outcome || pa + pb <= Decimal::ZERO {
                        continue;
                    }
                    (-pa, pb)
                }
            };
            let (oa, ob) = (f(a.odds), f(b.odds));
            let t = f(total_stake);
            let sa = cents_down(t * ob / (oa + ob));
            let sb = cents_down(t * oa / (oa + ob));
            let (ra, rb) = ((sa * a.odds).round_dp(2), (sb * b.odds).round_dp(2));
            let staked = sa + sb;
            out.push(Middle {
                legs: vec![
                    Leg {
                        book: a.book.clone(),
                        outcome: a.outcome.clone(),
                        odds: a.odds,
                        point: a.point,
                        stake: sa,
                        returns: ra,
                    },
                    Leg {
                        book: b.book.clone(),
                        outcome: b.outcome.clone(),
                        odds: b.odds,
                        point: b.point,
                        stake: sb,
                        returns: rb,
                    },
                ],
                width: window.1 - window.0,
                window,
                miss_profit: ra.min(rb) - staked,
                hit_profit: ra + rb - staked,
            });
        }
    }
    out.sort_by(|x, y| {
        y.width
            .cmp(&x.width)
            .then(y.miss_profit.cmp(&x.miss_profit))
    });
    out
}

/// `x` rounded to `dp` decimal places.
pub fn round(x: f64, dp: i32) -> f64 {
    let m = 10f64.powi(dp);
    (x * m).round() / m
}

#[cfg(test)]
#[path = "odds_tests.rs"]
mod tests;
