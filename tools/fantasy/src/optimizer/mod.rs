//! The team builder: the lineup with the most projected points under a
//! salary cap and position slots (FLEX/UTIL included), exact by
//! branch-and-bound; and N diverse lineups with exposure caps and stacking.
//!
//! Exactness rests on three prunings, each of which keeps at least one
//! optimal lineup:
//!
//! * **Dominance.** A player `x` is dropped when at least `K` other players
//!   with the same positions (and, when team rules apply, the same team) cost
//!   no more and project no less, none of them in an earlier lineup, where `K`
//!   is the number of slots that accept `x`. At most `K - 1` of them can share
//!   a lineup with `x`, so one is free to replace `x` without losing points
//!   or breaking a rule.
//! * **Symmetry.** Two slots whose picks could swap hold them in pool order,
//!   so each set of players is tried under one assignment only.
//! * **Bound.** A Lagrangian relaxation of the salary cap: for every
//!   `λ >= 0`, `Σ max(p - λ·s) + λ·cap_left` bounds what the open slots can
//!   still add; the smallest over a few `λ` is used.
//!
//! Points and salaries are compared as integers (milli-points, cents), so the
//! search is exact for projections given to three decimals.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::{FantasyError, Result};
use crate::model::Slot;

mod search;
#[cfg(test)]
mod tests;

use search::{Prepared, prepare, solve};

/// A player the builder may pick.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Candidate {
    /// Player id.
    pub id: String,
    /// Real team code (for stacking and team limits).
    pub team: String,
    /// Eligible positions.
    pub positions: Vec<String>,
    /// Salary (ignored when the rules have no cap).
    pub salary: Decimal,
    /// Projected points.
    pub projection: Decimal,
}

/// Stack rule: every picked player at `anchor` needs at least `count`
/// teammates at one of the `with` positions (QB + 2 of WR/TE).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct StackRule {
    /// Anchor position (`QB`).
    pub anchor: String,
    /// Positions that count as stack partners (`["WR", "TE"]`).
    pub with: Vec<String>,
    /// Partners needed (1..=8).
    pub count: u32,
}

/// What a lineup must satisfy.
#[derive(Debug, Clone, Default)]
pub struct LineupRules {
    /// Slots to fill, in display order.
    pub slots: Vec<Slot>,
    /// Salary cap; `None` for season-long leagues.
    pub salary_cap: Option<Decimal>,
    /// Players who must be in every lineup.
    pub locked: Vec<String>,
    /// Players who must not be picked.
    pub excluded: Vec<String>,
    /// At most this many players from one real team.
    pub max_per_team: Option<u32>,
    /// Stacking rules.
    pub stacks: Vec<StackRule>,
}

/// A built lineup.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Lineup {
    /// (slot label, player id) in slot order.
    pub slots: Vec<LineupSlot>,
    /// Total salary.
    pub salary: Decimal,
    /// Total projected points.
    pub projection: Decimal,
}

/// One filled slot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LineupSlot {
    /// Slot label.
    pub slot: String,
    /// Player id.
    pub player_id: String,
}

impl Lineup {
    /// Player ids in slot order.
    pub fn player_ids(&self) -> Vec<&str> {
        self.slots.iter().map(|s| s.player_id.as_str()).collect()
    }
}

/// Options for [`diverse_lineups`].
#[derive(Debug, Clone)]
pub struct DiverseOptions {
    /// How many lineups (1..=500).
    pub count: usize,
    /// Largest share of lineups one (unlocked) player may appear in, 0 < x <= 1.
    pub max_exposure: Decimal,
    /// Each lineup differs from every earlier one in at least this many players (>= 1).
    pub min_unique: usize,
}

/// Search statistics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, JsonSchema)]
pub struct SearchStats {
    /// Players left after dominance pruning.
    pub pool_after_pruning: usize,
    /// Branch-and-bound nodes visited.
    pub nodes: u64,
    /// Whether the search finished, so the lineup is proven optimal; false
    /// when it stopped at [`NODE_BUDGET`] with the best lineup found.
    pub proven: bool,
}

const POINT_SCALE: i64 = 1000;
const SALARY_SCALE: i64 = 100;
const CANCEL_EVERY: u64 = 1 << 14;

/// Nodes one search may visit (about two seconds on one core) before it
/// stops with the best lineup found so far, marked not proven. Projections
/// that rise almost exactly with salary (a preseason prior) make nearly
/// every full-cap lineup tie, and proving one best could take hours.
pub const NODE_BUDGET: u64 = 3_000_000;

fn to_units(value: Decimal, scale: i64, field: &str) -> Result<i64> {
    (value * Decimal::from(scale))
        .round()
        .to_i64()
        .filter(|v| v.unsigned_abs() < (1u64 << 50))
        .ok_or_else(|| FantasyError::invalid(field, "value out of range"))
}

/// Validates rules against the pool: slots non-empty, locked/excluded known
/// and disjoint, stack rules sane.
fn validate(pool: &[Candidate], rules: &LineupRules) -> Result<()> {
    if rules.slots.is_empty() {
        return Err(FantasyError::invalid(
            "slots",
            "at least one slot is needed",
        ));
    }
    if let Some(cap) = rules.salary_cap
        && cap <= Decimal::ZERO
    {
        return Err(FantasyError::invalid("salary_cap", "must be positive"));
    }
    let mut ids = BTreeSet::new();
    for (i, c) in pool.iter().enumerate() {
        if !ids.insert(c.id.as_str()) {
            return Err(FantasyError::invalid(
                format!("players[{i}].id"),
                format!("duplicate player `{}`", c.id),
            ));
        }
        if c.salary < Decimal::ZERO {
            return Err(FantasyError::invalid(
                format!("players[{i}].salary"),
                "must not be negative",
            ));
        }
    }
    for (i, id) in rules.locked.iter().enumerate() {
        if !ids.contains(id.as_str()) {
            return Err(FantasyError::invalid(
                format!("locked[{i}]"),
                format!("`{id}` is not in the player pool"),
            ));
        }
        if rules.excluded.contains(id) {
            return Err(FantasyError::invalid(
                format!("locked[{i}]"),
                format!("`{id}` is both locked and excluded"),
            ));
        }
    }
    if rules.locked.len() > rules.slots.len() {
        return Err(FantasyError::invalid(
            "locked",
            "more locked players than slots",
        ));
    }
    for (i, s) in rules.stacks.iter().enumerate() {
        if s.count == 0 || s.count > 8 {
            return Err(FantasyError::invalid(
                format!("stacks[{i}].count"),
                "must be 1..=8",
            ));
        }
        if s.with.is_empty() {
            return Err(FantasyError::invalid(
                format!("stacks[{i}].with"),
                "name at least one position",
            ));
        }
    }
    if rules.max_per_team == Some(0) {
        return Err(FantasyError::invalid("max_per_team", "must be at least 1"));
    }
    Ok(())
}

fn to_lineup(pool: &[Candidate], rules: &LineupRules, prep: &Prepared, picks: &[usize]) -> Lineup {
    let slots = picks
        .iter()
        .enumerate()
        .map(|(s, &r)| LineupSlot {
            slot: rules.slots[s].name.clone(),
            player_id: pool[prep.order[r]].id.clone(),
        })
        .collect();
    Lineup {
        slots,
        salary: picks.iter().map(|&r| pool[prep.order[r]].salary).sum(),
        projection: picks.iter().map(|&r| pool[prep.order[r]].projection).sum(),
    }
}

/// The lineup with the most projected points under `rules`.
pub fn optimal_lineup(pool: &[Candidate], rules: &LineupRules) -> Result<(Lineup, SearchStats)> {
    optimal_lineup_with_cancel(pool, rules, &|| false)
}

/// [`optimal_lineup`], polling `cancel` during the search.
pub fn optimal_lineup_with_cancel(
    pool: &[Candidate],
    rules: &LineupRules,
    cancel: &dyn Fn() -> bool,
) -> Result<(Lineup, SearchStats)> {
    optimal_lineup_within(pool, rules, cancel, NODE_BUDGET)
}

/// [`optimal_lineup_with_cancel`] with a node budget of `budget`.
pub fn optimal_lineup_within(
    pool: &[Candidate],
    rules: &LineupRules,
    cancel: &dyn Fn() -> bool,
    budget: u64,
) -> Result<(Lineup, SearchStats)> {
    let prep = prepare(pool, rules)?;
    let (picks, stats) = solve(
        pool,
        rules,
        &prep,
        &[],
        &BTreeSet::new(),
        usize::MAX,
        cancel,
        budget,
    )?;
    match picks {
        Some(picks) => Ok((to_lineup(pool, rules, &prep, &picks), stats)),
        None if !stats.proven => Err(FantasyError::Infeasible(format!(
            "no lineup found in {} search nodes; lock or exclude players, or narrow the pool",
            stats.nodes
        ))),
        None => Err(FantasyError::Infeasible(
            "no lineup fits the slots, salary cap, locked players and team rules".into(),
        )),
    }
}

/// Up to `opts.count` lineups, each optimal given the earlier ones: no
/// unlocked player above the exposure cap, and each lineup differing from
/// every earlier one in at least `min_unique` players. Stops early (with
/// fewer lineups) when no further lineup is feasible. `progress` is called
/// after each lineup with (done, total).
pub fn diverse_lineups(
    pool: &[Candidate],
    rules: &LineupRules,
    opts: &DiverseOptions,
    cancel: &dyn Fn() -> bool,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<(Vec<Lineup>, SearchStats)> {
    if opts.count == 0 || opts.count > 500 {
        return Err(FantasyError::invalid("count", "must be 1..=500"));
    }
    if opts.max_exposure <= Decimal::ZERO || opts.max_exposure > Decimal::ONE {
        return Err(FantasyError::invalid("max_exposure", "must be in (0, 1]"));
    }
    if opts.min_unique == 0 || opts.min_unique > rules.slots.len() {
        return Err(FantasyError::invalid(
            "min_unique",
            format!("must be 1..={} (the number of slots)", rules.slots.len()),
        ));
    }
    let prep = prepare(pool, rules)?;
    let max_uses = (opts.max_exposure * Decimal::from(opts.count))
        .floor()
        .to_usize()
        .unwrap_or(1)
        .max(1);
    let max_overlap = rules.slots.len() - opts.min_unique;
    let mut uses = vec![0usize; prep.order.len()];
    let mut previous: Vec<Vec<usize>> = Vec::new();
    let mut lineups = Vec::new();
    let mut total = SearchStats {
        proven: true,
        ..SearchStats::default()
    };
    while lineups.len() < opts.count {
        if cancel() {
            return Err(FantasyError::Cancelled);
        }
        let unavailable: BTreeSet<usize> =
            (0..uses.len()).filter(|&r| uses[r] >= max_uses).collect();
        let (picks, stats) = solve(
            pool,
            rules,
            &prep,
            &previous,
            &unavailable,
            max_overlap,
            cancel,
            NODE_BUDGET,
        )?;
        total.nodes += stats.nodes;
        total.pool_after_pruning = total.pool_after_pruning.max(stats.pool_after_pruning);
        total.proven &= stats.proven;
        let Some(picks) = picks else { break };
        for &r in &picks {
            uses[r] += 1;
        }
        lineups.push(to_lineup(pool, rules, &prep, &picks));
        previous.push(picks);
        progress(lineups.len(), opts.count);
    }
    if lineups.is_empty() {
        return Err(FantasyError::Infeasible(
            "no lineup fits the slots, salary cap, locked players and team rules".into(),
        ));
    }
    Ok((lineups, total))
}

/// Checks a lineup against the rules; returns the first rule broken.
pub fn check_lineup(
    pool: &[Candidate],
    rules: &LineupRules,
    lineup: &Lineup,
) -> std::result::Result<(), String> {
    let by_id: HashMap<&str, &Candidate> = pool.iter().map(|c| (c.id.as_str(), c)).collect();
    if lineup.slots.len() != rules.slots.len() {
        return Err(format!(
            "{} players for {} slots",
            lineup.slots.len(),
            rules.slots.len()
        ));
    }
    let mut seen = BTreeSet::new();
    let mut salary = Decimal::ZERO;
    let mut teams: BTreeMap<&str, u32> = BTreeMap::new();
    let mut picked = Vec::new();
    for (slot, filled) in rules.slots.iter().zip(&lineup.slots) {
        let Some(c) = by_id.get(filled.player_id.as_str()) else {
            return Err(format!("unknown player {}", filled.player_id));
        };
        if !seen.insert(c.id.as_str()) {
            return Err(format!("{} picked twice", c.id));
        }
        if !slot.accepts_any(&c.positions) {
            return Err(format!("{} cannot play {}", c.id, slot.name));
        }
        if rules.excluded.contains(&c.id) {
            return Err(format!("{} is excluded", c.id));
        }
        salary += c.salary;
        *teams.entry(c.team.as_str()).or_default() += 1;
        picked.push(*c);
    }
    if let Some(cap) = rules.salary_cap
        && salary > cap
    {
        return Err(format!("salary {salary} over cap {cap}"));
    }
    for id in &rules.locked {
        if !seen.contains(id.as_str()) {
            return Err(format!("locked {id} missing"));
        }
    }
    if let Some(max) = rules.max_per_team
        && let Some((team, n)) = teams.iter().find(|(_, n)| **n > max)
    {
        return Err(format!("{n} players from {team}"));
    }
    for s in &rules.stacks {
        for a in picked.iter().filter(|c| c.positions.contains(&s.anchor)) {
            let mates = picked
                .iter()
                .filter(|b| {
                    b.id != a.id
                        && b.team == a.team
                        && b.positions.iter().any(|p| s.with.contains(p))
                })
                .count();
            if (mates as u32) < s.count {
                return Err(format!(
                    "{} has {mates} stack partners, needs {}",
                    a.id, s.count
                ));
            }
        }
    }
    Ok(())
}

/// Exhaustive search over every set of players (for tests on small pools).
#[doc(hidden)]
pub fn exhaustive_best(pool: &[Candidate], rules: &LineupRules) -> Option<Decimal> {
    let n = pool.len();
    let k = rules.slots.len();
    let mut best: Option<Decimal> = None;
    let mut combo: Vec<usize> = (0..k).collect();
    if k > n || k == 0 {
        return None;
    }
    loop {
        // Try to assign this set to slots (backtracking matching).
        let chosen: Vec<&Candidate> = combo.iter().map(|&i| &pool[i]).collect();
        let mut assign = vec![usize::MAX; k];
        if assign_slots(&chosen, &rules.slots, 0, &mut assign) {
            let lineup = Lineup {
                slots: rules
                    .slots
                    .iter()
                    .zip(&assign)
                    .map(|(s, &c)| LineupSlot {
                        slot: s.name.clone(),
                        player_id: chosen[c].id.clone(),
                    })
                    .collect(),
                salary: chosen.iter().map(|c| c.salary).sum(),
                projection: chosen.iter().map(|c| c.projection).sum(),
            };
            if check_lineup(pool, rules, &lineup).is_ok()
                && best.is_none_or(|b| lineup.projection > b)
            {
                best = Some(lineup.projection);
            }
        }
        // next combination
        let mut i = k;
        while i > 0 && combo[i - 1] == i - 1 + n - k {
            i -= 1;
        }
        if i == 0 {
            return best;
        }
        combo[i - 1] += 1;
        for j in i..k {
            combo[j] = combo[j - 1] + 1;
        }
    }
}

fn assign_slots(chosen: &[&Candidate], slots: &[Slot], s: usize, assign: &mut [usize]) -> bool {
    if s == slots.len() {
        return true;
    }
    for c in 0..chosen.len() {
        if assign.contains(&c) || !slots[s].accepts_any(&chosen[c].positions) {
            continue;
        }
        assign[s] = c;
        if assign_slots(chosen, slots, s + 1, assign) {
            return true;
        }
        assign[s] = usize::MAX;
    }
    false
}
