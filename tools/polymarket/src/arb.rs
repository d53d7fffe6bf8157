//! Arbitrage scanner over top-of-book quotes, net of the venue's fees
//! ([`crate::fees`]: each leg is a taker order and pays its market's
//! platform fee `rate × (p(1 − p))^exponent` per share).
//!
//! Every opportunity states the orders that capture it (`action`):
//!
//! - `binary_buy_both`: buy YES and NO of one market at the asks; the pair
//!   redeems for 1 USDC, so asks summing below 1 after fees lock a profit.
//! - `binary_sell_both`: split 1 USDC into YES + NO (CTF `splitPosition`)
//!   and sell both at the bids, when the bids sum above 1 after fees.
//! - `neg_risk_buy_all`: buy YES of every outcome of a neg-risk event
//!   (exactly one resolves YES, paying 1) when the YES asks sum below 1.
//! - `neg_risk_buy_all_no`: when the YES bids sum above 1, buy NO of every
//!   outcome at the NO asks (`1 − YES bid`): of `n` outcomes `n − 1` resolve
//!   NO, so the set pays `n − 1` for `Σ NO asks = n − Σ YES bids`; nothing
//!   has to be held beforehand.
//!
//! Only complete outcome sets count. A neg-risk event is skipped (and said
//! so by [`incomplete_reason`]) when it is *augmented* (Gamma's
//! `negRiskAugmented`: placeholder outcomes can be renamed and "Other"
//! changes meaning, so the named outcomes are not a fixed exhaustive set;
//! Polymarket's neg-risk docs say to trade only the named outcomes there),
//! when an outcome is a placeholder (`Person A`, `Candidate BC`...), or
//! when it has an "Other" outcome and the event is not known to be a plain
//! (non-augmented) neg-risk event, in which an explicit "Other" is the
//! catch-all that makes the set exhaustive.

use std::collections::HashMap;

use rust_decimal::Decimal;
use serde::Serialize;

use crate::engine::Level;
use crate::fees::{FeeSchedule, Role};
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

/// A neg-risk event: its outcome markets' quotes.
#[derive(Debug, Clone)]
pub struct NegRiskEvent {
    /// Event slug.
    pub event: String,
    /// One quote per outcome market.
    pub outcomes: Vec<BinaryQuote>,
    /// Gamma's `negRiskAugmented`: `Some(true)` augmented (placeholders),
    /// `Some(false)` known plain neg-risk, `None` not known.
    pub augmented: Option<bool>,
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
    /// Taker fee per share at that price (unrounded).
    pub fee_per_share: Decimal,
}

/// A found arbitrage.
#[derive(Debug, Clone, Serialize)]
pub struct Opportunity {
    /// `binary_buy_both`, `binary_sell_both`, `neg_risk_buy_all`, `neg_risk_buy_all_no`.
    pub kind: &'static str,
    /// Market (binary) or event (neg-risk).
    pub id: String,
    /// The orders that capture it, in words.
    pub action: String,
    /// The orders to place, one per leg, each for `size` shares.
    pub legs: Vec<ArbLeg>,
    /// Sum of leg prices per set.
    pub price_sum: Decimal,
    /// What one set pays (or, for `binary_sell_both`, costs to mint): USDC.
    pub payout_per_set: Decimal,
    /// Taker fees per set (unrounded).
    pub fees_per_set: Decimal,
    /// Profit per set after fees.
    pub edge_per_set: Decimal,
    /// Sets available at the edge (smallest leg size at top of book).
    pub size: Decimal,
    /// Fees on `size` sets as the venue charges them (each leg rounded down to 5 dp).
    pub fees_total: Decimal,
    /// Profit on `size` sets after `fees_total`.
    pub expected_profit: Decimal,
}

/// Fee schedules by market, with a default for markets not listed.
#[derive(Debug, Clone, Default)]
pub struct FeeBook {
    /// Schedule of a market not in `per_market`.
    pub default: FeeSchedule,
    /// Schedules by condition id.
    pub per_market: HashMap<String, FeeSchedule>,
}

impl FeeBook {
    /// One schedule for every market.
    pub fn flat(schedule: FeeSchedule) -> Self {
        Self {
            default: schedule,
            per_market: HashMap::new(),
        }
    }

    /// The schedule of `market`.
    pub fn for_market(&self, market: &str) -> &FeeSchedule {
        self.per_market.get(market).unwrap_or(&self.default)
    }
}

/// Scanner parameters.
#[derive(Debug, Clone)]
pub struct ArbParams {
    /// Taker fee schedules of the markets scanned.
    pub fees: FeeBook,
    /// Smallest edge per set worth reporting.
    pub min_edge: Decimal,
}

impl Default for ArbParams {
    fn default() -> Self {
        Self {
            fees: FeeBook::default(),
            min_edge: Decimal::new(1, 4),
        }
    }
}

fn leg(q: &BinaryQuote, outcome: Outcome, side: Side, level: &Level, p: &ArbParams) -> ArbLeg {
    ArbLeg {
        market: q.market.clone(),
        label: q.label.clone(),
        outcome,
        side,
        price: level.price,
        fee_per_share: p.fees.for_market(&q.market).per_share(level.price),
    }
}

/// How a set turns into money: bought sets pay `payout`, sold sets cost `payout` to mint.
#[derive(Clone, Copy)]
enum Flow {
    Buy(Decimal),
    Sell(Decimal),
}

fn build(
    kind: &'static str,
    id: &str,
    action: String,
    legs: Vec<(ArbLeg, Decimal)>,
    flow: Flow,
    params: &ArbParams,
) -> Option<Opportunity> {
    if legs.is_empty() {
        return None;
    }
    let price_sum: Decimal = legs.iter().map(|(l, _)| l.price).sum();
    let fees: Decimal = legs.iter().map(|(l, _)| l.fee_per_share).sum();
    let (payout, gross) = match flow {
        Flow::Buy(pays) => (pays, pays - price_sum),
        Flow::Sell(costs) => (costs, price_sum - costs),
    };
    let edge = gross - fees;
    if edge < params.min_edge {
        return None;
    }
    let size = legs.iter().map(|(_, s)| *s).min()?;
    if size <= Decimal::ZERO {
        return None;
    }
    let fees_total: Decimal = legs
        .iter()
        .map(|(l, _)| {
            params
                .fees
                .for_market(&l.market)
                .platform_fee(Role::Taker, size, l.price)
        })
        .sum();
    Some(Opportunity {
        kind,
        id: id.to_string(),
        action,
        legs: legs.into_iter().map(|(l, _)| l).collect(),
        price_sum,
        payout_per_set: payout,
        fees_per_set: fees,
        edge_per_set: edge,
        size,
        fees_total,
        expected_profit: gross * size - fees_total,
    })
}

/// Arbitrages in one binary market.
pub fn scan_binary(q: &BinaryQuote, params: &ArbParams) -> Vec<Opportunity> {
    let mut out = Vec::new();
    if let (Some(ya), Some(na)) = (&q.yes_ask, &q.no_ask) {
        let legs = vec![
            (leg(q, Outcome::Yes, Side::Buy, ya, params), ya.size),
            (leg(q, Outcome::No, Side::Buy, na, params), na.size),
        ];
        let action = format!(
            "buy YES at {} and NO at {} (taker); each YES+NO pair redeems for 1 pUSD",
            ya.price, na.price
        );
        out.extend(build(
            "binary_buy_both",
            &q.market,
            action,
            legs,
            Flow::Buy(Decimal::ONE),
            params,
        ));
    }
    if let (Some(yb), Some(nb)) = (&q.yes_bid, &q.no_bid) {
        let legs = vec![
            (leg(q, Outcome::Yes, Side::Sell, yb, params), yb.size),
            (leg(q, Outcome::No, Side::Sell, nb, params), nb.size),
        ];
        let action = format!(
            "split 1 pUSD into YES+NO per set, then sell YES at {} and NO at {} (taker)",
            yb.price, nb.price
        );
        out.extend(build(
            "binary_sell_both",
            &q.market,
            action,
            legs,
            Flow::Sell(Decimal::ONE),
            params,
        ));
    }
    out
}

const PLACEHOLDER_WORDS: &[&str] = &[
    "person",
    "player",
    "candidate",
    "team",
    "outcome",
    "option",
    "company",
    "country",
    "party",
    "individual",
    "club",
    "nominee",
];

/// Whether an outcome label is a placeholder of an augmented neg-risk
/// event (`Person A`, `Candidate BC`: a generic noun and one or two
/// capital letters).
pub fn is_placeholder(label: &str) -> bool {
    let words: Vec<&str> = label
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    words.windows(2).any(|w| {
        PLACEHOLDER_WORDS.contains(&w[0].to_ascii_lowercase().as_str())
            && (1..=2).contains(&w[1].len())
            && w[1].chars().all(|c| c.is_ascii_uppercase())
    })
}

/// Whether an outcome label is a catch-all ("Other", "Another candidate",
/// "Someone else", "Field", "None of the above").
pub fn is_other(label: &str) -> bool {
    let l = label.trim().to_ascii_lowercase();
    let words: Vec<&str> = l
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    words
        .iter()
        .any(|w| matches!(*w, "other" | "others" | "another"))
        || l.contains("someone else")
        || l.contains("none of the")
        || l == "field"
}

/// Why a neg-risk event's outcomes are not a provably complete set (so it
/// is not scanned), or `None` when they are.
pub fn incomplete_reason(e: &NegRiskEvent) -> Option<String> {
    if e.outcomes.len() < 2 {
        return Some(format!(
            "{} outcome market(s) listed; a set needs at least 2",
            e.outcomes.len()
        ));
    }
    if e.augmented == Some(true) {
        return Some(
            "augmented neg-risk event (negRiskAugmented): placeholders can be renamed and              'Other' changes meaning, so the outcomes are not a fixed complete set"
                .into(),
        );
    }
    if let Some(q) = e.outcomes.iter().find(|q| is_placeholder(&q.label)) {
        return Some(format!("placeholder outcome `{}`", q.label));
    }
    if e.augmented.is_none()
        && let Some(q) = e.outcomes.iter().find(|q| is_other(&q.label))
    {
        return Some(format!(
            "catch-all outcome `{}` in an event not known to be plain neg-risk              (negRiskAugmented unknown)",
            q.label
        ));
    }
    None
}

/// Arbitrages across a neg-risk event's outcomes (none when its outcome
/// set is not complete, see [`incomplete_reason`]).
pub fn scan_neg_risk(e: &NegRiskEvent, params: &ArbParams) -> Vec<Opportunity> {
    let mut out = Vec::new();
    if incomplete_reason(e).is_some() {
        return out;
    }
    let n = e.outcomes.len();
    let asks: Option<Vec<(ArbLeg, Decimal)>> = e
        .outcomes
        .iter()
        .map(|q| {
            q.yes_ask
                .as_ref()
                .map(|a| (leg(q, Outcome::Yes, Side::Buy, a, params), a.size))
        })
        .collect();
    if let Some(legs) = asks {
        let action = format!(
            "buy YES of all {n} outcomes at the asks (taker); exactly one resolves YES and pays 1 pUSD"
        );
        out.extend(build(
            "neg_risk_buy_all",
            &e.event,
            action,
            legs,
            Flow::Buy(Decimal::ONE),
            params,
        ));
    }
    let no_asks: Option<Vec<(ArbLeg, Decimal)>> = e
        .outcomes
        .iter()
        .map(|q| {
            q.no_ask
                .as_ref()
                .map(|a| (leg(q, Outcome::No, Side::Buy, a, params), a.size))
        })
        .collect();
    if let Some(legs) = no_asks {
        let pays = Decimal::from(n - 1);
        let action = format!(
            "YES bids sum above 1: buy NO of all {n} outcomes at the asks (taker);              {} resolve NO and pay {pays} pUSD per set",
            n - 1
        );
        out.extend(build(
            "neg_risk_buy_all_no",
            &e.event,
            action,
            legs,
            Flow::Buy(pays),
            params,
        ));
    }
    out
}

/// Neg-risk events left out of a scan, with the reason.
pub fn skipped(events: &[NegRiskEvent]) -> Vec<(String, String)> {
    events
        .iter()
        .filter_map(|e| incomplete_reason(e).map(|r| (e.event.clone(), r)))
        .collect()
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

    fn flat(rate: Decimal) -> ArbParams {
        ArbParams {
            fees: FeeBook::flat(FeeSchedule::new(rate, 1).expect("schedule")),
            min_edge: dec!(0.0001),
        }
    }

    /// A neg-risk outcome whose NO book mirrors its YES book (NO ask = 1 − YES bid).
    fn o(id: &str, bid: Decimal, ask: Decimal) -> BinaryQuote {
        BinaryQuote {
            market: id.into(),
            label: id.into(),
            yes_bid: lv(bid, dec!(10)),
            yes_ask: lv(ask, dec!(20)),
            no_bid: lv(Decimal::ONE - ask, dec!(20)),
            no_ask: lv(Decimal::ONE - bid, dec!(10)),
        }
    }

    fn event(outcomes: Vec<BinaryQuote>, augmented: Option<bool>) -> NegRiskEvent {
        NegRiskEvent {
            event: "e".into(),
            outcomes,
            augmented,
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
        assert!(
            found[0]
                .action
                .starts_with("buy YES at 0.45 and NO at 0.52")
        );
    }

    #[test]
    fn fees_are_the_venue_curve_and_can_remove_the_edge() {
        // Asks 0.45 + 0.54 = 0.99: 0.01 gross per set.
        // p(1-p): 0.45 x 0.55 = 0.2475, 0.54 x 0.46 = 0.2484; sum 0.4959.
        let q = quote("m", dec!(0.40), dec!(0.45), dec!(0.50), dec!(0.54));
        // rate 0.05: fees 0.05 x 0.4959 = 0.024795 > 0.01, nothing left.
        assert!(scan_binary(&q, &flat(dec!(0.05))).is_empty());
        // rate 0.01: fees 0.004959, edge 0.01 - 0.004959 = 0.005041 on 30 sets;
        // charged per leg, rounded down to 5 dp: 30 x 0.01 x 0.2475 = 0.07425,
        // 30 x 0.01 x 0.2484 = 0.07452; total 0.14877; profit 0.30 - 0.14877 = 0.15123.
        let found = scan_binary(&q, &flat(dec!(0.01)));
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].fees_per_set, dec!(0.004959));
        assert_eq!(found[0].edge_per_set, dec!(0.005041));
        assert_eq!(found[0].fees_total, dec!(0.14877));
        assert_eq!(found[0].expected_profit, dec!(0.15123));
    }

    #[test]
    fn fair_books_have_no_arbitrage() {
        let q = quote("m", dec!(0.48), dec!(0.52), dec!(0.48), dec!(0.52));
        assert!(scan(&[q], &[], &ArbParams::default()).is_empty());
    }

    #[test]
    fn neg_risk_yes_asks_below_one_buys_every_yes() {
        // Asks 0.41 + 0.31 + 0.21 + 0.06 = 0.99: edge 0.01 x 20 sets = 0.20.
        // Bids sum 0.91, so NO asks sum 4 - 0.91 = 3.09 > 3 paid: no NO set.
        let cheap = event(
            vec![
                o("a", dec!(0.39), dec!(0.41)),
                o("b", dec!(0.29), dec!(0.31)),
                o("c", dec!(0.19), dec!(0.21)),
                o("d", dec!(0.04), dec!(0.06)),
            ],
            Some(false),
        );
        let found = scan_neg_risk(&cheap, &ArbParams::default());
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].kind, "neg_risk_buy_all");
        assert_eq!(found[0].payout_per_set, dec!(1));
        assert_eq!(found[0].edge_per_set, dec!(0.01));
        assert_eq!(found[0].expected_profit, dec!(0.20));
    }

    #[test]
    fn neg_risk_yes_bids_above_one_buys_every_no_for_n_minus_one() {
        // YES bids 0.50 + 0.40 + 0.20 = 1.10 > 1. NO asks 0.50 + 0.60 + 0.80 = 1.90;
        // two of three NOs pay: 2 - 1.90 = 0.10 per set before fees.
        let rich = event(
            vec![
                o("a", dec!(0.50), dec!(0.52)),
                o("b", dec!(0.40), dec!(0.42)),
                o("c", dec!(0.20), dec!(0.22)),
            ],
            Some(false),
        );
        let found = scan_neg_risk(&rich, &ArbParams::default());
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].kind, "neg_risk_buy_all_no");
        assert_eq!(found[0].payout_per_set, dec!(2));
        assert_eq!(found[0].edge_per_set, dec!(0.10));
        assert!(
            found[0]
                .legs
                .iter()
                .all(|l| l.outcome == Outcome::No && l.side == Side::Buy)
        );
        assert!(found[0].action.contains("buy NO of all 3 outcomes"));
        // Rate 0.04, exponent 1: p(1-p) of the NO asks 0.25 + 0.24 + 0.16 = 0.65,
        // x 0.04 = 0.026 per set; edge 0.074. On 10 sets: 0.1 + 0.096 + 0.064 = 0.26
        // in fees, profit 10 x 0.10 - 0.26 = 0.74.
        let found = scan_neg_risk(&rich, &flat(dec!(0.04)));
        assert_eq!(found[0].fees_per_set, dec!(0.026));
        assert_eq!(found[0].edge_per_set, dec!(0.074));
        assert_eq!(found[0].size, dec!(10));
        assert_eq!(found[0].fees_total, dec!(0.26));
        assert_eq!(found[0].expected_profit, dec!(0.74));
    }

    #[test]
    fn only_complete_outcome_sets_count() {
        // Asks sum 0.90: an arbitrage if (and only if) the set is complete.
        let legs = |third: &str| {
            vec![
                o("Alpha FC", dec!(0.38), dec!(0.40)),
                o("Beta United", dec!(0.28), dec!(0.30)),
                o(third, dec!(0.18), dec!(0.20)),
            ]
        };
        let p = ArbParams::default();
        assert_eq!(scan_neg_risk(&event(legs("Gamma City"), None), &p).len(), 1);
        // Augmented events are skipped whatever their labels.
        let aug = event(legs("Gamma City"), Some(true));
        assert!(scan_neg_risk(&aug, &p).is_empty());
        assert!(incomplete_reason(&aug).is_some_and(|r| r.contains("augmented")));
        // A placeholder outcome: skipped.
        let ph = event(legs("Person B"), Some(false));
        assert!(scan_neg_risk(&ph, &p).is_empty());
        assert!(incomplete_reason(&ph).is_some_and(|r| r.contains("Person B")));
        // "Other" counts only in an event known to be plain neg-risk.
        assert!(scan_neg_risk(&event(legs("Other"), None), &p).is_empty());
        assert_eq!(
            scan_neg_risk(&event(legs("Other"), Some(false)), &p).len(),
            1
        );
        let q = event(legs("Will any other club win the league?"), None);
        assert!(incomplete_reason(&q).is_some_and(|r| r.contains("catch-all")));
        assert_eq!(skipped(&[q, aug]).len(), 2);
        assert!(!is_placeholder("Alpha FC") && !is_other("Beta United"));
        assert!(is_placeholder("Will Candidate BC win?"));
    }
}
