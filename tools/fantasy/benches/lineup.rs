//! Team-builder benchmark: `cargo bench -p nt-fantasy --bench lineup`.
//!
//! Reports the time for the optimal lineup on a 500-player NFL pool with 9
//! slots (DraftKings layout, 50 000 cap) and the rate for 150 diverse lineups.

use std::time::Instant;

use nt_fantasy::model::{Sport, parse_slots};
use nt_fantasy::optimizer::{
    DiverseOptions, LineupRules, StackRule, diverse_lineups, optimal_lineup,
};
use nt_fantasy::sample::nfl_dfs_pool;
use rust_decimal::Decimal;

fn main() {
    let labels: Vec<String> = ["QB", "RB", "RB", "WR", "WR", "WR", "TE", "FLEX", "DST"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let Ok(slots) = parse_slots(Sport::Nfl, &labels, "slots") else {
        eprintln!("bad slots");
        return;
    };
    let rules = LineupRules {
        slots,
        salary_cap: Some(Decimal::from(50_000)),
        ..Default::default()
    };
    let mut times = Vec::new();
    for seed in 1..=10u64 {
        let pool = nfl_dfs_pool(500, seed);
        let start = Instant::now();
        match optimal_lineup(&pool, &rules) {
            Ok((lineup, stats)) => {
                let ms = start.elapsed().as_secs_f64() * 1000.0;
                times.push(ms);
                println!(
                    "optimal 500 players / 9 slots, seed {seed}: {ms:.2} ms, {} pts, salary {}, pool after pruning {}, nodes {}",
                    lineup.projection, lineup.salary, stats.pool_after_pruning, stats.nodes
                );
            }
            Err(e) => println!("seed {seed}: {e}"),
        }
    }
    times.sort_by(f64::total_cmp);
    if !times.is_empty() {
        println!(
            "optimal lineup (500 players, 9 slots): median {:.2} ms, max {:.2} ms over {} pools",
            times[times.len() / 2],
            times[times.len() - 1],
            times.len()
        );
    }
    for (label, stacks) in [
        ("no stacking", vec![]),
        (
            "QB + 1 WR/TE stack",
            vec![StackRule {
                anchor: "QB".into(),
                with: vec!["WR".into(), "TE".into()],
                count: 1,
            }],
        ),
    ] {
        let pool = nfl_dfs_pool(500, 42);
        let rules = LineupRules {
            stacks,
            ..rules.clone()
        };
        let opts = DiverseOptions {
            count: 150,
            max_exposure: Decimal::new(4, 1),
            min_unique: 2,
        };
        let start = Instant::now();
        match diverse_lineups(&pool, &rules, &opts, &|| false, &mut |_, _| {}) {
            Ok((lineups, stats)) => {
                let secs = start.elapsed().as_secs_f64();
                println!(
                    "150 diverse lineups ({label}, exposure <= 40%, >= 2 unique): {} lineups in {secs:.2} s = {:.1} lineups/s, nodes {}, best {} / 150th {}",
                    lineups.len(),
                    lineups.len() as f64 / secs,
                    stats.nodes,
                    lineups[0].projection,
                    lineups[lineups.len() - 1].projection
                );
            }
            Err(e) => println!("diverse ({label}): {e}"),
        }
    }
}
