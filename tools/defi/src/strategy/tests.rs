use super::*;
use crate::beefy::snapshot;
use rust_decimal_macros::dec;

const NOW: i64 = 1_764_633_600;

fn ranked(id: &str, chain: &str, platform: &str, score: f64) -> Ranked {
    Ranked {
        id: id.into(),
        chain: chain.into(),
        platform: platform.into(),
        assets: vec![],
        apy: score,
        tvl: 1e7,
        safety: 1.0,
        size: 1.0,
        age: 1.0,
        score,
    }
}

#[test]
fn safety_sums_flag_penalties() {
    let s = |f: &[&str]| safety(&f.iter().map(|x| x.to_string()).collect::<Vec<_>>());
    assert!((s(&["AUDIT", "CONTRACTS_VERIFIED", "IL_NONE", "COMPLEXITY_LOW"]) - 1.0).abs() < 1e-12);
    // IL_HIGH 0.15 + MCAP_SMALL 0.15 + no audit 0.15 + unverified 0.05 = 0.5.
    assert!((s(&["IL_HIGH", "MCAP_SMALL"]) - 0.5).abs() < 1e-12);
    assert!(
        (s(&[
            "COMPLEXITY_HIGH",
            "IL_HIGH",
            "MCAP_MICRO",
            "PLATFORM_NEW",
            "EXPERIMENTAL_STRAT"
        ]) - 0.05)
            .abs()
            < 1e-12
    );
}

#[test]
fn ranking_orders_by_score_and_skips_inactive() {
    let d = snapshot::data().expect("snapshot");
    let all = rank(&d, &RankFilter::default(), NOW);
    assert!(all.len() > 20);
    assert!(all.windows(2).all(|w| w[0].score >= w[1].score));
    assert!(
        all.iter()
            .all(|r| d.vault(&r.id).expect("vault").is_active())
    );
    assert!(
        !all.iter()
            .any(|r| r.id == "sushi-matic-old" || r.id == "thena-hay-usdt")
    );
    // The score is the product of its parts.
    for r in &all {
        assert!((r.score - r.apy * r.safety * r.size * r.age).abs() < 1e-15);
    }
    let base = rank(
        &d,
        &RankFilter {
            chains: vec!["base".into()],
            no_il: true,
            ..Default::default()
        },
        NOW,
    );
    assert!(!base.is_empty());
    assert!(base.iter().all(|r| r.chain == "base"));
    assert!(!base.iter().any(|r| r.id == "aerodrome-weth-usdc"));
}

#[test]
fn allocation_follows_scores_under_caps() {
    // Scores 3:1: uncapped 75/25.
    let r = vec![ranked("a", "x", "p", 3.0), ranked("b", "y", "q", 1.0)];
    let caps = Caps {
        per_vault: 1.0,
        per_chain: 1.0,
        per_platform: 1.0,
    };
    let a = allocate(&r, dec!(1000), 5, caps).expect("alloc");
    assert_eq!(a.slices[0].amount, dec!(750));
    assert_eq!(a.slices[1].amount, dec!(250));
    assert_eq!(a.unallocated, dec!(0));
    // A 50 % vault cap: a gets 500, the other 500 goes to b.
    let capped = allocate(
        &r,
        dec!(1000),
        5,
        Caps {
            per_vault: 0.5,
            ..caps
        },
    )
    .expect("alloc");
    assert_eq!(
        capped.slices.iter().map(|s| s.amount).collect::<Vec<_>>(),
        vec![dec!(500), dec!(500)]
    );
    // Three vaults on one chain capped at 40 %, one elsewhere capped at 40 %: 20 % stays out.
    let r3 = vec![
        ranked("a", "x", "p", 2.0),
        ranked("b", "x", "q", 2.0),
        ranked("c", "y", "r", 1.0),
    ];
    let c3 = allocate(
        &r3,
        dec!(1000),
        5,
        Caps {
            per_vault: 0.4,
            per_chain: 0.4,
            per_platform: 1.0,
        },
    )
    .expect("alloc");
    let on_x: Decimal = c3
        .slices
        .iter()
        .filter(|s| s.chain == "x")
        .map(|s| s.amount)
        .sum();
    assert_eq!(on_x, dec!(400));
    assert_eq!(
        c3.slices.iter().find(|s| s.id == "c").expect("c").amount,
        dec!(400)
    );
    assert_eq!(c3.unallocated, dec!(200));
    assert!(allocate(&r, dec!(0), 5, caps).is_err());
    assert!(
        allocate(
            &r,
            dec!(1),
            5,
            Caps {
                per_vault: 0.0,
                ..caps
            }
        )
        .is_err()
    );
}

#[test]
fn rebalance_moves_toward_target() {
    let d = snapshot::data().expect("snapshot");
    let target = Allocation {
        slices: vec![Slice {
            id: "morpho-base-usdc".into(),
            chain: "base".into(),
            platform: "morpho".into(),
            amount: dec!(1000),
            weight: 1.0,
            apy: d.total_apy("morpho-base-usdc"),
            score: 0.0,
        }],
        allocated: dec!(1000),
        unallocated: dec!(0),
        blended_apy: d.total_apy("morpho-base-usdc"),
    };
    let current = vec![
        ("aave-arb-usdc".to_string(), dec!(600)),
        ("morpho-base-usdc".to_string(), dec!(395)),
    ];
    let (moves, cur, tgt) = rebalance(&d, &current, &target, dec!(10));
    assert_eq!(moves.len(), 2, "{moves:?}");
    assert_eq!(moves[0].id, "aave-arb-usdc");
    assert_eq!(moves[0].change, dec!(-600));
    assert_eq!(moves[1].change, dec!(605));
    // Under the threshold: no move.
    let (small, _, _) = rebalance(
        &d,
        &[("morpho-base-usdc".to_string(), dec!(995))],
        &target,
        dec!(10),
    );
    assert!(small.is_empty());
    assert!(tgt > cur);
}
