//! Quorum votes weighted by units: a proposal is decided once the units
//! that voted reach the quorum share of all units; it passes when the yes
//! units are at least the approval share of the units that voted and
//! outnumber the no units.
//!
//! The same rule as the fantasy collectives' stake-weighted motions (see
//! the crate docs on the overlap).

use rust_decimal::Decimal;
use serde::Serialize;

/// Votes cast so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Tally {
    /// Units voting yes.
    pub yes: Decimal,
    /// Units voting no.
    pub no: Decimal,
    /// All units outstanding.
    pub total: Decimal,
}

/// Where a proposal stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    /// Quorum not reached yet.
    Open,
    /// Passed.
    Approved,
    /// Failed.
    Rejected,
}

/// Decides a tally under `quorum_pct` and `approve_pct` (shares in (0, 1]).
pub fn decide(t: &Tally, quorum_pct: Decimal, approve_pct: Decimal) -> Decision {
    let voted = t.yes + t.no;
    if t.total <= Decimal::ZERO || voted < quorum_pct * t.total {
        return Decision::Open;
    }
    if t.yes >= approve_pct * voted && t.yes > t.no {
        Decision::Approved
    } else {
        Decision::Rejected
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn quorum_then_majority() {
        let q = dec!(0.5);
        let a = dec!(0.5);
        assert_eq!(
            decide(
                &Tally {
                    yes: dec!(40),
                    no: dec!(0),
                    total: dec!(100)
                },
                q,
                a
            ),
            Decision::Open
        );
        assert_eq!(
            decide(
                &Tally {
                    yes: dec!(50),
                    no: dec!(0),
                    total: dec!(100)
                },
                q,
                a
            ),
            Decision::Approved
        );
        assert_eq!(
            decide(
                &Tally {
                    yes: dec!(30),
                    no: dec!(30),
                    total: dec!(100)
                },
                q,
                a
            ),
            Decision::Rejected
        );
        assert_eq!(
            decide(
                &Tally {
                    yes: dec!(31),
                    no: dec!(30),
                    total: dec!(100)
                },
                q,
                a
            ),
            Decision::Approved
        );
        assert_eq!(
            decide(
                &Tally {
                    yes: dec!(40),
                    no: dec!(20),
                    total: dec!(100)
                },
                q,
                dec!(0.75)
            ),
            Decision::Rejected
        );
        assert_eq!(decide(&Tally::default(), q, a), Decision::Open);
    }
}
