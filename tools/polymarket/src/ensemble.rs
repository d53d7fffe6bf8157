//! Ensemble forecasting: combine probability forecasts into one, compare it
//! with the market, and size a position with fractional Kelly.
//!
//! The order suggested takes the ask, so it pays the market's taker fee
//! ([`crate::fees`]): each share costs `ask + rate × (p(1 − p))^exponent`,
//! and the edge and the Kelly fraction are computed on that cost.

use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::{PolymarketError, Result};
use crate::fees::FeeSchedule;
use crate::types::{NumText, Outcome};

/// One forecast of the YES probability.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Forecast {
    /// Who or what made it (model name, analyst, bundle).
    pub source: String,
    /// Probability of YES in [0, 1] (`0.62` or `"0.62"`).
    pub probability: NumText,
    /// Weight (default 1).
    #[serde(default)]
    pub weight: Option<NumText>,
}

/// The combined view and the order it suggests.
#[derive(Debug, Clone, Serialize)]
pub struct Suggestion {
    /// Weighted mean YES probability.
    pub probability: Decimal,
    /// Which token has positive edge (none if neither).
    pub outcome: Option<Outcome>,
    /// Price paid for that token (its best ask).
    pub price: Option<Decimal>,
    /// Taker fee per share at that price (unrounded).
    pub fee_per_share: Decimal,
    /// Probability minus (price + fee per share) for that token: the edge net of the taker fee.
    pub edge: Decimal,
    /// Full-Kelly fraction of bankroll.
    pub kelly_fraction: Decimal,
    /// Fraction used (Kelly × multiplier, capped).
    pub stake_fraction: Decimal,
    /// USDC to stake.
    pub stake_usdc: Decimal,
    /// Shares to buy at `price` (2 dp, rounded down).
    pub shares: Decimal,
}

fn parse_prob(field: &str, text: &str) -> Result<Decimal> {
    let p = crate::types::parse_decimal(field, text)?;
    if p < Decimal::ZERO || p > Decimal::ONE {
        return Err(PolymarketError::invalid(
            field,
            "probability must be within 0 and 1",
        ));
    }
    Ok(p)
}

/// Weighted linear pool of the forecasts.
pub fn combine(forecasts: &[Forecast]) -> Result<Decimal> {
    if forecasts.is_empty() {
        return Err(PolymarketError::invalid(
            "forecasts",
            "give at least one forecast",
        ));
    }
    let mut num = Decimal::ZERO;
    let mut den = Decimal::ZERO;
    for (i, f) in forecasts.iter().enumerate() {
        let p = parse_prob(&format!("forecasts[{i}].probability"), &f.probability)?;
        let w = match &f.weight {
            Some(w) => crate::types::parse_decimal(&format!("forecasts[{i}].weight"), w)?,
            None => Decimal::ONE,
        };
        if w < Decimal::ZERO {
            return Err(PolymarketError::invalid(
                format!("forecasts[{i}].weight"),
                "weight must not be negative",
            ));
        }
        num += p * w;
        den += w;
    }
    if den.is_zero() {
        return Err(PolymarketError::invalid("forecasts", "weights sum to zero"));
    }
    Ok((num / den).round_dp(6))
}

/// Kelly fraction for a contract paying 1 that costs `price`, believed to
/// pay with probability `p`: `(p - price) / (1 - price)`, 0 when negative.
pub fn kelly(p: Decimal, price: Decimal) -> Decimal {
    if price <= Decimal::ZERO || price >= Decimal::ONE || p <= price {
        return Decimal::ZERO;
    }
    (p - price) / (Decimal::ONE - price)
}

/// Combines forecasts, picks the token with positive edge after the taker
/// fee at its ask and sizes it: `bankroll × min(kelly × multiplier,
/// max_fraction)`, Kelly on the cost per share `ask + fee`.
pub fn suggest(
    forecasts: &[Forecast],
    yes_ask: Option<Decimal>,
    no_ask: Option<Decimal>,
    fees: &FeeSchedule,
    bankroll: Decimal,
    kelly_multiplier: Decimal,
    max_fraction: Decimal,
) -> Result<Suggestion> {
    let p = combine(forecasts)?;
    let cost = |a: Decimal| a + fees.per_share(a);
    let yes_edge = yes_ask.map(|a| p - cost(a));
    let no_edge = no_ask.map(|a| (Decimal::ONE - p) - cost(a));
    let pick = match (yes_edge, no_edge) {
        (Some(y), Some(n)) if y >= n && y > Decimal::ZERO => Some((Outcome::Yes, p, yes_ask)),
        (Some(_), Some(n)) if n > Decimal::ZERO => Some((Outcome::No, Decimal::ONE - p, no_ask)),
        (Some(y), None) if y > Decimal::ZERO => Some((Outcome::Yes, p, yes_ask)),
        (None, Some(n)) if n > Decimal::ZERO => Some((Outcome::No, Decimal::ONE - p, no_ask)),
        _ => None,
    };
    let Some((outcome, prob, Some(price))) = pick else {
        return Ok(Suggestion {
            probability: p,
            outcome: None,
            price: None,
            fee_per_share: Decimal::ZERO,
            edge: yes_edge
                .into_iter()
                .chain(no_edge)
                .max()
                .unwrap_or_default(),
            kelly_fraction: Decimal::ZERO,
            stake_fraction: Decimal::ZERO,
            stake_usdc: Decimal::ZERO,
            shares: Decimal::ZERO,
        });
    };
    let fee = fees.per_share(price);
    let k = kelly(prob, price + fee);
    let frac = (k * kelly_multiplier).min(max_fraction).max(Decimal::ZERO);
    let stake = (bankroll * frac).round_dp_with_strategy(6, rust_decimal::RoundingStrategy::ToZero);
    let shares =
        (stake / (price + fee)).round_dp_with_strategy(2, rust_decimal::RoundingStrategy::ToZero);
    Ok(Suggestion {
        probability: p,
        outcome: Some(outcome),
        price: Some(price),
        fee_per_share: fee,
        edge: prob - price - fee,
        kelly_fraction: k.round_dp(6),
        stake_fraction: frac.round_dp(6),
        stake_usdc: stake,
        shares,
    })
}

/// Brier score of `(forecast, outcome)` pairs (outcome 1 = YES): mean of
/// `(p - o)^2`; lower is better.
pub fn brier(pairs: &[(Decimal, bool)]) -> Option<Decimal> {
    if pairs.is_empty() {
        return None;
    }
    let sum: Decimal = pairs
        .iter()
        .map(|(p, yes)| {
            let o = if *yes { Decimal::ONE } else { Decimal::ZERO };
            (p - o) * (p - o)
        })
        .sum();
    Some((sum / Decimal::from(pairs.len())).round_dp(6).normalize())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn f(p: &str, w: Option<&str>) -> Forecast {
        Forecast {
            source: "t".into(),
            probability: p.into(),
            weight: w.map(Into::into),
        }
    }

    #[test]
    fn combines_with_weights_and_sizes_with_kelly() {
        let fs = [f("0.70", Some("3")), f("0.50", None)];
        assert_eq!(combine(&fs).ok(), Some(dec!(0.65)));
        let s = suggest(
            &fs,
            Some(dec!(0.50)),
            Some(dec!(0.52)),
            &FeeSchedule::ZERO,
            dec!(1000),
            dec!(0.5),
            dec!(0.2),
        )
        .expect("s");
        assert_eq!(s.outcome, Some(Outcome::Yes));
        assert_eq!(s.kelly_fraction, dec!(0.3)); // (0.65-0.5)/0.5
        assert_eq!(s.stake_fraction, dec!(0.15));
        assert_eq!(s.stake_usdc, dec!(150));
        assert_eq!(s.shares, dec!(300));
    }

    #[test]
    fn picks_no_when_market_is_too_high_and_nothing_without_edge() {
        let s = suggest(
            &[f("0.30", None)],
            Some(dec!(0.50)),
            Some(dec!(0.52)),
            &FeeSchedule::ZERO,
            dec!(100),
            dec!(1),
            dec!(1),
        )
        .expect("s");
        assert_eq!(s.outcome, Some(Outcome::No));
        let s = suggest(
            &[f("0.50", None)],
            Some(dec!(0.52)),
            Some(dec!(0.50)),
            &FeeSchedule::ZERO,
            dec!(100),
            dec!(1),
            dec!(1),
        )
        .expect("s");
        assert_eq!(s.outcome, None);
        assert_eq!(s.shares, dec!(0));
    }

    #[test]
    fn kelly_is_sized_on_the_edge_after_the_taker_fee() {
        // P(YES) 0.65, YES ask 0.50, fee rate 0.04 exponent 1:
        // fee per share 0.04 x 0.25 = 0.01, cost 0.51, edge 0.65 - 0.51 = 0.14,
        // Kelly (0.65 - 0.51) / (1 - 0.51) = 0.14 / 0.49 = 0.285714;
        // x 0.5 = 0.142857 of 1000 = 142.857142 USDC / 0.51 = 280.11 shares.
        let fs = [f("0.70", Some("3")), f("0.50", None)];
        let fees = FeeSchedule::new(dec!(0.04), 1).expect("fees");
        let s = suggest(
            &fs,
            Some(dec!(0.50)),
            None,
            &fees,
            dec!(1000),
            dec!(0.5),
            dec!(1),
        )
        .expect("s");
        assert_eq!(s.fee_per_share, dec!(0.01));
        assert_eq!(s.edge, dec!(0.14));
        assert_eq!(s.kelly_fraction, dec!(0.285714));
        assert_eq!(s.stake_usdc, dec!(142.857142));
        assert_eq!(s.shares, dec!(280.11));
        // An edge the fee eats is no edge: P 0.51 at ask 0.50 costs 0.51 with the fee.
        let s = suggest(
            &[f("0.51", None)],
            Some(dec!(0.50)),
            None,
            &fees,
            dec!(1000),
            dec!(1),
            dec!(1),
        )
        .expect("s");
        assert_eq!(s.outcome, None);
    }

    #[test]
    fn bad_probabilities_name_the_field() {
        let err = combine(&[f("0.5", None), f("1.5", None)]).expect_err("range");
        assert!(err.to_string().contains("forecasts[1].probability"));
        assert!(combine(&[]).is_err());
    }

    #[test]
    fn brier_scores() {
        assert_eq!(brier(&[(dec!(1), true), (dec!(0), false)]), Some(dec!(0)));
        assert_eq!(brier(&[(dec!(0.5), true)]), Some(dec!(0.25)));
        assert_eq!(brier(&[]), None);
    }
}
