//! The one rounding rule for money in this crate.
//!
//! **Commissions and tax amounts round half away from zero to the cent**
//! (`RoundingStrategy::MidpointAwayFromZero`): 1.005 → 1.01, −1.005 →
//! −1.01, 1.0049 → 1.00. This is the rounding a taxpayer, a broker's
//! statement and the CRA's forms use; `Decimal::round_dp` alone would round
//! half to even (1.005 → 1.00) and lose a cent in one case out of two
//! hundred.
//!
//! Where amounts are rounded: every amount in CAD is rounded once, when it
//! is converted (a trade's proceeds or cost, its commission, a denied
//! superficial loss), and every total is the sum of its rounded rows, so a
//! Schedule 3 or T5008 total always equals the sum of the rows printed
//! above it. Each disposition's gain is its rounded proceeds less its
//! rounded ACB and outlays plus the rounded denied loss.

use rust_decimal::{Decimal, RoundingStrategy};

/// The rounding strategy for money: half away from zero.
pub const ROUNDING: RoundingStrategy = RoundingStrategy::MidpointAwayFromZero;

/// Digits after the point of a money amount: cents.
pub const CENT_DP: u32 = 2;

/// `amount` rounded half away from zero to the cent, always with two
/// decimals (`5` → `5.00`), so it prints as money.
pub fn round_cents(amount: Decimal) -> Decimal {
    let mut r = amount.round_dp_with_strategy(CENT_DP, ROUNDING);
    r.rescale(CENT_DP);
    r
}

/// `value` rounded half away from zero to `dp` digits (per-unit figures
/// such as an ACB per share, which are shown with more than two).
pub fn round_dp(value: Decimal, dp: u32) -> Decimal {
    value.round_dp_with_strategy(dp, ROUNDING)
}

/// `amount` as text with exactly two decimals, after [`round_cents`].
pub fn format_cents(amount: Decimal) -> String {
    round_cents(amount).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_a_cent_rounds_away_from_zero() {
        let d = |s: &str| s.parse::<Decimal>().expect("decimal");
        for (input, cents) in [
            ("1.005", "1.01"),
            ("-1.005", "-1.01"),
            ("2.675", "2.68"),
            ("0.125", "0.13"),
            ("1.0049", "1.00"),
            ("7", "7.00"),
            ("85.9", "85.90"),
        ] {
            assert_eq!(format_cents(d(input)), cents, "{input}");
        }
        // Half to even, what round_dp alone does, would give 1.00 and 0.12.
        assert_eq!(d("1.005").round_dp(2), d("1.00"));
        assert_eq!(round_dp(d("7.15005"), 4), d("7.1501"));
    }
}
