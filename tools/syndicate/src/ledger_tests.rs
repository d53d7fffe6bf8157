//! Fund accounting: worked examples and the conservation property.

use super::*;
use proptest::prelude::*;
use rust_decimal_macros::dec;

fn syndicate(lockup_ms: i64) -> Syndicate {
    let mut s = Syndicate {
        id: "s1".into(),
        name: "Test".into(),
        rules: Rules {
            quorum_pct: dec!(0.5),
            approve_pct: dec!(0.5),
            vote_threshold: dec!(100),
            lockup_ms,
            performance_fee_pct: dec!(0.2),
            tiers: default_tiers(),
        },
        fund: Fund::default(),
        members: BTreeMap::new(),
    };
    s.add_member("ann", Role::Lead, 0).unwrap();
    s.add_member("bob", Role::Member, 0).unwrap();
    s.add_member("cat", Role::Analyst, 0).unwrap();
    s
}

/// Units at NAV: Ann's 1000 buys 1000 units at 1.00; a 200 bet at 2.50
/// wins (+300), NAV 1300 over 1000 units = 1.30; Bob's 650 buys 500 units;
/// Ann's 1000 units redeem for 1300.
#[test]
fn units_are_priced_at_nav() {
    let mut s = syndicate(0);
    let e = s.contribute("ann", dec!(1000), 0).unwrap();
    assert_eq!(e.units, dec!(1000));
    s.place_bet(dec!(200)).unwrap();
    let (_, pnl) = s.settle_bet(dec!(200), dec!(2.5), "won").unwrap();
    assert_eq!(pnl, dec!(300));
    assert_eq!(s.fund.nav_per_unit(), dec!(1.3));
    let e = s.contribute("bob", dec!(650), 1).unwrap();
    assert_eq!(e.units, dec!(500));
    let e = s.withdraw("ann", Withdrawal::All, 2).unwrap();
    assert_eq!(e.amount, dec!(-1300));
    assert_eq!(s.fund.nav(), dec!(650));
    assert!(s.fund.balances());
}

/// 100 by units 1000 : 500 is 66.666… : 33.333…; rounded down that is
/// 66.66 + 33.33 = 99.99, and the last cent goes to the larger remainder.
#[test]
fn proportional_distribution_to_the_cent() {
    let mut s = syndicate(0);
    s.contribute("ann", dec!(1000), 0).unwrap();
    s.contribute("bob", dec!(500), 0).unwrap();
    let e = s.distribute(dec!(100), Method::Proportional).unwrap();
    let paid: Vec<(String, Decimal)> = e
        .iter()
        .map(|x| (x.member.clone().unwrap(), -x.amount))
        .collect();
    assert_eq!(
        paid,
        vec![("ann".into(), dec!(66.67)), ("bob".into(), dec!(33.33))]
    );
    assert_eq!(s.fund.cash, dec!(1400));
    assert!(s.fund.balances());
}

/// Hybrid: 20 % of 100 to the lead (Ann), 80 by units 1:1 → Ann 60, Bob 40.
/// Tiered: Ann's net 1000 is in the 1.1 tier, Bob's 1000 too: equal; with
/// Bob at 5000 (1.25) against Ann's 1000 (1.1) the weights are
/// 5000·1.25 : 1000·1.1 = 6250 : 1100, so 100 splits 85.03 : 14.97.
#[test]
fn hybrid_and_tiered_distributions() {
    let mut s = syndicate(0);
    s.contribute("ann", dec!(1000), 0).unwrap();
    s.contribute("bob", dec!(1000), 0).unwrap();
    let e = s.distribute(dec!(100), Method::Hybrid).unwrap();
    let ann: Decimal = e
        .iter()
        .filter(|x| x.member.as_deref() == Some("ann"))
        .map(|x| -x.amount)
        .sum();
    let bob: Decimal = e
        .iter()
        .filter(|x| x.member.as_deref() == Some("bob"))
        .map(|x| -x.amount)
        .sum();
    assert_eq!((ann, bob), (dec!(60), dec!(40)));
    assert!(
        e.iter()
            .any(|x| x.kind == "performance_fee" && x.amount == dec!(-20))
    );

    let mut s = syndicate(0);
    s.contribute("ann", dec!(1000), 0).unwrap();
    s.contribute("bob", dec!(5000), 0).unwrap();
    let e = s.distribute(dec!(100), Method::Tiered).unwrap();
    let got: Vec<Decimal> = e.iter().map(|x| -x.amount).collect();
    assert_eq!(got, vec![dec!(14.97), dec!(85.03)]);
}

#[test]
fn lockup_cash_and_holding_rules_are_named() {
    let mut s = syndicate(1000);
    s.contribute("ann", dec!(100), 0).unwrap();
    let rule = |r: Result<Entry>| match r {
        Err(SyndicateError::Rule { rule, .. }) => rule,
        other => format!("{other:?}"),
    };
    assert_eq!(rule(s.withdraw("ann", Withdrawal::All, 500)), "lockup");
    s.place_bet(dec!(60)).unwrap();
    assert_eq!(
        rule(s.withdraw("ann", Withdrawal::All, 2000)),
        "cash_available"
    );
    assert_eq!(rule(s.withdraw("bob", Withdrawal::All, 2000)), "units_held");
    assert_eq!(
        rule(s.withdraw("ann", Withdrawal::Amount(dec!(200)), 2000)),
        "units_held"
    );
    assert!(
        s.withdraw("ann", Withdrawal::Amount(dec!(40)), 2000)
            .is_ok()
    );
}

#[test]
fn allocation_sums_exactly() {
    let w = vec![
        ("a".to_string(), dec!(1)),
        ("b".to_string(), dec!(1)),
        ("c".to_string(), dec!(1)),
    ];
    let parts = allocate(dec!(100), &w);
    assert_eq!(parts.iter().map(|p| p.1).sum::<Decimal>(), dec!(100));
    assert_eq!(parts[0].1, dec!(33.34));
}

#[derive(Debug, Clone)]
enum Op {
    Contribute(usize, u32),
    Withdraw(usize, u32),
    WithdrawAll(usize),
    Bet(u32, u32, u8),
    Distribute(u32, u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..3usize, 1..500_000u32).prop_map(|(m, c)| Op::Contribute(m, c)),
        (0..3usize, 1..200_000u32).prop_map(|(m, c)| Op::Withdraw(m, c)),
        (0..3usize).prop_map(Op::WithdrawAll),
        (1..100_000u32, 101..900u32, 0..3u8).prop_map(|(s, o, r)| Op::Bet(s, o, r)),
        (1..100_000u32, 0..3u8).prop_map(|(a, m)| Op::Distribute(a, m)),
    ]
}

proptest! {
    /// Whatever happens, money is conserved: the pool's NAV equals money
    /// in minus money out plus bet profit, to the cent; members' units sum
    /// to the units outstanding; every member's running totals sum to the
    /// pool's; nothing goes negative.
    #[test]
    fn accounting_conserves_money(ops in proptest::collection::vec(op(), 1..60)) {
        let mut s = syndicate(0);
        let ids = ["ann", "bob", "cat"];
        let mut open: Vec<(Decimal, Decimal)> = Vec::new();
        for (t, o) in ops.into_iter().enumerate() {
            let t = t as i64;
            let _ = match o {
                Op::Contribute(m, c) => s.contribute(ids[m], Decimal::new(c.into(), 2), t).map(|_| ()),
                Op::Withdraw(m, c) => s.withdraw(ids[m], Withdrawal::Amount(Decimal::new(c.into(), 2)), t).map(|_| ()),
                Op::WithdrawAll(m) => s.withdraw(ids[m], Withdrawal::All, t).map(|_| ()),
                Op::Bet(st, odds, r) => {
                    let stake = Decimal::new(st.into(), 2);
                    let odds = Decimal::new(odds.into(), 2);
                    match s.place_bet(stake) {
                        Ok(_) => {
                            open.push((stake, odds));
                            if r < 2 || open.len() > 2 {
                                let (stake, odds) = open.remove(0);
                                s.settle_bet(stake, odds, ["won", "lost", "void"][usize::from(r)]).map(|_| ())
                            } else {
                                Ok(())
                            }
                        }
                        Err(e) => Err(e),
                    }
                }
                Op::Distribute(a, m) => s.distribute(Decimal::new(a.into(), 2), [Method::Proportional, Method::Hybrid, Method::Tiered][usize::from(m)]).map(|_| ()),
            };
            let f = &s.fund;
            prop_assert!(f.balances(), "{f:?}");
            prop_assert!(f.cash >= Decimal::ZERO && f.at_risk >= Decimal::ZERO && f.units >= Decimal::ZERO);
            prop_assert_eq!(s.members.values().map(|m| m.units).sum::<Decimal>(), f.units);
            prop_assert_eq!(s.members.values().map(|m| m.contributed).sum::<Decimal>(), f.contributed);
            prop_assert_eq!(s.members.values().map(|m| m.withdrawn).sum::<Decimal>(), f.withdrawn);
            prop_assert_eq!(s.members.values().map(|m| m.distributed).sum::<Decimal>(), f.distributed);
            prop_assert_eq!(open.iter().map(|b| b.0).sum::<Decimal>(), f.at_risk);
            let held: Decimal = s.members.values().map(|m| s.value_of(m.units)).sum();
            prop_assert!(held <= f.nav());
        }
    }
}
