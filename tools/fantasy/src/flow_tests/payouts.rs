//! Collective payouts: a short pool, random collectives that never create
//! or lose money, sub-cent amounts and payouts without stake.

use super::*;

db_tests! {
    collective_second_payout_fails_when_the_pool_is_short => collective_two_payouts_body;
    collective_refuses_amounts_finer_than_a_cent => sub_cent_amounts_body;
    collective_payout_without_stake_is_refused => payout_without_stake_body;
}

/// Two payout motions are open at once; the pool covers only the first to
/// pass. The second fails when it would pass, and pays nothing.
async fn collective_two_payouts_body(store: Store) {
    data::ensure_data(&store, Sport::Nfl, T0).await.unwrap();
    let admin = Actor::system(&store, "test", T0);
    let lg = league::create_league(&store, &admin, new_league(2), T0)
        .await
        .unwrap();
    let c = collective::create(
        &store,
        &admin,
        &lg.id,
        "Two",
        "ann",
        dec!(600),
        dec!(0),
        dec!(0.7),
        dec!(0.5),
        T0,
    )
    .await
    .unwrap();
    let c = collective::contribute(&store, &admin, &c.id, "ben", dec!(400), Funding::Cash, T0)
        .await
        .unwrap();
    assert_eq!(c.pool, dec!(950));
    let mut ids = Vec::new();
    for amount in [dec!(600), dec!(500)] {
        let p = collective::propose(&store, &admin, &c.id, "ann", Motion::Payout { amount }, T0)
            .await
            .unwrap();
        assert_eq!(p.status, Decision::Open, "60% is under the 70% quorum");
        ids.push(p.id);
    }
    let p = collective::vote(&store, &admin, &ids[0], "ben", true, T0)
        .await
        .unwrap();
    assert_eq!(p.status, Decision::Passed);
    // Shares are written in cents.
    assert_eq!(p.result.unwrap()["payout"][0]["amount"], "360.00");
    let rows = collective::ledger(&store, &c.id).await.unwrap().len();
    let p = collective::vote(&store, &admin, &ids[1], "ben", true, T0)
        .await
        .unwrap();
    assert_eq!(p.status, Decision::Failed);
    let why = p.result.unwrap()["failed"].as_str().unwrap().to_string();
    assert!(why.contains("350"), "{why}");
    assert_eq!(collective::ledger(&store, &c.id).await.unwrap().len(), rows);
    let c = collective::collective(&store, &c.id).await.unwrap();
    assert_eq!(c.pool, dec!(350));
    let status: String =
        sqlx::query("SELECT status FROM fantasy_collective_proposals WHERE id = $1")
            .bind(&ids[1])
            .fetch_one(store.pool())
            .await
            .unwrap()
            .get(0);
    assert_eq!(status, "failed");
    // Nothing open any more: withdrawals work again.
    collective::withdraw(&store, &admin, &c.id, "ben", dec!(240), T0)
        .await
        .unwrap();
}

/// One random collective for [`collective_payouts_never_create_or_lose_money`]:
/// members with `stakes` (cents), `winnings` (cents) credited, then payouts
/// (cents; `true` adds half a cent). Every payout finer than a cent is
/// refused naming `motion.amount`; every payout that passes takes exactly
/// its amount from the pool and gives exactly that amount to the members,
/// each within a cent of their pro-rata share; the ledger sums to the money
/// that came in.
async fn random_collective(
    store: &Store,
    stakes: Vec<i64>,
    winnings: i64,
    payouts: Vec<(i64, bool)>,
) -> Result<(), proptest::test_runner::TestCaseError> {
    use proptest::{prop_assert, prop_assert_eq};
    let admin = Actor::system(store, "test", T0);
    let mut spec = new_league(2);
    spec.entry_fee = dec!(0);
    let lg = league::create_league(store, &admin, spec, T0)
        .await
        .unwrap();
    let names: Vec<String> = (0..stakes.len()).map(|i| format!("m{i}")).collect();
    let stake_of = |c: i64| Decimal::new(c, 2);
    let c = collective::create(
        store,
        &admin,
        &lg.id,
        "Prop",
        &names[0],
        stake_of(stakes[0]),
        dec!(0),
        dec!(0.5),
        dec!(0.5),
        T0,
    )
    .await
    .unwrap();
    for (name, cents) in names.iter().zip(&stakes).skip(1) {
        collective::contribute(
            store,
            &admin,
            &c.id,
            name,
            stake_of(*cents),
            Funding::Cash,
            T0,
        )
        .await
        .unwrap();
    }
    let mut came_in: Decimal = stakes.iter().map(|c| stake_of(*c)).sum();
    if winnings > 0 {
        collective::credit_winnings(store, &admin, &c.id, stake_of(winnings), None, T0)
            .await
            .unwrap();
        came_in += stake_of(winnings);
    }
    let total_stake: Decimal = stakes.iter().map(|c| stake_of(*c)).sum();
    let mut paid_out = Decimal::ZERO;
    for (cents, half) in payouts {
        let amount = if half {
            Decimal::new(cents * 10 + 5, 3)
        } else {
            Decimal::new(cents, 2)
        };
        let pool = collective::balances(store, &c.id).await.unwrap().pool;
        let proposed = collective::propose(
            store,
            &admin,
            &c.id,
            &names[0],
            Motion::Payout { amount },
            T0,
        )
        .await;
        if half || amount > pool {
            prop_assert!(
                matches!(&proposed, Err(FantasyError::Invalid { field, .. }) if field == "motion.amount"),
                "{amount} (pool {pool}): {proposed:?}"
            );
            continue;
        }
        let mut p = proposed.unwrap();
        for name in names.iter().skip(1) {
            if p.status != Decision::Open {
                break;
            }
            p = collective::vote(store, &admin, &p.id, name, true, T0)
                .await
                .unwrap();
        }
        prop_assert_eq!(p.status, Decision::Passed);
        let rows: Vec<_> = collective::ledger(store, &c.id)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.reference.as_deref() == Some(p.id.as_str()))
            .collect();
        let from_pool: Decimal = rows
            .iter()
            .filter(|e| e.member.is_none())
            .map(|e| e.amount)
            .sum();
        let to_members: Decimal = rows
            .iter()
            .filter(|e| e.member.is_some())
            .map(|e| e.amount)
            .sum();
        prop_assert_eq!(from_pool, -amount);
        prop_assert_eq!(to_members, amount);
        for e in rows.iter().filter(|e| e.member.is_some()) {
            let i = names
                .iter()
                .position(|n| Some(n) == e.member.as_ref())
                .unwrap();
            let exact = amount * stake_of(stakes[i]) / total_stake;
            prop_assert!((e.amount - exact).abs() < dec!(0.01), "{e:?} vs {exact}");
            prop_assert!(e.amount.normalize().scale() <= 2, "{e:?} finer than a cent");
        }
        paid_out += amount;
    }
    let ledger = collective::ledger(store, &c.id).await.unwrap();
    prop_assert_eq!(sum_ledger(&ledger), came_in);
    let b = collective::balances(store, &c.id).await.unwrap();
    prop_assert_eq!(b.pool, came_in - paid_out);
    let credits: Decimal = b.members.values().map(|m| m.credit).sum();
    prop_assert_eq!(credits, paid_out);
    Ok(())
}

/// Property (issue #9, item 10): random stakes, winnings and payouts on
/// the real ledger (SQLite) never create or lose an amount.
#[test]
fn collective_payouts_never_create_or_lose_money() {
    use proptest::collection::vec;
    use proptest::test_runner::{Config, TestRunner};
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let store = rt.block_on(async {
        let store = data::tests::test_store().await;
        data::ensure_data(&store, Sport::Nfl, T0).await.unwrap();
        store
    });
    let strategy = (
        vec(1i64..=100_000, 1..=4),
        0i64..=500_000,
        vec((1i64..=150_000, proptest::bool::weighted(0.3)), 1..=4),
    );
    let mut runner = TestRunner::new(Config {
        cases: 24,
        // A manual runner has no source file to keep failures next to.
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&strategy, |(stakes, winnings, payouts)| {
            rt.block_on(random_collective(&store, stakes, winnings, payouts))
        })
        .unwrap();
}

/// A payout of 100.005 used to take 100.005 from the pool and pay 50.00 +
/// 50.00: it is now refused naming `motion.amount`, and so are deposits,
/// stakes, winnings, withdrawals, member fees and league entry fees finer
/// than a cent (the ledger keeps cents).
async fn sub_cent_amounts_body(store: Store) {
    data::ensure_data(&store, Sport::Nfl, T0).await.unwrap();
    let admin = Actor::system(&store, "test", T0);
    let mut spec = new_league(2);
    spec.entry_fee = dec!(0.005);
    let err = league::create_league(&store, &admin, spec, T0)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, FantasyError::Invalid { field, .. } if field == "entry_fee"),
        "{err}"
    );
    let mut spec = new_league(2);
    spec.entry_fee = dec!(0);
    let lg = league::create_league(&store, &admin, spec, T0)
        .await
        .unwrap();
    let err = collective::create(
        &store,
        &admin,
        &lg.id,
        "Fine",
        "ann",
        dec!(100.001),
        dec!(0),
        dec!(0.5),
        dec!(0.5),
        T0,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&err, FantasyError::Invalid { field, .. } if field == "stake"),
        "{err}"
    );
    let err = collective::create(
        &store,
        &admin,
        &lg.id,
        "Fine",
        "ann",
        dec!(100),
        dec!(0.001),
        dec!(0.5),
        dec!(0.5),
        T0,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&err, FantasyError::Invalid { field, .. } if field == "member_fee"),
        "{err}"
    );
    let c = collective::create(
        &store,
        &admin,
        &lg.id,
        "Even",
        "ann",
        dec!(100),
        dec!(0),
        dec!(0.5),
        dec!(0.5),
        T0,
    )
    .await
    .unwrap();
    collective::contribute(&store, &admin, &c.id, "ben", dec!(100), Funding::Cash, T0)
        .await
        .unwrap();
    let rows = collective::ledger(&store, &c.id).await.unwrap().len();
    let refused = [
        collective::contribute(&store, &admin, &c.id, "ben", dec!(0.005), Funding::Cash, T0)
            .await
            .map(|_| ()),
        collective::deposit(&store, &admin, &c.id, "ben", dec!(1.001), T0)
            .await
            .map(|_| ()),
        collective::credit_winnings(&store, &admin, &c.id, dec!(0.009), None, T0)
            .await
            .map(|_| ()),
        collective::withdraw(&store, &admin, &c.id, "ben", dec!(0.001), T0)
            .await
            .map(|_| ()),
        collective::propose(
            &store,
            &admin,
            &c.id,
            "ann",
            Motion::Payout {
                amount: dec!(100.005),
            },
            T0,
        )
        .await
        .map(|_| ()),
    ];
    for (r, field) in refused
        .iter()
        .zip(["stake", "amount", "amount", "amount", "motion.amount"])
    {
        assert!(
            matches!(r, Err(FantasyError::Invalid { field: f, rule }) if f == field && rule.contains("cent")),
            "{field}: {r:?}"
        );
    }
    assert_eq!(collective::ledger(&store, &c.id).await.unwrap().len(), rows);
    // Trailing zeros are whole cents: 100.0000 is fine.
    let p = collective::propose(
        &store,
        &admin,
        &c.id,
        "ann",
        Motion::Payout {
            amount: dec!(100.0000),
        },
        T0,
    )
    .await
    .unwrap();
    assert_eq!(p.status, Decision::Passed);
    let b = collective::balances(&store, &c.id).await.unwrap();
    assert_eq!(b.pool, dec!(100));
    assert_eq!(b.member("ann").credit + b.member("ben").credit, dec!(100));
}

/// Every member withdrew their stake but winnings stayed in the pool: a
/// payout has nobody to go to and is refused, instead of leaving the pool
/// for no one.
async fn payout_without_stake_body(store: Store) {
    data::ensure_data(&store, Sport::Nfl, T0).await.unwrap();
    let admin = Actor::system(&store, "test", T0);
    let mut spec = new_league(2);
    spec.entry_fee = dec!(0);
    let lg = league::create_league(&store, &admin, spec, T0)
        .await
        .unwrap();
    let c = collective::create(
        &store,
        &admin,
        &lg.id,
        "Empty",
        "ann",
        dec!(10),
        dec!(0),
        dec!(0.5),
        dec!(0.5),
        T0,
    )
    .await
    .unwrap();
    collective::credit_winnings(&store, &admin, &c.id, dec!(50), None, T0)
        .await
        .unwrap();
    collective::withdraw(&store, &admin, &c.id, "ann", dec!(10), T0)
        .await
        .unwrap();
    let rows = collective::ledger(&store, &c.id).await.unwrap().len();
    let err = collective::propose(
        &store,
        &admin,
        &c.id,
        "ann",
        Motion::Payout { amount: dec!(50) },
        T0,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&err, FantasyError::Invalid { field, rule } if field == "motion.amount" && rule.contains("stake")),
        "{err}"
    );
    assert_eq!(collective::ledger(&store, &c.id).await.unwrap().len(), rows);
    assert_eq!(
        collective::balances(&store, &c.id).await.unwrap().pool,
        dec!(50)
    );
}
