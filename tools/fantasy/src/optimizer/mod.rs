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

/// The search over one pool; built once per lineup.
struct Search<'a> {
    n_slots: usize,
    /// Slot indices in search order.
    order: Vec<usize>,
    /// For each search depth, candidate pool indices (ascending = best first).
    cands: Vec<Vec<usize>>,
    /// elig[depth][player]
    elig: Vec<Vec<bool>>,
    proj: Vec<i64>,
    sal: Vec<i64>,
    team: Vec<usize>,
    locked: Vec<bool>,
    n_locked: usize,
    cap: i64,
    min_sal_suffix: Vec<i64>,
    lambdas: Vec<f64>,
    /// bound_suffix[depth][k] = Σ_{d >= depth} max_c (proj - λ_k sal)
    bound_suffix: Vec<Vec<f64>>,
    max_per_team: Option<u32>,
    /// gap_suffix[team][depth][k]: over open slots from `depth`, the least
    /// points lost (at λ_k) by filling one with a stack partner from `team`
    /// instead of the best player; infinite when no slot can take one.
    gap_suffix: Vec<Vec<Vec<f64>>>,
    /// Stack partners (of the first stack rule) picked, per team.
    partners_by_team: Vec<u32>,
    /// (is_anchor, is_partner) per stack rule per player.
    stacks: Vec<(Vec<bool>, Vec<bool>, u32)>,
    /// lineups (earlier) each player appears in
    in_prev: Vec<Vec<u32>>,
    max_overlap: usize,
    cancel: &'a dyn Fn() -> bool,
    // state
    pick: Vec<usize>,
    used: Vec<bool>,
    team_count: Vec<u32>,
    overlap: Vec<u32>,
    locked_used: usize,
    best: i64,
    best_pick: Option<Vec<usize>>,
    nodes: u64,
    cancelled: bool,
    budget: u64,
    truncated: bool,
}

impl Search<'_> {
    fn bound(&self, depth: usize, cap_left: i64) -> f64 {
        let suffix = &self.bound_suffix[depth];
        let mut best = f64::INFINITY;
        for (k, lambda) in self.lambdas.iter().enumerate() {
            let b = suffix[k] + lambda * cap_left as f64;
            if b < best {
                best = b;
            }
        }
        best
    }

    /// [`Self::bound`] tightened by the first stack rule: every picked anchor
    /// still short of partners forces that many open slots onto its team.
    fn stack_bound(&self, depth: usize, cap_left: i64) -> f64 {
        let Some((anchor, partner, count)) = self.stacks.first() else {
            return self.bound(depth, cap_left);
        };
        let suffix = &self.bound_suffix[depth];
        let mut best = f64::INFINITY;
        for (k, lambda) in self.lambdas.iter().enumerate() {
            let mut penalty = 0.0f64;
            for &a in &self.pick {
                if !anchor[a] {
                    continue;
                }
                let team = self.team[a];
                let have = self.partners_by_team[team] - u32::from(partner[a]);
                if have < *count {
                    let need = f64::from(count - have);
                    penalty = penalty.max(need * self.gap_suffix[team][depth][k]);
                }
            }
            let b = suffix[k] + lambda * cap_left as f64 - penalty;
            if b < best {
                best = b;
            }
        }
        best
    }

    fn can_beat(&self, value: f64) -> bool {
        value >= (self.best as f64) + 1.0 - 1e-6
    }

    fn leaf_ok(&self) -> bool {
        if self.locked_used != self.n_locked {
            return false;
        }
        for (anchor, partner, count) in &self.stacks {
            for &a in &self.pick {
                if !anchor[a] {
                    continue;
                }
                let mates = self
                    .pick
                    .iter()
                    .filter(|&&b| b != a && partner[b] && self.team[b] == self.team[a])
                    .count();
                if (mates as u32) < *count {
                    return false;
                }
            }
        }
        true
    }

    /// Tries to place `c` at `depth`; returns false (state unchanged) when a
    /// rule forbids it.
    fn place(&mut self, depth: usize, c: usize) -> bool {
        // Symmetry: slots whose picks could swap keep pool order.
        for d in 0..depth {
            let p = self.pick[d];
            if p > c && self.elig[d][c] && self.elig[depth][p] {
                return false;
            }
        }
        if let Some(max) = self.max_per_team
            && self.team_count[self.team[c]] >= max
        {
            return false;
        }
        let mut ok = true;
        for &l in &self.in_prev[c] {
            self.overlap[l as usize] += 1;
            if self.overlap[l as usize] as usize > self.max_overlap {
                ok = false;
            }
        }
        if !ok {
            for &l in &self.in_prev[c] {
                self.overlap[l as usize] -= 1;
            }
            return false;
        }
        self.team_count[self.team[c]] += 1;
        if self.stacks.first().is_some_and(|s| s.1[c]) {
            self.partners_by_team[self.team[c]] += 1;
        }
        self.used[c] = true;
        if self.locked[c] {
            self.locked_used += 1;
        }
        self.pick.push(c);
        true
    }

    fn unplace(&mut self, c: usize) {
        self.pick.pop();
        if self.locked[c] {
            self.locked_used -= 1;
        }
        self.used[c] = false;
        self.team_count[self.team[c]] -= 1;
        if self.stacks.first().is_some_and(|s| s.1[c]) {
            self.partners_by_team[self.team[c]] -= 1;
        }
        for &l in &self.in_prev[c] {
            self.overlap[l as usize] -= 1;
        }
    }

    fn dfs(&mut self, depth: usize, cap_left: i64, acc: i64) {
        if self.cancelled || self.truncated {
            return;
        }
        self.nodes += 1;
        if self.nodes.is_multiple_of(CANCEL_EVERY) && (self.cancel)() {
            self.cancelled = true;
            return;
        }
        if self.nodes >= self.budget {
            self.truncated = true;
            return;
        }
        let last = depth + 1 == self.n_slots;
        let slots_after = self.n_slots - depth - 1;
        for i in 0..self.cands[depth].len() {
            let c = self.cands[depth][i];
            if self.used[c] {
                continue;
            }
            let value = acc + self.proj[c];
            // Every later candidate projects no more and leaves no more cap
            // than the full cap_left, so once this one cannot win none can.
            if !self.can_beat(value as f64 + self.bound(depth + 1, cap_left)) {
                break;
            }
            let rest = cap_left - self.sal[c];
            if rest < self.min_sal_suffix[depth + 1] {
                continue;
            }
            let locked_left = self.n_locked - self.locked_used - usize::from(self.locked[c]);
            if locked_left > slots_after {
                continue;
            }
            if !last && !self.can_beat(value as f64 + self.bound(depth + 1, rest)) {
                continue;
            }
            if !self.place(depth, c) {
                continue;
            }
            if !last
                && !self.stacks.is_empty()
                && !self.can_beat(value as f64 + self.stack_bound(depth + 1, rest))
            {
                self.unplace(c);
                continue;
            }
            if last {
                if self.leaf_ok() && value > self.best {
                    self.best = value;
                    self.best_pick = Some(self.pick.clone());
                    self.unplace(c);
                    // Candidates are best-first: nothing later at this slot beats it.
                    return;
                }
            } else {
                self.dfs(depth + 1, rest, value);
            }
            self.unplace(c);
            if self.cancelled || self.truncated {
                return;
            }
        }
    }
}

/// Players to consider after excluded ones and dominance pruning.
fn prune(
    pool: &[Candidate],
    order: &[usize],
    sal: &[i64],
    proj: &[i64],
    rules: &LineupRules,
    forbidden_dominators: &BTreeSet<usize>,
    locked: &[bool],
) -> Vec<bool> {
    let team_rules = rules.max_per_team.is_some() || !rules.stacks.is_empty();
    let mut keep = vec![true; order.len()];
    let mut groups: HashMap<(Vec<String>, &str), Vec<usize>> = HashMap::new();
    for (rank, &i) in order.iter().enumerate() {
        let mut pos = pool[i].positions.clone();
        pos.sort();
        pos.dedup();
        let team = if team_rules {
            pool[i].team.as_str()
        } else {
            ""
        };
        groups.entry((pos, team)).or_default().push(rank);
    }
    for ((positions, _), members) in &groups {
        let k = rules
            .slots
            .iter()
            .filter(|s| s.accepts_any(positions))
            .count();
        if k == 0 {
            for &m in members {
                keep[m] = false;
            }
            continue;
        }
        // members are in rank order: a dominator always has a lower rank.
        for (j, &x) in members.iter().enumerate() {
            if locked[x] {
                continue;
            }
            let dominators = members[..j]
                .iter()
                .filter(|&&d| {
                    sal[d] <= sal[x] && proj[d] >= proj[x] && !forbidden_dominators.contains(&d)
                })
                .take(k)
                .count();
            if dominators >= k {
                keep[x] = false;
            }
        }
    }
    keep
}

struct Prepared {
    /// Pool indices sorted best-first.
    order: Vec<usize>,
    proj: Vec<i64>,
    sal: Vec<i64>,
    team: Vec<usize>,
    locked: Vec<bool>,
    cap: i64,
}

fn prepare(pool: &[Candidate], rules: &LineupRules) -> Result<Prepared> {
    validate(pool, rules)?;
    let excluded: BTreeSet<&str> = rules.excluded.iter().map(String::as_str).collect();
    let mut raw = Vec::new();
    for (i, c) in pool.iter().enumerate() {
        if excluded.contains(c.id.as_str()) {
            continue;
        }
        let p = to_units(
            c.projection,
            POINT_SCALE,
            &format!("players[{i}].projection"),
        )?;
        let s = if rules.salary_cap.is_some() {
            to_units(c.salary, SALARY_SCALE, &format!("players[{i}].salary"))?
        } else {
            0
        };
        raw.push((i, p, s));
    }
    raw.sort_by(|a, b| {
        b.1.cmp(&a.1)
            .then(a.2.cmp(&b.2))
            .then(pool[a.0].id.cmp(&pool[b.0].id))
    });
    let mut teams: BTreeMap<&str, usize> = BTreeMap::new();
    let team = raw
        .iter()
        .map(|r| {
            let n = teams.len();
            *teams.entry(pool[r.0].team.as_str()).or_insert(n)
        })
        .collect();
    let locked_ids: BTreeSet<&str> = rules.locked.iter().map(String::as_str).collect();
    Ok(Prepared {
        locked: raw
            .iter()
            .map(|r| locked_ids.contains(pool[r.0].id.as_str()))
            .collect(),
        order: raw.iter().map(|r| r.0).collect(),
        proj: raw.iter().map(|r| r.1).collect(),
        sal: raw.iter().map(|r| r.2).collect(),
        team,
        cap: match rules.salary_cap {
            Some(cap) => to_units(cap, SALARY_SCALE, "salary_cap")?,
            None => i64::MAX / 4,
        },
    })
}

// The search's inputs and its two stop conditions (cancel, node budget).
#[allow(clippy::too_many_arguments)]
fn solve(
    pool: &[Candidate],
    rules: &LineupRules,
    prep: &Prepared,
    previous: &[Vec<usize>],
    unavailable: &BTreeSet<usize>,
    max_overlap: usize,
    cancel: &dyn Fn() -> bool,
    budget: u64,
) -> Result<(Option<Vec<usize>>, SearchStats)> {
    let n = prep.order.len();
    let mut in_prev = vec![Vec::new(); n];
    let mut seen = BTreeSet::new();
    for (l, lineup) in previous.iter().enumerate() {
        for &r in lineup {
            in_prev[r].push(l as u32);
            seen.insert(r);
        }
    }
    let mut keep = prune(
        pool,
        &prep.order,
        &prep.sal,
        &prep.proj,
        rules,
        &seen,
        &prep.locked,
    );
    for &r in unavailable {
        if !prep.locked[r] {
            keep[r] = false;
        }
    }
    let n_slots = rules.slots.len();
    let eligible =
        |s: usize, r: usize| keep[r] && rules.slots[s].accepts_any(&pool[prep.order[r]].positions);
    let mut slot_order: Vec<usize> = (0..n_slots).collect();
    let counts: Vec<usize> = (0..n_slots)
        .map(|s| (0..n).filter(|&r| eligible(s, r)).count())
        .collect();
    slot_order.sort_by(|&a, &b| {
        (
            rules.slots[a].accepts.len(),
            counts[a],
            &rules.slots[a].accepts,
        )
            .cmp(&(
                rules.slots[b].accepts.len(),
                counts[b],
                &rules.slots[b].accepts,
            ))
    });
    let elig: Vec<Vec<bool>> = slot_order
        .iter()
        .map(|&s| (0..n).map(|r| eligible(s, r)).collect())
        .collect();
    let cands: Vec<Vec<usize>> = elig
        .iter()
        .map(|e| (0..n).filter(|&r| e[r]).collect())
        .collect();
    if let Some(d) = cands.iter().position(Vec::is_empty) {
        let slot = &rules.slots[slot_order[d]];
        return Err(FantasyError::Infeasible(format!(
            "no available player can fill slot {} ({})",
            slot.name,
            slot.accepts.join("/")
        )));
    }
    let mut min_sal_suffix = vec![0i64; n_slots + 1];
    for d in (0..n_slots).rev() {
        let m = cands[d].iter().map(|&r| prep.sal[r]).min().unwrap_or(0);
        min_sal_suffix[d] = min_sal_suffix[d + 1] + m;
    }
    let lambdas: Vec<f64> = if rules.salary_cap.is_some() {
        let total_p: f64 = cands
            .iter()
            .flatten()
            .map(|&r| prep.proj[r].max(0) as f64)
            .sum();
        let total_s: f64 = cands
            .iter()
            .flatten()
            .map(|&r| prep.sal[r].max(1) as f64)
            .sum();
        let ratio = if total_s > 0.0 {
            total_p / total_s
        } else {
            0.0
        };
        [0.0, 0.5, 0.75, 0.9, 1.0, 1.1, 1.25, 1.5, 2.0, 3.0]
            .iter()
            .map(|f| f * ratio)
            .collect()
    } else {
        vec![0.0]
    };
    let value_at = |r: usize, lambda: f64| prep.proj[r] as f64 - lambda * prep.sal[r] as f64;
    // Identical slots (same accepted positions) sit next to each other in
    // search order; from depth d, `r[d]` of them remain in d's group and the
    // bound takes the top r[d] distinct players for them.
    let mut group_end = vec![n_slots; n_slots];
    for d in (0..n_slots).rev() {
        let same_as_next = d + 1 < n_slots
            && rules.slots[slot_order[d]].accepts == rules.slots[slot_order[d + 1]].accepts;
        group_end[d] = if same_as_next {
            group_end[d + 1]
        } else {
            d + 1
        };
    }
    // sorted[d][k]: candidate values at λ_k, best first.
    let sorted: Vec<Vec<Vec<f64>>> = cands
        .iter()
        .map(|list| {
            lambdas
                .iter()
                .map(|&lambda| {
                    let mut v: Vec<f64> = list.iter().map(|&r| value_at(r, lambda)).collect();
                    v.sort_by(|a, b| b.total_cmp(a));
                    v
                })
                .collect()
        })
        .collect();
    let mut bound_suffix = vec![vec![0.0; lambdas.len()]; n_slots + 1];
    for d in (0..n_slots).rev() {
        let r = group_end[d] - d;
        for k in 0..lambdas.len() {
            let values = &sorted[d][k];
            // Fewer candidates than slots: repeat the last (still an upper bound).
            let top: f64 = (0..r).map(|i| values[i.min(values.len() - 1)]).sum();
            bound_suffix[d][k] = bound_suffix[group_end[d]][k] + top;
        }
    }
    let n_teams = prep.team.iter().max().map_or(1, |m| m + 1);
    let gap_suffix = match rules.stacks.first() {
        None => Vec::new(),
        Some(rule) => (0..n_teams)
            .map(|team| {
                let mut table = vec![vec![f64::INFINITY; lambdas.len()]; n_slots + 1];
                for d in (0..n_slots).rev() {
                    let r = group_end[d] - d;
                    for (k, lambda) in lambdas.iter().enumerate() {
                        let partner_best = cands[d]
                            .iter()
                            .filter(|&&c| {
                                prep.team[c] == team
                                    && pool[prep.order[c]]
                                        .positions
                                        .iter()
                                        .any(|p| rule.with.contains(p))
                            })
                            .map(|&c| value_at(c, *lambda))
                            .fold(f64::NEG_INFINITY, f64::max);
                        // Forcing a partner into this group costs at least
                        // the r-th best value minus the best partner's.
                        let values = &sorted[d][k];
                        let rth = values[(r - 1).min(values.len() - 1)];
                        let gap = (rth - partner_best).max(0.0);
                        table[d][k] = table[group_end[d]][k].min(gap);
                    }
                }
                table
            })
            .collect(),
    };
    let stacks = rules
        .stacks
        .iter()
        .map(|s| {
            let anchor = (0..n)
                .map(|r| pool[prep.order[r]].positions.contains(&s.anchor))
                .collect();
            let partner = (0..n)
                .map(|r| {
                    pool[prep.order[r]]
                        .positions
                        .iter()
                        .any(|p| s.with.contains(p))
                })
                .collect();
            (anchor, partner, s.count)
        })
        .collect();
    let mut search = Search {
        n_slots,
        order: slot_order,
        cands,
        elig,
        proj: prep.proj.clone(),
        sal: prep.sal.clone(),
        team: prep.team.clone(),
        locked: prep.locked.clone(),
        n_locked: prep.locked.iter().filter(|l| **l).count(),
        cap: prep.cap,
        min_sal_suffix,
        lambdas,
        bound_suffix,
        max_per_team: rules.max_per_team,
        gap_suffix,
        partners_by_team: vec![0; n_teams],
        stacks,
        in_prev,
        max_overlap,
        cancel,
        pick: Vec::with_capacity(n_slots),
        used: vec![false; n],
        team_count: vec![0; n_teams],
        overlap: vec![0; previous.len()],
        locked_used: 0,
        best: i64::MIN / 2,
        best_pick: None,
        nodes: 0,
        cancelled: false,
        budget,
        truncated: false,
    };
    let cap = search.cap;
    search.dfs(0, cap, 0);
    if search.cancelled {
        return Err(FantasyError::Cancelled);
    }
    let stats = SearchStats {
        pool_after_pruning: keep.iter().filter(|k| **k).count(),
        nodes: search.nodes,
        proven: !search.truncated,
    };
    // Map search-order picks back to slot order.
    let picks = search.best_pick.map(|picks| {
        let mut by_slot = vec![0usize; n_slots];
        for (d, r) in picks.into_iter().enumerate() {
            by_slot[search.order[d]] = r;
        }
        by_slot
    });
    Ok((picks, stats))
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

#[cfg(test)]
mod tests {
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
}
