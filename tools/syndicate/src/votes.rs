//! Quorum votes weighted by units, decided by the rule the fantasy
//! collectives use too (`nt-pool`): a proposal passes once the units that
//! voted reach the quorum share of all units and the yes units are at least
//! the approval share of the votes and outnumber the no units.

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

/// Decides a tally under `quorum_pct` and `approve_pct` (shares in (0, 1])
/// with the pools' shared rule (`nt-pool`, also the fantasy collectives'):
/// approved once the quorum voted and the yes units reach the approval
/// share and outweigh the no units; rejected as soon as that can no longer
/// happen even if every missing unit voted yes; open until then.
pub fn decide(t: &Tally, quorum_pct: Decimal, approve_pct: Decimal) -> Decision {
    let rule = nt_pool::Rule {
        quorum: quorum_pct,
        approve: approve_pct,
        strict_majority: true,
    };
    let tally = nt_pool::Tally {
        total: t.total,
        voted: t.yes + t.no,
        approved: t.yes,
    };
    match nt_pool::decide(&rule, &tally) {
        nt_pool::Outcome::Open => Decision::Open,
        nt_pool::Outcome::Passed => Decision::Approved,
        nt_pool::Outcome::Failed => Decision::Rejected,
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
                    total: dec!(60)
                },
                q,
                a
            ),
            Decision::Rejected,
            "a tie with everyone voted"
        );
        // A tie at quorum stays open while 40 units could still carry it.
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
            Decision::Open
        );
        // 51 of 100 against: no vote can carry it any more.
        assert_eq!(
            decide(
                &Tally {
                    yes: dec!(0),
                    no: dec!(51),
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
                    total: dec!(60)
                },
                q,
                dec!(0.75)
            ),
            Decision::Rejected
        );
        assert_eq!(decide(&Tally::default(), q, a), Decision::Open);
    }
}
