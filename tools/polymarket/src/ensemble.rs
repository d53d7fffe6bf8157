//! Ensemble forecasting: combine probability forecasts into one, compare it
//! with the market, and size a position with fractional Kelly.

use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::{PolymarketError, Result};
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
    /// Probability minus price for that token.
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

/// Combines forecasts, picks the token with positive edge at its ask and
/// sizes it: `bankroll × min(kelly × multiplier, max_fraction)`.
pub fn suggest(
    forecasts: &[Forecast],
    yes_ask: Option<Decimal>,
    no_ask: Option<Decimal>,
    bankroll: Decimal,
    kelly_multiplier: Decimal,
    max_fraction: Decimal,
) -> Result<Suggestion> {
    let p = combine(forecasts)?;
    let yes_edge = yes_ask.map(|a| p - a);
    let no_edge = no_ask.map(|a| (Decimal::ONE - p) - a);
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
    let k = kelly(prob, price);
    let frac = (k * kelly_multiplier).min(max_fraction).max(Decimal::ZERO);
    let stake = (bankroll * frac).round_dp_with_strategy(6, rust_decimal::RoundingStrategy::ToZero);
    let shares = (stake / price).round_dp_with_strategy(2, rust_decimal::RoundingStrategy::ToZero);
    Ok(Suggestion {
        probability: p,
        outcome: Some(outcome),
        price: Some(price),
        edge: prob - price,
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
            dec!(100),
            dec!(1),
            dec!(1),
        )
        .expect("s");
        assert_eq!(s.outcome, None);
        assert_eq!(s.shares, dec!(0));
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
