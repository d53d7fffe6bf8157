//! Drift-threshold rebalancing: trade an asset back to its target weight
//! only when its weight has drifted more than `threshold` from the target,
//! and only when the trade is at least `min_trade`; cash absorbs the rest.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::{QuantError, Result};

/// One trade of a rebalance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RebalanceTrade {
    /// Asset.
    pub symbol: String,
    /// Money to buy (positive) or sell (negative).
    pub value: f64,
    /// Weight before.
    pub weight_before: f64,
    /// Target weight.
    pub target: f64,
}

/// The plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RebalancePlan {
    /// Total value (holdings + cash).
    pub total: f64,
    /// Trades to send.
    pub trades: Vec<RebalanceTrade>,
    /// Assets that drifted but whose trade was under the minimum.
    pub skipped_small: Vec<String>,
    /// Cash after the trades.
    pub cash_after: f64,
}

/// Plans trades from `holdings` (symbol -> value) and `cash` toward
/// `targets` (symbol -> weight, summing to at most 1; the rest stays cash).
pub fn plan(
    holdings: &BTreeMap<String, f64>,
    cash: f64,
    targets: &BTreeMap<String, f64>,
    threshold: f64,
    min_trade: f64,
) -> Result<RebalancePlan> {
    if targets.values().any(|w| !(-1.0..=1.0).contains(w))
        || targets.values().sum::<f64>() > 1.0 + 1e-9
    {
        return Err(QuantError::invalid(
            "targets",
            "weights must be within -1..1 and sum to at most 1",
        ));
    }
    if !(0.0..1.0).contains(&threshold) || min_trade < 0.0 {
        return Err(QuantError::invalid(
            "threshold",
            "threshold must be in [0, 1) and min_trade >= 0",
        ));
    }
    let total = cash + holdings.values().sum::<f64>();
    if !(total > 0.0) {
        return Err(QuantError::invalid(
            "holdings",
            "the portfolio's total value must be positive",
        ));
    }
    let mut symbols: Vec<&String> = holdings.keys().chain(targets.keys()).collect();
    symbols.sort();
    symbols.dedup();
    let (mut trades, mut skipped, mut cash_after) = (vec![], vec![], cash);
    for s in symbols {
        let value = holdings.get(s).copied().unwrap_or(0.0);
        let (w, t) = (value / total, targets.get(s).copied().unwrap_or(0.0));
        if (w - t).abs() <= threshold {
            continue;
        }
        let trade = t * total - value;
        if trade.abs() < min_trade {
            skipped.push(s.clone());
            continue;
        }
        cash_after -= trade;
        trades.push(RebalanceTrade {
            symbol: s.clone(),
            value: trade,
            weight_before: w,
            target: t,
        });
    }
    Ok(RebalancePlan {
        total,
        trades,
        skipped_small: skipped,
        cash_after,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_drifted_assets_trade_and_small_trades_are_skipped() {
        let h: BTreeMap<String, f64> = [
            ("A".into(), 70_000.0),
            ("B".into(), 25_000.0),
            ("C".into(), 4_000.0),
        ]
        .into();
        let t: BTreeMap<String, f64> =
            [("A".into(), 0.6), ("B".into(), 0.3), ("C".into(), 0.05)].into();
        let p = plan(&h, 1_000.0, &t, 0.02, 2_000.0).unwrap();
        // total 100000: A 0.70 vs 0.60 -> sell 10000; B 0.25 vs 0.30 -> buy 5000;
        // C 0.04 vs 0.05 is within 2%.
        assert_eq!(p.trades.len(), 2);
        assert_eq!(
            (p.trades[0].symbol.as_str(), p.trades[0].value),
            ("A", -10_000.0)
        );
        assert_eq!(p.trades[1].value, 5_000.0);
        assert_eq!(p.cash_after, 6_000.0);
        let p = plan(&h, 1_000.0, &t, 0.02, 6_000.0).unwrap();
        assert_eq!(p.skipped_small, vec!["B".to_string()]);
    }
}
