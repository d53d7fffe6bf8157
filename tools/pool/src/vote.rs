//! Stake-weighted quorum votes. A motion passes once the stake that voted
//! reaches the quorum share of all stake and the approving stake reaches
//! the approval share of the votes (and, under a strict majority, outweighs
//! the stake against). It fails as soon as it could not pass even if every
//! missing vote approved, or once everyone voted without it passing.

use rust_decimal::Decimal;
use serde::Serialize;

/// How a pool decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// Share of all stake that must vote, in (0, 1].
    pub quorum: Decimal,
    /// Share of the votes that must approve, in (0, 1].
    pub approve: Decimal,
    /// Approving stake must also exceed the stake against (a tie fails).
    pub strict_majority: bool,
}

/// Stake so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    /// All stake (units) that may vote.
    pub total: Decimal,
    /// Stake that voted.
    pub voted: Decimal,
    /// Stake that approved (part of `voted`).
    pub approved: Decimal,
}

/// Where a motion stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Undecided: more votes can still change it.
    Open,
    /// Passed.
    Passed,
    /// Failed.
    Failed,
}

impl Rule {
    fn passes(&self, voted: Decimal, approved: Decimal) -> bool {
        approved >= self.approve * voted && (!self.strict_majority || approved > voted - approved)
    }
}

/// Decides `t` under `rule`.
pub fn decide(rule: &Rule, t: &Tally) -> Outcome {
    if t.total <= Decimal::ZERO {
        return Outcome::Open;
    }
    if t.voted >= rule.quorum * t.total && rule.passes(t.voted, t.approved) {
        return Outcome::Passed;
    }
    let missing = t.total - t.voted;
    // The best case: every missing vote approves.
    if missing <= Decimal::ZERO || !rule.passes(t.total, t.approved + missing) {
        return Outcome::Failed;
    }
    Outcome::Open
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn t(total: Decimal, voted: Decimal, approved: Decimal) -> Tally {
        Tally {
            total,
            voted,
            approved,
        }
    }

    #[test]
    fn quorum_then_approval_share() {
        let r = Rule {
            quorum: dec!(0.6),
            approve: dec!(0.5),
            strict_majority: false,
        };
        assert_eq!(decide(&r, &t(dec!(100), dec!(50), dec!(50))), Outcome::Open);
        // A tie passes without a strict majority ...
        assert_eq!(
            decide(&r, &t(dec!(100), dec!(60), dec!(30))),
            Outcome::Passed
        );
        // ... and not with one: the 40 missing can still carry it.
        let strict = Rule {
            strict_majority: true,
            ..r
        };
        assert_eq!(
            decide(&strict, &t(dec!(100), dec!(60), dec!(30))),
            Outcome::Open
        );
        assert_eq!(
            decide(&strict, &t(dec!(100), dec!(61), dec!(31))),
            Outcome::Passed
        );
        assert_eq!(decide(&r, &t(dec!(100), dec!(70), dec!(20))), Outcome::Open);
        // 80 voted, 10 approved: even the 20 missing cannot reach half of 100.
        assert_eq!(
            decide(&r, &t(dec!(100), dec!(80), dec!(10))),
            Outcome::Failed
        );
        // Everyone voted without reaching 70%.
        let high = Rule {
            approve: dec!(0.7),
            ..r
        };
        assert_eq!(
            decide(&high, &t(dec!(100), dec!(100), dec!(65))),
            Outcome::Failed
        );
        // Strict: half of all stake against can never be outweighed.
        assert_eq!(
            decide(&strict, &t(dec!(100), dec!(50), dec!(0))),
            Outcome::Failed
        );
        assert_eq!(decide(&r, &Tally::default()), Outcome::Open);
    }
}
