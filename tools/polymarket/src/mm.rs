//! Avellaneda–Stoikov market making: a reservation price skewed against
//! inventory and an optimal spread, rounded to the market's tick (bids
//! down, asks up) with minimum size and inventory limits.
//!
//! A side the model prices outside the book's range is not posted: when
//! the reservation bid (`r − δ/2`, rounded down to the tick) falls below
//! one tick there is no bid, and when the ask (`r + δ/2`, rounded up) is
//! above `1 − tick` there is no ask; [`Quotes`] says why a side is missing
//! (those, or the inventory limit, or a size under the minimum). Clamping
//! such a price onto the range would post a quote the model rejects.
//!
//! Fees: these quotes rest on the book as maker orders, and CLOB V2 charges
//! makers no platform fee ([`crate::fees`]: taker-only), so the spread needs
//! no fee allowance; a quote priced through the opposite best would fill as
//! a taker and pay `rate × (p(1 − p))^exponent` per share.
//!
//! The model's continuous quantities (volatility, risk aversion, arrival
//! intensity, the log term) are dimensionless model parameters computed in
//! `f64`; the quotes that come out are converted to [`Decimal`] and
//! rounded to the tick before anything is priced or sized with them.

use rust_decimal::Decimal;
use rust_decimal::prelude::{FromPrimitive, ToPrimitive};
use serde::{Deserialize, Serialize};

use crate::error::{PolymarketError, Result};
use crate::types::TickSize;

/// Model inputs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AsParams {
    /// Risk aversion γ (> 0). Larger skews harder against inventory.
    pub gamma: f64,
    /// Volatility σ of the probability per unit of time (e.g. per day).
    pub sigma: f64,
    /// Time left to the horizon T - t, in the same unit.
    pub horizon: f64,
    /// Order arrival intensity decay k (> 0).
    pub k: f64,
    /// Base quote size in shares.
    pub base_size: Decimal,
    /// Minimum order size in shares.
    pub min_size: Decimal,
    /// Absolute inventory at which the side that would grow it stops quoting.
    pub max_inventory: Decimal,
}

impl Default for AsParams {
    fn default() -> Self {
        Self {
            gamma: 0.1,
            sigma: 0.05,
            horizon: 1.0,
            k: 15.0,
            base_size: Decimal::from(50),
            min_size: Decimal::from(5),
            max_inventory: Decimal::from(500),
        }
    }
}

/// One side's quote.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Quote {
    /// Price, on the tick.
    pub price: Decimal,
    /// Size in shares.
    pub size: Decimal,
}

/// Two-sided quotes for the YES token.
#[derive(Debug, Clone, Serialize)]
pub struct Quotes {
    /// Inventory-skewed reservation price (unrounded, 6 dp).
    pub reservation: Decimal,
    /// Model spread (6 dp).
    pub spread: Decimal,
    /// Bid, if quoting that side.
    pub bid: Option<Quote>,
    /// Ask, if quoting that side.
    pub ask: Option<Quote>,
    /// Why there is no bid (`None` when there is one).
    pub no_bid_reason: Option<String>,
    /// Why there is no ask (`None` when there is one).
    pub no_ask_reason: Option<String>,
}

fn to_dec(x: f64, field: &str) -> Result<Decimal> {
    Decimal::from_f64(x)
        .map(|d| d.round_dp(6))
        .ok_or_else(|| PolymarketError::invalid(field, "model produced a non-finite value"))
}

/// Quotes around `mid` holding `inventory` YES shares (negative = short YES,
/// i.e. long NO).
pub fn quote(mid: Decimal, inventory: Decimal, tick: TickSize, p: &AsParams) -> Result<Quotes> {
    for (name, v) in [
        ("gamma", p.gamma),
        ("sigma", p.sigma),
        ("horizon", p.horizon),
        ("k", p.k),
    ] {
        if !v.is_finite() || v <= 0.0 {
            return Err(PolymarketError::invalid(name, "must be a positive number"));
        }
    }
    if mid <= Decimal::ZERO || mid >= Decimal::ONE {
        return Err(PolymarketError::invalid("mid", "must be between 0 and 1"));
    }
    let s = mid.to_f64().unwrap_or(0.5);
    let q = inventory.to_f64().unwrap_or(0.0);
    let var_t = p.sigma * p.sigma * p.horizon;
    let reservation = s - q * p.gamma * var_t;
    let spread = p.gamma * var_t + (2.0 / p.gamma) * (1.0 + p.gamma / p.k).ln();
    let r = to_dec(reservation, "mid")?;
    let half = to_dec(spread / 2.0, "spread")?;
    let tick_v = tick.value();
    let raw_bid = tick.round_down(r - half);
    let raw_ask = tick.round_up(r + half);
    let mut no_bid_reason = (raw_bid < tick_v).then(|| {
        format!("the model's bid {raw_bid} is below one tick ({tick_v}): no bid is posted")
    });
    let mut no_ask_reason = (raw_ask > Decimal::ONE - tick_v).then(|| {
        format!(
            "the model's ask {raw_ask} is above 1 - tick ({}): no ask is posted",
            Decimal::ONE - tick_v
        )
    });
    let mut bid_px = raw_bid;
    let mut ask_px = raw_ask;
    if no_bid_reason.is_none() && no_ask_reason.is_none() && bid_px >= ask_px {
        // Keep at least one tick between the quotes.
        if ask_px + tick_v <= Decimal::ONE - tick_v {
            ask_px = bid_px + tick_v;
        } else {
            bid_px = ask_px - tick_v;
        }
    }
    // Size skew: shrink the side that grows inventory in proportion to how full it is.
    let fill = if p.max_inventory > Decimal::ZERO {
        (inventory.abs() / p.max_inventory).min(Decimal::ONE)
    } else {
        Decimal::ONE
    };
    let shrink = |grows: bool| -> Decimal {
        let size = if grows {
            p.base_size * (Decimal::ONE - fill)
        } else {
            p.base_size
        };
        size.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::ToZero)
    };
    let bid_size = shrink(inventory > Decimal::ZERO);
    let ask_size = shrink(inventory < Decimal::ZERO);
    let side_reason = |size: Decimal, held: Decimal| {
        if held >= p.max_inventory {
            Some(format!(
                "inventory {held} is at the limit {}",
                p.max_inventory
            ))
        } else if size < p.min_size {
            Some(format!("size {size} is under the minimum {}", p.min_size))
        } else {
            None
        }
    };
    if no_bid_reason.is_none() {
        no_bid_reason = side_reason(bid_size, inventory);
    }
    if no_ask_reason.is_none() {
        no_ask_reason = side_reason(ask_size, -inventory);
    }
    let bid = no_bid_reason.is_none().then_some(Quote {
        price: bid_px,
        size: bid_size,
    });
    let ask = no_ask_reason.is_none().then_some(Quote {
        price: ask_px,
        size: ask_size,
    });
    Ok(Quotes {
        reservation: r,
        spread: to_dec(spread, "spread")?,
        bid,
        ask,
        no_bid_reason,
        no_ask_reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn flat_inventory_quotes_symmetric_on_ticks() {
        let q = quote(dec!(0.50), dec!(0), TickSize::T0_01, &AsParams::default()).expect("quote");
        let (bid, ask) = (q.bid.expect("bid"), q.ask.expect("ask"));
        assert!(bid.price < dec!(0.50) && ask.price > dec!(0.50));
        assert_eq!(dec!(0.50) - bid.price, ask.price - dec!(0.50));
        assert!((bid.price % dec!(0.01)).is_zero() && (ask.price % dec!(0.01)).is_zero());
    }

    #[test]
    fn long_inventory_skews_down_and_shrinks_bids() {
        let p = AsParams {
            gamma: 0.5,
            sigma: 0.1,
            ..AsParams::default()
        };
        let flat = quote(dec!(0.50), dec!(0), TickSize::T0_001, &p).expect("flat");
        let long = quote(dec!(0.50), dec!(250), TickSize::T0_001, &p).expect("long");
        assert!(long.reservation < flat.reservation);
        assert!(long.ask.as_ref().map(|a| a.price) < flat.ask.as_ref().map(|a| a.price));
        assert!(long.bid.as_ref().map(|b| b.size) < flat.bid.as_ref().map(|b| b.size));
        let full = quote(dec!(0.50), dec!(500), TickSize::T0_001, &p).expect("full");
        assert!(full.bid.is_none(), "no bids at max inventory");
        assert!(full.ask.is_some());
    }

    #[test]
    fn bad_params_name_the_field() {
        let p = AsParams {
            gamma: 0.0,
            ..AsParams::default()
        };
        let err = quote(dec!(0.5), dec!(0), TickSize::T0_01, &p).expect_err("gamma");
        assert!(err.to_string().contains("gamma"));
        assert!(quote(dec!(1.2), dec!(0), TickSize::T0_01, &AsParams::default()).is_err());
    }

    #[test]
    fn a_bid_below_one_tick_is_not_posted_and_says_why() {
        // Default model: spread = 0.1 x 0.05^2 x 1 + (2 / 0.1) ln(1 + 0.1/15)
        // = 0.00025 + 20 x 0.0066445 = 0.133140, half 0.066570. At mid 0.02
        // the bid r - half = -0.04657 rounds down to -0.05, below the 0.01
        // tick: the old code clamped it up to 0.01 and posted it.
        let q = quote(dec!(0.02), dec!(0), TickSize::T0_01, &AsParams::default()).expect("quote");
        assert!(q.bid.is_none(), "{q:?}");
        let why = q.no_bid_reason.expect("reason");
        assert!(why.contains("below one tick"), "{why}");
        assert_eq!(q.ask.map(|a| a.price), Some(dec!(0.09))); // 0.08657 rounded up
        assert!(q.no_ask_reason.is_none());
        // The mirror image: at mid 0.98 the ask 1.04657 -> 1.05 is above 0.99.
        let q = quote(dec!(0.98), dec!(0), TickSize::T0_01, &AsParams::default()).expect("quote");
        assert!(q.ask.is_none());
        assert!(
            q.no_ask_reason
                .is_some_and(|r| r.contains("above 1 - tick"))
        );
        assert_eq!(q.bid.map(|b| b.price), Some(dec!(0.91))); // 0.91343 rounded down
    }

    #[test]
    fn quotes_stay_inside_the_price_range() {
        let q = quote(dec!(0.99), dec!(0), TickSize::T0_01, &AsParams::default()).expect("quote");
        if let Some(a) = q.ask {
            assert!(a.price <= dec!(0.99));
        }
        if let Some(b) = q.bid {
            assert!(b.price >= dec!(0.01) && b.price < dec!(0.99));
        }
    }
}
