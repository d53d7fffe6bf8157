//! Collectives through the database: votes with quorum, money to the cent,
//! concurrent withdrawals.

use super::*;

db_tests! {
    collective_votes_with_quorum_and_splits_winnings => collective_body;
    collective_money_three_members_to_the_cent => collective_money_body;
    collective_concurrent_withdrawals_never_overdraw => collective_race_body;
}

async fn collective_body(store: Store) {
    data::ensure_data(&store, Sport::Nfl, T0).await.unwrap();
    let admin = Actor::system(&store, "test", T0);
    let lg = league::create_league(&store, &admin, new_league(2), T0)
        .await
        .unwrap();
    league::join_league(&store, &user(&store, "x"), &lg.id, "X", "x", None, None, T0)
        .await
        .unwrap();
    let c = collective::create(
        &store,
        &admin,
        &lg.id,
        "Syndicate",
        "ann",
        dec!(600),
        dec!(0),
        dec!(0.6),
        dec!(0.5),
        T0,
    )
    .await
    .unwrap();
    let c = collective::contribute(&store, &admin, &c.id, "ben", dec!(400), Funding::Cash, T0)
        .await
        .unwrap();
    // 1000 paid in, the league's entry fee (50) paid out of the pool.
    assert_eq!(c.pool, dec!(950));
    // Ben (40%) proposes: below quorum, open. Ann votes no: fails.
    let p = collective::propose(
        &store,
        &admin,
        &c.id,
        "ben",
        Motion::Payout { amount: dec!(100) },
        T0,
    )
    .await
    .unwrap();
    assert_eq!(p.status, Decision::Open);
    let p = collective::vote(&store, &admin, &p.id, "ann", false, T0)
        .await
        .unwrap();
    assert_eq!(p.status, Decision::Failed);
    let err = collective::vote(&store, &admin, &p.id, "ben", true, T0)
        .await
        .unwrap_err();
    assert!(matches!(err, FantasyError::Refused(_)));
    // Outsiders cannot vote.
    let p = collective::propose(
        &store,
        &admin,
        &c.id,
        "ben",
        Motion::Lineup {
            week: 1,
            lineup: vec![],
        },
        T0,
    )
    .await
    .unwrap();
    assert!(matches!(
        collective::vote(&store, &admin, &p.id, "zed", true, T0).await,
        Err(FantasyError::Refused(_))
    ));
    // Ann approves the lineup motion: it passes and the lineup is set.
    let p = collective::vote(&store, &admin, &p.id, "ann", true, T0)
        .await
        .unwrap();
    assert_eq!(p.status, Decision::Passed);
    assert_eq!(
        league::lineup(&store, &c.team_id, 1).await.unwrap().len(),
        lg.slots.len()
    );
    // Ann (60%) alone passes a payout; split 60/40.
    let p = collective::propose(
        &store,
        &admin,
        &c.id,
        "ann",
        Motion::Payout {
            amount: dec!(250.05),
        },
        T0,
    )
    .await
    .unwrap();
    assert_eq!(p.status, Decision::Passed);
    let c = collective::collective(&store, &c.id).await.unwrap();
    let paid: BTreeMap<&str, Decimal> = c
        .members
        .iter()
        .map(|m| (m.member.as_str(), m.paid_out))
        .collect();
    assert_eq!(paid["ann"], dec!(150.03));
    assert_eq!(paid["ben"], dec!(100.02));
    assert_eq!(audit_count(&store, "collective_vote").await, 5);
    assert_eq!(audit_count(&store, "collective_capital").await, 1);
    assert_eq!(audit_count(&store, "collective_payout").await, 1);
}

/// Hand-worked: league entry fee 50, member fee 10, quorum 60%.
/// ann pays 510 (stake 500), ben deposits 400 and joins from credit with 310
/// (stake 300, credit 90), cat pays 210 (stake 200). Pool: 30 fees + 1000
/// stake - 50 league fee = 980. Winnings 400: pool 1380. Payout 333.33 by
/// stake 50/30/20: 166.665, 99.999, 66.666 round down to 166.66, 99.99,
/// 66.66 (333.31); the 2 cents left go to the largest remainders (.009 ben,
/// .006 cat; it used to be the largest stakes, ann and ben): ann 166.66,
/// ben 100.00, cat 66.67. Pool 1046.67.
async fn collective_money_body(store: Store) {
    data::ensure_data(&store, Sport::Nfl, T0).await.unwrap();
    let admin = Actor::system(&store, "test", T0);
    let lg = league::create_league(&store, &admin, new_league(2), T0)
        .await
        .unwrap();
    // A founder who cannot cover the league's entry fee is refused, and no
    // team is created for it.
    let err = collective::create(
        &store,
        &admin,
        &lg.id,
        "Poor",
        "zed",
        dec!(40),
        dec!(0),
        dec!(0.6),
        dec!(0.5),
        T0,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&err, FantasyError::Invalid { field, rule } if field == "stake" && rule.contains("50")),
        "{err}"
    );
    assert!(league::teams(&store, &lg.id).await.unwrap().is_empty());

    let c = collective::create(
        &store,
        &admin,
        &lg.id,
        "Trio",
        "ann",
        dec!(510),
        dec!(10),
        dec!(0.6),
        dec!(0.5),
        T0,
    )
    .await
    .unwrap();
    assert_eq!(c.pool, dec!(460));
    assert_eq!(c.members[0].stake, dec!(500));
    assert_eq!(c.members[0].credit, dec!(0));
    let rows_before = collective::ledger(&store, &c.id).await.unwrap().len();
    assert_eq!(rows_before, 6);

    // Ben has no credit yet: joining from credit is refused, nothing written.
    let err = collective::contribute(&store, &admin, &c.id, "ben", dec!(310), Funding::Credit, T0)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, FantasyError::Invalid { field, rule } if field == "stake" && rule.contains("credit 0")),
        "{err}"
    );
    assert_eq!(
        collective::ledger(&store, &c.id).await.unwrap().len(),
        rows_before
    );
    assert_eq!(
        collective::collective(&store, &c.id)
            .await
            .unwrap()
            .members
            .len(),
        1
    );
    // A join that does not cover the member fee is refused.
    let err = collective::contribute(&store, &admin, &c.id, "cat", dec!(10), Funding::Cash, T0)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, FantasyError::Invalid { field, .. } if field == "stake"),
        "{err}"
    );

    let b = collective::deposit(&store, &admin, &c.id, "ben", dec!(400), T0)
        .await
        .unwrap();
    assert_eq!(b.member("ben").credit, dec!(400));
    assert_eq!(b.pool, dec!(460), "a deposit is credit, not pool");
    collective::contribute(&store, &admin, &c.id, "ben", dec!(310), Funding::Credit, T0)
        .await
        .unwrap();
    let c = collective::contribute(&store, &admin, &c.id, "cat", dec!(210), Funding::Cash, T0)
        .await
        .unwrap();
    assert_eq!(c.pool, dec!(980));
    let by: BTreeMap<&str, (Decimal, Decimal)> = c
        .members
        .iter()
        .map(|m| (m.member.as_str(), (m.stake, m.credit)))
        .collect();
    assert_eq!(by["ann"], (dec!(500), dec!(0)));
    assert_eq!(by["ben"], (dec!(300), dec!(90)));
    assert_eq!(by["cat"], (dec!(200), dec!(0)));

    let b = collective::credit_winnings(&store, &admin, &c.id, dec!(400), Some("week 1"), T0)
        .await
        .unwrap();
    assert_eq!(b.pool, dec!(1380));
    // More than the pool holds cannot even be proposed.
    let err = collective::propose(
        &store,
        &admin,
        &c.id,
        "ann",
        Motion::Payout {
            amount: dec!(1380.01),
        },
        T0,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&err, FantasyError::Invalid { field, .. } if field == "motion.amount"),
        "{err}"
    );

    // Ann (50%) proposes a payout: open below the 60% quorum.
    let p = collective::propose(
        &store,
        &admin,
        &c.id,
        "ann",
        Motion::Payout {
            amount: dec!(333.33),
        },
        T0,
    )
    .await
    .unwrap();
    assert_eq!(p.status, Decision::Open);
    // No withdrawals while it is open, not even of credit.
    let err = collective::withdraw(&store, &admin, &c.id, "ben", dec!(90), T0)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, FantasyError::Refused(msg) if msg.contains(&p.id)),
        "{err}"
    );
    let p = collective::vote(&store, &admin, &p.id, "ben", true, T0)
        .await
        .unwrap();
    assert_eq!(p.status, Decision::Passed);
    let c = collective::collective(&store, &c.id).await.unwrap();
    let paid: BTreeMap<&str, (Decimal, Decimal)> = c
        .members
        .iter()
        .map(|m| (m.member.as_str(), (m.paid_out, m.credit)))
        .collect();
    assert_eq!(paid["ann"], (dec!(166.66), dec!(166.66)));
    assert_eq!(paid["ben"], (dec!(100.00), dec!(190.00)));
    assert_eq!(paid["cat"], (dec!(66.67), dec!(66.67)));
    assert_eq!(c.pool, dec!(1046.67));
    // Money is conserved: 510 + 400 + 210 in, 400 won, 50 league fee out.
    let ledger = collective::ledger(&store, &c.id).await.unwrap();
    assert_eq!(sum_ledger(&ledger), dec!(1470));

    // Withdrawals: credit first, then stake out of the pool.
    let w = collective::withdraw(&store, &admin, &c.id, "cat", dec!(66.67), T0)
        .await
        .unwrap();
    assert_eq!((w.from_credit, w.from_stake), (dec!(66.67), dec!(0)));
    let err = collective::withdraw(&store, &admin, &c.id, "cat", dec!(200.01), T0)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, FantasyError::Invalid { field, rule } if field == "amount" && rule.contains("available balance 200")),
        "{err}"
    );
    let w = collective::withdraw(&store, &admin, &c.id, "ann", dec!(666.66), T0)
        .await
        .unwrap();
    assert_eq!((w.from_credit, w.from_stake), (dec!(166.66), dec!(500)));
    assert_eq!(w.balances.pool, dec!(546.67));
    let w = collective::withdraw(&store, &admin, &c.id, "ben", dec!(490), T0)
        .await
        .unwrap();
    assert_eq!(w.balances.pool, dec!(246.67));
    // Cat's whole stake would leave 46.67 in the pool, under the league's 50.
    let err = collective::withdraw(&store, &admin, &c.id, "cat", dec!(200), T0)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, FantasyError::Invalid { field, rule } if field == "amount" && rule.contains("46.67")),
        "{err}"
    );
    let w = collective::withdraw(&store, &admin, &c.id, "cat", dec!(196.67), T0)
        .await
        .unwrap();
    assert_eq!(w.balances.pool, dec!(50));
    assert_eq!(w.balances.member("cat").stake, dec!(3.33));
    assert_eq!(
        w.balances.member("ann"),
        collective::MemberBalance {
            credit: dec!(0),
            stake: dec!(0),
            paid_out: dec!(166.66),
        }
    );

    // Every ledger row has its audit row (and nothing refused left either).
    let ledger = collective::ledger(&store, &c.id).await.unwrap();
    assert_eq!(ledger.len(), 31);
    assert_eq!(sum_ledger(&ledger), dec!(50));
    assert_eq!(audit_count(&store, "collective_ledger").await, 31);
    for e in &ledger {
        let n: i64 = sqlx::query("SELECT COUNT(*) FROM audit_log WHERE detail LIKE $1")
            .bind(format!("%\"ledger_id\":\"{}\"%", e.id))
            .fetch_one(store.pool())
            .await
            .unwrap()
            .get(0);
        assert_eq!(n, 1, "audit row for ledger row {e:?}");
    }
    let kinds: Vec<&str> = ledger.iter().map(|e| e.kind.as_str()).collect();
    for k in [
        "deposit",
        "entry_fee",
        "capital",
        "league_fee",
        "winnings",
        "payout",
        "withdraw",
    ] {
        assert!(kinds.contains(&k), "{k} in {kinds:?}");
    }
}

/// Six withdrawals of 60 race against a credit of 100: money movements of a
/// collective are serialised, so exactly one goes through and the rest are
/// refused naming `amount`.
async fn collective_race_body(store: Store) {
    data::ensure_data(&store, Sport::Nfl, T0).await.unwrap();
    let admin = Actor::system(&store, "test", T0);
    let lg = league::create_league(&store, &admin, new_league(2), T0)
        .await
        .unwrap();
    let c = collective::create(
        &store,
        &admin,
        &lg.id,
        "Race",
        "ann",
        dec!(100),
        dec!(0),
        dec!(0.5),
        dec!(0.5),
        T0,
    )
    .await
    .unwrap();
    collective::deposit(&store, &admin, &c.id, "ann", dec!(100), T0)
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let (store, admin, id) = (store.clone(), admin.clone(), c.id.clone());
        tasks.push(tokio::spawn(async move {
            // Credit 100 + stake 100, but the pool (50 after the league fee)
            // must keep 50: only the credit can go.
            collective::withdraw(&store, &admin, &id, "ann", dec!(60), T0).await
        }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(w) => {
                assert_eq!(w.from_credit, dec!(60));
                ok += 1;
            }
            Err(FantasyError::Invalid { field, .. }) => assert_eq!(field, "amount"),
            Err(e) => panic!("unexpected: {e}"),
        }
    }
    assert_eq!(ok, 1);
    let b = collective::balances(&store, &c.id).await.unwrap();
    assert_eq!(b.member("ann").credit, dec!(40));
    assert_eq!(b.pool, dec!(50));
}
