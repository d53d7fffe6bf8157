//! Arbitrage scanner over top-of-book quotes.
//!
//! - Binary markets: buying one YES and one NO costs `ask_yes + ask_no` and
//!   redeems for 1 USDC, so a sum below 1 after fees is a locked profit;
//!   selling both at `bid_yes + bid_no` above 1 (after minting a set for 1)
//!   is the mirror image.
//! - Neg-risk events (mutually exclusive outcomes, exactly one resolves
//!   YES): buying YES of every outcome pays exactly 1, so asks summing below
//!   1 is an arbitrage; bids summing above 1 is the mirror image.
//!
//! Fees follow Polymarket's shape: `fee_rate * min(p, 1 - p)` per share.

use rust_decimal::Decimal;
use serde::Serialize;

use crate::engine::Level;
use crate::types::{Outcome, Side};

/// Top of book of one binary market.
#[derive(Debug, Clone)]
pub struct BinaryQuote {
    /// Condition id.
    pub market: String,
    /// Question or label.
    pub label: String,
    /// Best YES bid.
    pub yes_bid: Option<Level>,
    /// Best YES ask.
    pub yes_ask: Option<Level>,
    /// Best NO bid.
    pub no_bid: Option<Level>,
    /// Best NO ask.
    pub no_ask: Option<Level>,
}

/// A neg-risk event: its outcome markets' YES quotes.
#[derive(Debug, Clone)]
pub struct NegRiskEvent {
    /// Event slug.
    pub event: String,
    /// One quote per outcome market.
    pub outcomes: Vec<BinaryQuote>,
}

/// One order of an arbitrage.
#[derive(Debug, Clone, Serialize)]
pub struct ArbLeg {
    /// Condition id.
    pub market: String,
    /// Outcome label.
    pub label: String,
    /// Token outcome.
    pub outcome: Outcome,
    /// Buy or sell.
    pub side: Side,
    /// Price.
    pub price: Decimal,
}

/// A found arbitrage.
#[derive(Debug, Clone, Serialize)]
pub struct Opportunity {
    /// `binary_buy_both`, `binary_sell_both`, `neg_risk_buy_all`, `neg_risk_sell_all`.
    pub kind: &'static str,
    /// Market (binary) or event (neg-risk).
    pub id: String,
    /// The orders to place, one per leg, each for `size` shares.
    pub legs: Vec<ArbLeg>,
    /// Sum of leg prices per set.
    pub price_sum: Decimal,
    /// Fees per set.
    pub fees_per_set: Decimal,
    /// Profit per set after fees.
    pub edge_per_set: Decimal,
    /// Sets available at the edge (smallest leg size at top of book).
    pub size: Decimal,
    /// `edge_per_set * size`.
    pub expected_profit: Decimal,
}

/// Scanner parameters.
#[derive(Debug, Clone, Copy)]
pub struct ArbParams {
    /// Taker fee rate in basis points (Polymarket's `fee_rate_bps`).
    pub fee_bps: Decimal,
    /// Smallest edge per set worth reporting.
    pub min_edge: Decimal,
}

impl Default for ArbParams {
    fn default() -> Self {
        Self {
            fee_bps: Decimal::ZERO,
            min_edge: Decimal::new(1, 4),
        }
    }
}

fn fee(params: &ArbParams, price: Decimal) -> Decimal {
    params.fee_bps / Decimal::from(10_000) * price.min(Decimal::ONE - price)
}

fn leg(q: &BinaryQuote, outcome: Outcome, side: Side, level: &Level) -> ArbLeg {
    ArbLeg {
        market: q.market.clone(),
        label: q.label.clone(),
        outcome,
        side,
        price: level.price,
    }
}

fn build(
    kind: &'static str,
    id: &str,
    legs: Vec<(ArbLeg, Decimal)>,
    buy: bool,
    params: &ArbParams,
) -> Option<Opportunity> {
    if legs.is_empty() {
        return None;
    }
    let price_sum: Decimal = legs.iter().map(|(l, _)| l.price).sum();
    let fees: Decimal = legs.iter().map(|(l, _)| fee(params, l.price)).sum();
    let edge = if buy {
        Decimal::ONE - price_sum - fees
    } else {
        price_sum - Decimal::ONE - fees
    };
    if edge < params.min_edge {
        return None;
    }
    let size = legs.iter().map(|(_, s)| *s).min()?;
    if size <= Decimal::ZERO {
        return None;
    }
    Some(Opportunity {
        kind,
        id: id.to_string(),
        legs: legs.into_iter().map(|(l, _)| l).collect(),
        price_sum,
        fees_per_set: fees,
        edge_per_set: edge,
        size,
        expected_profit: edge * size,
    })
}

/// Arbitrages in one binary market.
pub fn scan_binary(q: &BinaryQuote, params: &ArbParams) -> Vec<Opportunity> {
    let mut out = Vec::new();
    if let (Some(ya), Some(na)) = (&q.yes_ask, &q.no_ask) {
        let legs = vec![
            (leg(q, Outcome::Yes, Side::Buy, ya), ya.size),
            (leg(q, Outcome::No, Side::Buy, na), na.size),
        ];
        out.extend(build("binary_buy_both", &q.market, legs, true, params));
    }
    if let (Some(yb), Some(nb)) = (&q.yes_bid, &q.no_bid) {
        let legs = vec![
            (leg(q, Outcome::Yes, Side::Sell, yb), yb.size),
            (leg(q, Outcome::No, Side::Sell, nb), nb.size),
        ];
        out.extend(build("binary_sell_both", &q.market, legs, false, params));
    }
    out
}

/// Arbitrages across a neg-risk event's outcomes.
pub fn scan_neg_risk(e: &NegRiskEvent, params: &ArbParams) -> Vec<Opportunity> {
    let mut out = Vec::new();
    if e.outcomes.len() < 2 {
        return out;
    }
    let asks: Option<Vec<(ArbLeg, Decimal)>> = e
        .outcomes
        .iter()
        .map(|q| {
            q.yes_ask
                .as_ref()
                .map(|a| (leg(q, Outcome::Yes, Side::Buy, a), a.size))
        })
        .collect();
    if let Some(legs) = asks {
        out.extend(build("neg_risk_buy_all", &e.event, legs, true, params));
    }
    let bids: Option<Vec<(ArbLeg, Decimal)>> = e
        .outcomes
        .iter()
        .map(|q| {
            q.yes_bid
                .as_ref()
                .map(|b| (leg(q, Outcome::Yes, Side::Sell, b), b.size))
        })
        .collect();
    if let Some(legs) = bids {
        out.extend(build("neg_risk_sell_all", &e.event, legs, false, params));
    }
    out
}

/// Scans every market and event; best expected profit first.
pub fn scan(
    binaries: &[BinaryQuote],
    events: &[NegRiskEvent],
    params: &ArbParams,
) -> Vec<Opportunity> {
    let mut out: Vec<Opportunity> = binaries
        .iter()
        .flat_map(|q| scan_binary(q, params))
        .chain(events.iter().flat_map(|e| scan_neg_risk(e, params)))
        .collect();
    out.sort_by_key(|o| std::cmp::Reverse(o.expected_profit));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn lv(price: Decimal, size: Decimal) -> Option<Level> {
        Some(Level { price, size })
    }

    fn quote(id: &str, yb: Decimal, ya: Decimal, nb: Decimal, na: Decimal) -> BinaryQuote {
        BinaryQuote {
            market: id.into(),
            label: id.into(),
            yes_bid: lv(yb, dec!(100)),
            yes_ask: lv(ya, dec!(50)),
            no_bid: lv(nb, dec!(80)),
            no_ask: lv(na, dec!(30)),
        }
    }

    #[test]
    fn binary_asks_below_one_is_found_with_size_and_profit() {
        let q = quote("m", dec!(0.40), dec!(0.45), dec!(0.50), dec!(0.52));
        let found = scan_binary(&q, &ArbParams::default());
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].kind, "binary_buy_both");
        assert_eq!(found[0].edge_per_set, dec!(0.03));
        assert_eq!(found[0].size, dec!(30));
        assert_eq!(found[0].expected_profit, dec!(0.90));
    }

    #[test]
    fn fees_can_remove_the_edge() {
        let q = quote("m", dec!(0.40), dec!(0.45), dec!(0.50), dec!(0.54));
        // 0.01 edge; 200 bps fee on min(p,1-p): 0.02*0.45 + 0.02*0.46 = 0.0182 > 0.01
        let params = ArbParams {
            fee_bps: dec!(200),
            min_edge: dec!(0.0001),
        };
        assert!(scan_binary(&q, &params).is_empty());
        assert_eq!(scan_binary(&q, &ArbParams::default()).len(), 1);
    }

    #[test]
    fn fair_books_have_no_arbitrage() {
        let q = quote("m", dec!(0.48), dec!(0.52), dec!(0.48), dec!(0.52));
        assert!(scan(&[q], &[], &ArbParams::default()).is_empty());
    }

    #[test]
    fn neg_risk_sums() {
        let o = |id: &str, bid: Decimal, ask: Decimal| BinaryQuote {
            market: id.into(),
            label: id.into(),
            yes_bid: lv(bid, dec!(10)),
            yes_ask: lv(ask, dec!(20)),
            no_bid: None,
            no_ask: None,
        };
        let cheap = NegRiskEvent {
            event: "e".into(),
            outcomes: vec![
                o("a", dec!(0.39), dec!(0.41)),
                o("b", dec!(0.29), dec!(0.31)),
                o("c", dec!(0.19), dec!(0.21)),
                o("d", dec!(0.04), dec!(0.06)),
            ],
        };
        let found = scan_neg_risk(&cheap, &ArbParams::default());
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].kind, "neg_risk_buy_all");
        assert_eq!(found[0].edge_per_set, dec!(0.01));
        assert_eq!(found[0].expected_profit, dec!(0.20));
        let rich = NegRiskEvent {
            event: "e".into(),
            outcomes: vec![
                o("a", dec!(0.55), dec!(0.56)),
                o("b", dec!(0.50), dec!(0.51)),
            ],
        };
        let found = scan_neg_risk(&rich, &ArbParams::default());
        assert_eq!(found[0].kind, "neg_risk_sell_all");
        assert_eq!(found[0].edge_per_set, dec!(0.05));
    }
}
