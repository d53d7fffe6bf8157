//! Market-making analytics: the spread a maker captured, measured as the
//! mark-out of each maker fill against the token's current mid (or its
//! settlement value once resolved), and the fees the account paid (CLOB V2:
//! the platform fee of [`crate::fees`] on taker fills; maker fills pay none).

use rust_decimal::Decimal;

use crate::types::Side;

/// One maker fill of the account being measured.
#[derive(Debug, Clone, PartialEq)]
pub struct MakerFill {
    /// Whether the maker bought or sold the token.
    pub side: Side,
    /// Fill price in the token's terms.
    pub price: Decimal,
    /// Shares filled.
    pub size: Decimal,
    /// The token's mid now (or 1/0 once resolved).
    pub mark: Decimal,
}

/// Spread captured across maker fills.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct SpreadCaptured {
    /// USDC: Σ (mark − price) × size for buys, (price − mark) × size for sells.
    pub total: Decimal,
    /// Shares the total was earned on.
    pub shares: Decimal,
}

impl SpreadCaptured {
    /// The average captured per share, when any shares were filled.
    pub fn per_share(&self) -> Option<Decimal> {
        (!self.shares.is_zero()).then(|| (self.total / self.shares).round_dp(6))
    }
}

/// Sums the mark-out of every maker fill.
pub fn spread_captured(fills: &[MakerFill]) -> SpreadCaptured {
    fills.iter().fold(SpreadCaptured::default(), |acc, f| {
        let edge = match f.side {
            Side::Buy => f.mark - f.price,
            Side::Sell => f.price - f.mark,
        };
        SpreadCaptured {
            total: acc.total + edge * f.size,
            shares: acc.shares + f.size,
        }
    })
}

/// Platform fees an account paid.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize)]
pub struct FeesPaid {
    /// USDC paid on taker fills.
    pub total: Decimal,
    /// Taker fills counted.
    pub taker_fills: u64,
    /// Notional (USDC) of those fills.
    pub taker_notional: Decimal,
    /// `total / taker_notional` (6 dp), when any.
    pub rate_on_taker_notional: Option<Decimal>,
}

/// Sums `(notional, fee)` of each taker fill (maker fills pay no platform fee).
pub fn fees_paid(taker_fills: &[(Decimal, Decimal)]) -> FeesPaid {
    let mut out = FeesPaid::default();
    for (notional, fee) in taker_fills {
        out.total += fee;
        out.taker_notional += notional;
        out.taker_fills += 1;
    }
    out.rate_on_taker_notional = (!out.taker_notional.is_zero())
        .then(|| (out.total / out.taker_notional).round_dp(6).normalize());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn hand_worked_mark_out() {
        // Quoted 0.48 / 0.52 around a 0.50 mid: bought 100 at 0.48, sold 50 at 0.52,
        // then the mid moved to 0.49. Buys: (0.49 - 0.48) x 100 = 1.00;
        // sells: (0.52 - 0.49) x 50 = 1.50; total 2.50 over 150 shares.
        let fills = [
            MakerFill {
                side: Side::Buy,
                price: dec!(0.48),
                size: dec!(100),
                mark: dec!(0.49),
            },
            MakerFill {
                side: Side::Sell,
                price: dec!(0.52),
                size: dec!(50),
                mark: dec!(0.49),
            },
        ];
        let s = spread_captured(&fills);
        assert_eq!(s.total, dec!(2.50));
        assert_eq!(s.shares, dec!(150));
        assert_eq!(s.per_share(), Some(dec!(0.016667)));
    }

    #[test]
    fn fees_paid_sum_taker_fills() {
        // Bought 10 at 0.60 (fee 10 x 0.04 x 0.24 = 0.096) and sold 10 at 0.50
        // (fee 10 x 0.04 x 0.25 = 0.1): 0.196 on 11 USDC of notional = 0.017818.
        let f = fees_paid(&[(dec!(6), dec!(0.096)), (dec!(5), dec!(0.1))]);
        assert_eq!(f.total, dec!(0.196));
        assert_eq!(f.taker_fills, 2);
        assert_eq!(f.rate_on_taker_notional, Some(dec!(0.017818)));
        assert_eq!(fees_paid(&[]).rate_on_taker_notional, None);
    }

    #[test]
    fn adverse_selection_is_negative_and_nothing_is_none() {
        // Bought 10 at 0.60 on a market that then resolved NO for this token (mark 0).
        let fills = [MakerFill {
            side: Side::Buy,
            price: dec!(0.60),
            size: dec!(10),
            mark: dec!(0),
        }];
        assert_eq!(spread_captured(&fills).total, dec!(-6.00));
        assert_eq!(spread_captured(&[]).per_share(), None);
    }
}
