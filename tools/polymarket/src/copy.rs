//! Copy trading: the orders that bring our holdings to a followed wallet's,
//! scaled. A token the wallet no longer holds (sold, or never held) gets a
//! target of 0, so what we hold of it is sold: the copy exits when the
//! wallet exits. Resolved tokens are left alone (they are redeemed, not
//! traded).

use rust_decimal::{Decimal, RoundingStrategy};

/// One token held by an account.
#[derive(Debug, Clone, PartialEq)]
pub struct Holding {
    /// Token id.
    pub token: String,
    /// Shares held.
    pub shares: Decimal,
    /// The token's market has resolved (redeem it; do not trade it).
    pub resolved: bool,
}

/// The change in shares per token (`> 0` buy, `< 0` sell) that makes
/// `mine` equal `source × scale` (targets rounded down to 2 dp), over every
/// token either side holds: tokens of `source` first, in its order, then
/// ours it does not hold. Unchanged and resolved tokens are left out.
pub fn plan(source: &[Holding], mine: &[Holding], scale: Decimal) -> Vec<(String, Decimal)> {
    let resolved = |t: &str| {
        source
            .iter()
            .chain(mine.iter())
            .any(|h| h.token == t && h.resolved)
    };
    let held = |list: &[Holding], t: &str| -> Decimal {
        list.iter().filter(|h| h.token == t).map(|h| h.shares).sum()
    };
    let mut tokens: Vec<&str> = Vec::new();
    for h in source.iter().chain(mine.iter()) {
        if !tokens.contains(&h.token.as_str()) {
            tokens.push(&h.token);
        }
    }
    tokens
        .into_iter()
        .filter(|t| !resolved(t))
        .filter_map(|t| {
            let target = (held(source, t).max(Decimal::ZERO) * scale)
                .round_dp_with_strategy(2, RoundingStrategy::ToZero);
            let diff = target - held(mine, t);
            (!diff.is_zero()).then(|| (t.to_string(), diff))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn h(token: &str, shares: Decimal) -> Holding {
        Holding {
            token: token.into(),
            shares,
            resolved: false,
        }
    }

    #[test]
    fn a_token_the_wallet_no_longer_holds_is_sold() {
        // The wallet holds 1000 of A; we hold 2 of A and 7 of B (which it
        // sold). At scale 0.01: A's target 10, buy 8; B's target 0, sell 7.
        // The old plan walked only the wallet's tokens and kept B.
        let source = [h("A", dec!(1000))];
        let mine = [h("A", dec!(2)), h("B", dec!(7))];
        assert_eq!(
            plan(&source, &mine, dec!(0.01)),
            vec![("A".to_string(), dec!(8)), ("B".to_string(), dec!(-7))]
        );
        // A zero position left behind by a full sale is a target of 0 too.
        let source = [h("A", dec!(0))];
        assert_eq!(
            plan(&source, &mine, dec!(0.01)),
            vec![("A".to_string(), dec!(-2)), ("B".to_string(), dec!(-7))]
        );
    }

    #[test]
    fn resolved_and_matched_tokens_are_left_alone() {
        let source = [h("A", dec!(500))];
        let mut b = h("B", dec!(3));
        b.resolved = true;
        let mine = [h("A", dec!(5)), b];
        assert!(plan(&source, &mine, dec!(0.01)).is_empty());
    }
}
