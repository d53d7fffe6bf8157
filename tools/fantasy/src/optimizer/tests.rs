//! Unit tests of the lineup optimiser.

use super::*;
use crate::model::{Sport, parse_slots};
use crate::rng::Rng;
use crate::sample::nfl_dfs_pool;
use proptest::prelude::*;
use rust_decimal_macros::dec;

fn cand(id: &str, team: &str, pos: &[&str], salary: i64, proj: Decimal) -> Candidate {
    Candidate {
        id: id.into(),
        team: team.into(),
        positions: pos.iter().map(|p| p.to_string()).collect(),
        salary: Decimal::from(salary),
        projection: proj,
    }
}

fn slots(labels: &[&str]) -> Vec<Slot> {
    let labels: Vec<String> = labels.iter().map(|s| s.to_string()).collect();
    parse_slots(Sport::Nfl, &labels, "slots").unwrap()
}

/// A small random pool with mixed and multi-position players.
fn small_pool(rng: &mut Rng, n: usize) -> Vec<Candidate> {
    let positions: [&[&str]; 6] = [&["QB"], &["RB"], &["WR"], &["TE"], &["RB", "WR"], &["DST"]];
    (0..n)
        .map(|i| {
            let pos = positions[rng.range(0, 5) as usize];
            let team = ["A", "B", "C"][rng.range(0, 2) as usize];
            let salary = rng.range(3, 12) * 1000;
            let proj = Decimal::new(rng.range(0, 3000), 2);
            cand(&format!("p{i}"), team, pos, salary, proj)
        })
        .collect()
}

#[test]
fn hand_worked_flex_lineup() {
    // QB, RB, WR, FLEX with cap 20000.
    let pool = vec![
        cand("qb1", "A", &["QB"], 9000, dec!(25)),
        cand("qb2", "B", &["QB"], 5000, dec!(18)),
        cand("rb1", "A", &["RB"], 8000, dec!(20)),
        cand("rb2", "B", &["RB"], 4000, dec!(12)),
        cand("wr1", "A", &["WR"], 7000, dec!(19)),
        cand("wr2", "C", &["WR"], 3000, dec!(10)),
        cand("wr3", "C", &["WR"], 3000, dec!(9.5)),
    ];
    let rules = LineupRules {
        slots: slots(&["QB", "RB", "WR", "FLEX"]),
        salary_cap: Some(dec!(20000)),
        ..Default::default()
    };
    // Best: qb2 5000/18 + rb1 8000/20 + wr2 3000/10 + FLEX rb2 4000/12 = 20000/60.
    // Greedy by points (qb1, rb1) leaves 3000 for two slots: infeasible.
    // Alternatives: qb2 + rb2 + wr1 + wr2 = 19000/59; qb2 + rb1 + wr2 + wr3 = 57.5.
    let (lineup, _) = optimal_lineup(&pool, &rules).unwrap();
    assert_eq!(lineup.projection, dec!(60));
    assert_eq!(lineup.salary, dec!(20000));
    assert_eq!(lineup.player_ids(), vec!["qb2", "rb1", "wr2", "rb2"]);
    check_lineup(&pool, &rules, &lineup).unwrap();
    assert_eq!(exhaustive_best(&pool, &rules), Some(dec!(60)));
}

#[test]
fn locked_and_excluded_players_are_honoured() {
    let pool = nfl_dfs_pool(60, 7);
    let base = LineupRules {
        slots: slots(&["QB", "RB", "RB", "WR", "WR", "WR", "TE", "FLEX", "DST"]),
        salary_cap: Some(dec!(50000)),
        ..Default::default()
    };
    let (best, _) = optimal_lineup(&pool, &base).unwrap();
    let star = best.slots[0].player_id.clone();
    let worst_qb = pool
        .iter()
        .filter(|c| c.positions[0] == "QB")
        .min_by_key(|c| c.projection)
        .unwrap()
        .id
        .clone();
    let rules = LineupRules {
        locked: vec![worst_qb.clone()],
        excluded: vec![best.slots[1].player_id.clone()],
        ..base.clone()
    };
    let (lineup, _) = optimal_lineup(&pool, &rules).unwrap();
    check_lineup(&pool, &rules, &lineup).unwrap();
    assert!(lineup.player_ids().contains(&worst_qb.as_str()));
    assert!(!lineup.player_ids().contains(&star.as_str()) || star == worst_qb);
    assert!(lineup.projection <= best.projection);
}

/// Projections exactly linear in salary (a preseason prior) make
/// nearly every full-cap lineup tie. A small budget stops the search
/// with the best lineup found, valid and marked not proven; the full
/// search on a small pool proves its answer.
#[test]
fn a_node_budget_stops_degenerate_searches_with_a_valid_unproven_lineup() {
    let mut pool = crate::sample::nfl_dfs_pool(300, 7);
    for c in &mut pool {
        c.projection = (Decimal::new(2, 0) + c.salary * Decimal::new(25, 4)).round_dp(2);
    }
    let rules = LineupRules {
        slots: slots(&["QB", "RB", "RB", "WR", "WR", "WR", "TE", "FLEX", "DST"]),
        salary_cap: Some(Decimal::from(50_000)),
        ..Default::default()
    };
    let (lineup, stats) = optimal_lineup_within(&pool, &rules, &|| false, 5_000).unwrap();
    assert!(!stats.proven, "{stats:?}");
    assert!(stats.nodes <= 5_000, "{stats:?}");
    check_lineup(&pool, &rules, &lineup).unwrap();
    // 9 × 2 + 0.0025 × salary, salary at most the cap: at most 143 points.
    assert!(lineup.projection <= Decimal::from(143), "{lineup:?}");
    assert!(lineup.projection > Decimal::from(100), "{lineup:?}");

    let mut rng = Rng::new(3);
    let small = small_pool(&mut rng, 12);
    let rules = LineupRules {
        slots: slots(&["QB", "RB", "WR", "FLEX"]),
        salary_cap: Some(Decimal::from(30_000)),
        ..Default::default()
    };
    let (_, stats) = optimal_lineup_within(&small, &rules, &|| false, NODE_BUDGET).unwrap();
    assert!(stats.proven, "{stats:?}");
}

#[test]
fn matches_exhaustive_search_on_generated_pools() {
    let layouts: [&[&str]; 4] = [
        &["QB", "RB", "WR", "FLEX"],
        &["QB", "RB", "RB", "WR", "FLEX"],
        &["RB", "WR", "TE", "FLEX", "FLEX"],
        &["QB", "RB/WR", "WR", "TE", "DST"],
    ];
    for seed in 0..120u64 {
        let mut rng = Rng::new(seed);
        let n = rng.range(9, 14) as usize;
        let pool = small_pool(&mut rng, n);
        let layout = layouts[(seed % 4) as usize];
        let mut rules = LineupRules {
            slots: slots(layout),
            salary_cap: if seed % 5 == 0 {
                None
            } else {
                Some(Decimal::from(rng.range(20, 40) * 1000))
            },
            ..Default::default()
        };
        if seed % 3 == 1 {
            rules.locked = vec![pool[rng.range(0, n as i64 - 1) as usize].id.clone()];
        }
        if seed % 4 == 2 {
            rules.excluded = vec![pool[0].id.clone(), pool[1].id.clone()];
            rules.locked.retain(|l| !rules.excluded.contains(l));
        }
        if seed % 6 == 3 {
            rules.max_per_team = Some(2);
        }
        if seed % 7 == 4 {
            rules.stacks = vec![StackRule {
                anchor: "QB".into(),
                with: vec!["WR".into(), "TE".into()],
                count: 1,
            }];
        }
        let expected = exhaustive_best(&pool, &rules);
        match optimal_lineup(&pool, &rules) {
            Ok((lineup, _)) => {
                check_lineup(&pool, &rules, &lineup).unwrap();
                assert_eq!(Some(lineup.projection), expected, "seed {seed}");
            }
            Err(FantasyError::Infeasible(_)) => assert_eq!(expected, None, "seed {seed}"),
            Err(e) => panic!("seed {seed}: {e}"),
        }
    }
}

#[test]
fn diverse_lineups_respect_exposure_and_uniqueness() {
    let pool = nfl_dfs_pool(120, 3);
    let rules = LineupRules {
        slots: slots(&["QB", "RB", "RB", "WR", "WR", "WR", "TE", "FLEX", "DST"]),
        salary_cap: Some(dec!(50000)),
        stacks: vec![StackRule {
            anchor: "QB".into(),
            with: vec!["WR".into(), "TE".into()],
            count: 1,
        }],
        ..Default::default()
    };
    let opts = DiverseOptions {
        count: 20,
        max_exposure: dec!(0.5),
        min_unique: 2,
    };
    let mut reported = 0;
    let (lineups, _) = diverse_lineups(&pool, &rules, &opts, &|| false, &mut |done, _| {
        reported = done
    })
    .unwrap();
    assert_eq!(lineups.len(), 20);
    assert_eq!(reported, 20);
    let (best, _) = optimal_lineup(&pool, &rules).unwrap();
    assert_eq!(lineups[0].projection, best.projection);
    let mut uses: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, l) in lineups.iter().enumerate() {
        check_lineup(&pool, &rules, l).unwrap();
        for id in l.player_ids() {
            *uses.entry(id).or_default() += 1;
        }
        for earlier in &lineups[..i] {
            let shared = l
                .player_ids()
                .iter()
                .filter(|id| earlier.player_ids().contains(id))
                .count();
            assert!(shared <= 7, "lineup {i} shares {shared}");
        }
        if i > 0 {
            assert!(l.projection <= lineups[i - 1].projection);
        }
    }
    assert!(uses.values().all(|&n| n <= 10), "{uses:?}");
}

#[test]
fn infeasible_and_invalid_rules_are_reported() {
    let pool = vec![cand("qb", "A", &["QB"], 9000, dec!(20))];
    let rules = LineupRules {
        slots: slots(&["QB", "RB"]),
        ..Default::default()
    };
    assert!(matches!(
        optimal_lineup(&pool, &rules),
        Err(FantasyError::Infeasible(_))
    ));
    let rules = LineupRules {
        slots: slots(&["QB"]),
        salary_cap: Some(dec!(5000)),
        ..Default::default()
    };
    assert!(matches!(
        optimal_lineup(&pool, &rules),
        Err(FantasyError::Infeasible(_))
    ));
    let rules = LineupRules {
        slots: slots(&["QB"]),
        locked: vec!["nobody".into()],
        ..Default::default()
    };
    assert!(
        matches!(optimal_lineup(&pool, &rules), Err(FantasyError::Invalid { ref field, .. }) if field == "locked[0]")
    );
}

#[test]
fn cancellation_stops_the_search() {
    let pool = nfl_dfs_pool(500, 1);
    let rules = LineupRules {
        slots: slots(&["QB", "RB", "RB", "WR", "WR", "WR", "TE", "FLEX", "DST"]),
        salary_cap: Some(dec!(50000)),
        ..Default::default()
    };
    let opts = DiverseOptions {
        count: 50,
        max_exposure: Decimal::ONE,
        min_unique: 1,
    };
    let r = diverse_lineups(&pool, &rules, &opts, &|| true, &mut |_, _| {});
    assert!(matches!(r, Err(FantasyError::Cancelled)));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn constraints_are_never_violated(seed in 0u64..10_000, n in 15usize..60, cap in 25i64..60, lock in any::<bool>(), stack in any::<bool>(), team_max in 0u32..4) {
        let mut rng = Rng::new(seed);
        let pool = small_pool(&mut rng, n);
        let rules = LineupRules {
            slots: slots(&["QB", "RB", "RB", "WR", "WR", "TE", "FLEX", "DST"]),
            salary_cap: Some(Decimal::from(cap * 1000)),
            locked: if lock { vec![pool[seed as usize % n].id.clone()] } else { vec![] },
            excluded: vec![pool[(seed as usize + 1) % n].id.clone()],
            max_per_team: if team_max == 0 { None } else { Some(team_max + 2) },
            stacks: if stack { vec![StackRule { anchor: "QB".into(), with: vec!["WR".into()], count: 1 }] } else { vec![] },
        };
        match optimal_lineup(&pool, &rules) {
            Ok((lineup, _)) => prop_assert_eq!(check_lineup(&pool, &rules, &lineup), Ok(())),
            Err(FantasyError::Infeasible(_)) => {}
            Err(e) => prop_assert!(false, "unexpected error {e}"),
        }
        let opts = DiverseOptions { count: 5, max_exposure: dec!(0.6), min_unique: 2 };
        if let Ok((lineups, _)) = diverse_lineups(&pool, &rules, &opts, &|| false, &mut |_, _| {}) {
            for l in &lineups {
                prop_assert_eq!(check_lineup(&pool, &rules, l), Ok(()));
            }
        }
    }
}
