//! Unit tests of the collective rules and money.

use super::*;
use rust_decimal_macros::dec;

#[test]
fn decision_names_match_the_wire() {
    for d in [Decision::Open, Decision::Passed, Decision::Failed] {
        assert_eq!(serde_json::to_value(d).expect("json"), d.as_str());
    }
}

#[test]
fn quorum_rule() {
    // 60% quorum, simple majority of votes.
    assert_eq!(
        decide(dec!(0.6), dec!(0.5), dec!(100), dec!(50), dec!(50)),
        Decision::Open
    );
    assert_eq!(
        decide(dec!(0.6), dec!(0.5), dec!(100), dec!(60), dec!(30)),
        Decision::Passed
    );
    assert_eq!(
        decide(dec!(0.6), dec!(0.5), dec!(100), dec!(70), dec!(20)),
        Decision::Open
    );
    // 80 voted, 10 approved: even the 20 missing cannot reach half of 100.
    assert_eq!(
        decide(dec!(0.6), dec!(0.5), dec!(100), dec!(80), dec!(10)),
        Decision::Failed
    );
    assert_eq!(
        decide(dec!(0.6), dec!(0.7), dec!(100), dec!(100), dec!(65)),
        Decision::Failed
    );
}

#[test]
fn split_adds_up_to_the_cent() {
    let stakes = vec![
        ("a".to_string(), dec!(100)),
        ("b".to_string(), dec!(100)),
        ("c".to_string(), dec!(100)),
    ];
    let parts = split_by_stake(dec!(100), &stakes);
    assert_eq!(parts.iter().map(|p| p.1).sum::<Decimal>(), dec!(100));
    assert_eq!(parts[0].1, dec!(33.34));
    assert_eq!(parts[1].1, dec!(33.33));
    let stakes = vec![("a".to_string(), dec!(750)), ("b".to_string(), dec!(250))];
    let parts = split_by_stake(dec!(1000), &stakes);
    assert_eq!(
        parts,
        vec![("a".to_string(), dec!(750)), ("b".to_string(), dec!(250))]
    );
}

/// Stakes 500 / 300 / 200, payout 333.33: exact shares 166.665 /
/// 99.999 / 66.666 round down to 166.66 / 99.99 / 66.66 (333.31); the
/// two cents left go to the largest remainders (.009 ben, .006 cat), not
/// to the largest stakes: 166.66 + 100.00 + 66.67 = 333.33.
#[test]
fn split_333_33_by_500_300_200_gives_the_cents_by_largest_remainder() {
    let stakes = vec![
        ("ann".to_string(), dec!(500)),
        ("ben".to_string(), dec!(300)),
        ("cat".to_string(), dec!(200)),
    ];
    let parts = split_by_stake(dec!(333.33), &stakes);
    let amounts: Vec<String> = parts.iter().map(|p| p.1.to_string()).collect();
    assert_eq!(amounts, ["166.66", "100.00", "66.67"]);
}

/// 100.005 split 1:1 paid 50.00 + 50.00 while 100.005 left the pool:
/// half a cent vanished. The split works at the amount's precision
/// (never coarser than the cent), so the parts add up exactly; the
/// ledger itself refuses amounts finer than a cent (`whole_cents`).
#[test]
fn split_of_100_005_between_two_equal_stakes_adds_up_exactly() {
    let stakes = vec![("a".to_string(), dec!(1)), ("b".to_string(), dec!(1))];
    let parts = split_by_stake(dec!(100.005), &stakes);
    assert_eq!(parts.iter().map(|p| p.1).sum::<Decimal>(), dec!(100.005));
    assert_eq!(parts[0].1, dec!(50.003));
    assert_eq!(parts[1].1, dec!(50.002));
}

proptest::proptest! {
    /// For random stakes (zero included, up to 4 decimals) and random
    /// amounts (up to 4 decimals): the parts add up to the amount
    /// exactly, none is negative, each is within one unit of the
    /// amount's precision of its exact pro-rata share, and a member
    /// without stake gets nothing.
    #[test]
    fn split_conserves_every_amount(
        raw in proptest::collection::vec((0i64..=10_000_000, 0u32..=4), 1..8),
        units in 0i64..=10_000_000_000,
        scale in 0u32..=4,
    ) {
        let stakes: Vec<(String, Decimal)> = raw
            .iter()
            .enumerate()
            .map(|(i, (m, s))| (format!("m{i}"), Decimal::new(*m, *s)))
            .collect();
        let amount = Decimal::new(units, scale);
        let total: Decimal = stakes.iter().map(|s| s.1).sum();
        let parts = split_by_stake(amount, &stakes);
        proptest::prop_assert_eq!(parts.len(), stakes.len());
        let paid: Decimal = parts.iter().map(|p| p.1).sum();
        if total.is_zero() {
            proptest::prop_assert!(paid.is_zero());
        } else {
            proptest::prop_assert_eq!(paid, amount);
            let unit = Decimal::new(1, amount.normalize().scale().max(2));
            for ((name, part), (_, stake)) in parts.iter().zip(&stakes) {
                proptest::prop_assert!(*part >= Decimal::ZERO, "{name}: {part}");
                let exact = amount * *stake / total;
                proptest::prop_assert!((*part - exact).abs() <= unit, "{name}: {part} vs {exact}");
                if stake.is_zero() {
                    proptest::prop_assert!(part.is_zero(), "{name} has no stake");
                }
            }
        }
    }
}

/// Rows with the same timestamp come back in any order; the printed
/// totals (`0.00`, not sometimes `0`) must not depend on it.
#[test]
fn balances_do_not_depend_on_row_order() {
    let rows = [
        (Some("ben"), "deposit", dec!(60)),
        (Some("ben"), "capital", dec!(-60)),
        (None, "capital", dec!(60)),
        (Some("ben"), "payout", dec!(50.00)),
        (None, "payout", dec!(-50.00)),
        (Some("ben"), "withdraw", dec!(-50.00)),
    ];
    let want = Balances::from_entries(rows.iter().map(|r| (r.0, r.1, r.2)));
    assert_eq!(want.member("ben").credit.to_string(), "0.00");
    assert_eq!(want.member("ben").stake.to_string(), "60");
    assert_eq!(want.pool.to_string(), "10.00");
    // Every rotation of the rows prints the same totals.
    for k in 0..rows.len() {
        let mut r = rows.to_vec();
        r.rotate_left(k);
        let got = Balances::from_entries(r.iter().map(|r| (r.0, r.1, r.2)));
        assert_eq!(format!("{:?}", got), format!("{:?}", want), "rotation {k}");
    }
}

/// Migration 0003 carries 0001's stored pool, stakes and payouts into
/// the ledger, so balances read the same after the upgrade.
async fn backfill_body(url: &str) {
    let store = Store::open(url).await.unwrap();
    let mut all = nt_mcp_core::store::core_migrations();
    all.extend(crate::db::migrations());
    let before: Vec<_> = all
        .iter()
        .filter(|m| m.id != "fantasy/0003_collective_ledger")
        .cloned()
        .collect();
    store.migrate(&before).await.unwrap();
    sqlx::query("INSERT INTO fantasy_collectives (id, name, league_id, team_id, quorum_pct, approve_pct, pool, created_ms) VALUES ('c1', 'Old', 'l1', 't1', '0.5', '0.5', '975.50', 1)")
        .execute(store.pool())
        .await
        .unwrap();
    for (m, stake, paid) in [("ann", "600", "12.34"), ("ben", "400", "0")] {
        sqlx::query("INSERT INTO fantasy_collective_members (collective_id, member, stake, paid_out, joined_ms) VALUES ('c1', $1, $2, $3, 2)")
            .bind(m)
            .bind(stake)
            .bind(paid)
            .execute(store.pool())
            .await
            .unwrap();
    }
    assert_eq!(
        store.migrate(&all).await.unwrap(),
        vec!["fantasy/0003_collective_ledger"]
    );
    let c = collective(&store, "c1").await.unwrap();
    assert_eq!(c.pool, dec!(975.50));
    assert_eq!(c.member_fee, dec!(0));
    let m: Vec<(String, Decimal, Decimal, Decimal)> = c
        .members
        .iter()
        .map(|m| (m.member.clone(), m.stake, m.paid_out, m.credit))
        .collect();
    assert_eq!(
        m,
        vec![
            ("ann".into(), dec!(600), dec!(12.34), dec!(12.34)),
            ("ben".into(), dec!(400), dec!(0), dec!(0)),
        ]
    );
    // The old columns no longer hold a second copy.
    let pool: String = sqlx::query("SELECT pool FROM fantasy_collectives WHERE id = 'c1'")
        .fetch_one(store.pool())
        .await
        .unwrap()
        .get(0);
    assert_eq!(pool, "0");
    store.pool().close().await;
}

#[tokio::test]
async fn migration_0003_backfills_the_ledger_sqlite() {
    backfill_body("sqlite::memory:").await;
}

#[tokio::test]
async fn migration_0003_backfills_the_ledger_postgres() {
    let Some(pg) = crate::pg_support::schema(module_path!()).await else {
        return;
    };
    backfill_body(&pg.url).await;
    pg.drop_schema().await;
}
