//! Risk limits and the kill switch. Every refusal names the limit it hit,
//! its value and what the order would have made of it.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::error::{PolymarketError, Result};

/// The limits in force (USDC). Stored as JSON in `pm_risk`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RiskLimits {
    /// Largest notional (price × size) of one order.
    pub max_order_notional: Decimal,
    /// Largest exposure (cost of positions + open buys) in one market.
    pub max_market_exposure: Decimal,
    /// Largest exposure across all markets.
    pub max_total_exposure: Decimal,
    /// Largest loss since the start of the UTC day before new orders are refused.
    pub daily_loss_limit: Decimal,
}

impl Default for RiskLimits {
    fn default() -> Self {
        Self {
            max_order_notional: Decimal::from(1_000),
            max_market_exposure: Decimal::from(2_500),
            max_total_exposure: Decimal::from(10_000),
            daily_loss_limit: Decimal::from(500),
        }
    }
}

/// Limits plus the kill switch and the day's starting equity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RiskState {
    /// The limits.
    pub limits: RiskLimits,
    /// When on, every order is refused (and open orders were cancelled).
    pub kill_switch: bool,
    /// UTC day number (ms / 86 400 000) the equity mark belongs to.
    pub day: i64,
    /// Equity at the start of `day`.
    pub day_start_equity: Decimal,
}

/// What an order would add, for the checks.
#[derive(Debug, Clone)]
pub struct OrderExposure {
    /// Market condition id (for messages).
    pub market: String,
    /// Notional of this order (price × size) when it buys; zero for sells.
    pub notional: Decimal,
    /// Current exposure in the market.
    pub market_exposure: Decimal,
    /// Current exposure across markets.
    pub total_exposure: Decimal,
    /// Equity now (cash + positions at mid).
    pub equity: Decimal,
}

impl RiskState {
    /// Fresh state for the day of `now_ms` with `equity` as its start.
    pub fn new(limits: RiskLimits, now_ms: i64, equity: Decimal) -> Self {
        Self {
            limits,
            kill_switch: false,
            day: now_ms.div_euclid(86_400_000),
            day_start_equity: equity,
        }
    }

    /// Rolls the day mark forward when the UTC day changed.
    pub fn roll_day(&mut self, now_ms: i64, equity: Decimal) -> bool {
        let day = now_ms.div_euclid(86_400_000);
        if day != self.day {
            self.day = day;
            self.day_start_equity = equity;
            return true;
        }
        false
    }

    /// Loss since the day started (positive = loss).
    pub fn daily_loss(&self, equity: Decimal) -> Decimal {
        (self.day_start_equity - equity).max(Decimal::ZERO)
    }

    /// Checks one order against the kill switch and every limit.
    pub fn check(&self, o: &OrderExposure) -> Result<()> {
        let l = &self.limits;
        if self.kill_switch {
            return Err(PolymarketError::Refused(
                "kill switch is on: no new orders (turn it off with polymarket_set_risk_limits kill_switch=false)".into(),
            ));
        }
        let loss = self.daily_loss(o.equity);
        if loss >= l.daily_loss_limit {
            return Err(PolymarketError::Refused(format!(
                "daily_loss_limit {} reached: down {loss} pUSD since the start of the UTC day",
                l.daily_loss_limit
            )));
        }
        if o.notional > l.max_order_notional {
            return Err(PolymarketError::Refused(format!(
                "max_order_notional {}: this order is {} pUSD",
                l.max_order_notional, o.notional
            )));
        }
        let market_after = o.market_exposure + o.notional;
        if market_after > l.max_market_exposure {
            return Err(PolymarketError::Refused(format!(
                "max_market_exposure {} in market {}: exposure would be {market_after} pUSD (now {})",
                l.max_market_exposure, o.market, o.market_exposure
            )));
        }
        let total_after = o.total_exposure + o.notional;
        if total_after > l.max_total_exposure {
            return Err(PolymarketError::Refused(format!(
                "max_total_exposure {}: exposure would be {total_after} pUSD (now {})",
                l.max_total_exposure, o.total_exposure
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn exposure(notional: Decimal) -> OrderExposure {
        OrderExposure {
            market: "m".into(),
            notional,
            market_exposure: dec!(2000),
            total_exposure: dec!(9000),
            equity: dec!(10000),
        }
    }

    #[test]
    fn each_refusal_names_its_limit() {
        let mut s = RiskState::new(RiskLimits::default(), 0, dec!(10000));
        assert!(s.check(&exposure(dec!(100))).is_ok());
        let e = s
            .check(&exposure(dec!(1500)))
            .expect_err("notional")
            .to_string();
        assert!(e.contains("max_order_notional"), "{e}");
        let e = s
            .check(&exposure(dec!(600)))
            .expect_err("market")
            .to_string();
        assert!(e.contains("max_market_exposure"), "{e}");
        let mut x = exposure(dec!(400));
        x.market_exposure = dec!(0);
        x.total_exposure = dec!(9800);
        let e = s.check(&x).expect_err("total").to_string();
        assert!(e.contains("max_total_exposure"), "{e}");
        let mut x = exposure(dec!(1));
        x.equity = dec!(9400);
        let e = s.check(&x).expect_err("loss").to_string();
        assert!(e.contains("daily_loss_limit"), "{e}");
        s.kill_switch = true;
        let e = s.check(&exposure(dec!(1))).expect_err("kill").to_string();
        assert!(e.contains("kill switch"), "{e}");
    }

    #[test]
    fn day_rolls_reset_the_loss_mark() {
        let mut s = RiskState::new(RiskLimits::default(), 0, dec!(10000));
        assert!(!s.roll_day(1000, dec!(9000)));
        assert_eq!(s.daily_loss(dec!(9000)), dec!(1000));
        assert!(s.roll_day(86_400_000, dec!(9000)));
        assert_eq!(s.daily_loss(dec!(9000)), dec!(0));
    }
}
