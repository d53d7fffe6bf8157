//! The branch-and-bound search behind the optimiser: the prepared pool, the
//! prunings (dominance, symmetry, Lagrangian bound) and the search itself,
//! which polls its cancel closure every `CANCEL_EVERY` nodes.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::*;

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

pub(super) struct Prepared {
    /// Pool indices sorted best-first.
    pub(super) order: Vec<usize>,
    pub(super) proj: Vec<i64>,
    pub(super) sal: Vec<i64>,
    pub(super) team: Vec<usize>,
    pub(super) locked: Vec<bool>,
    pub(super) cap: i64,
}

pub(super) fn prepare(pool: &[Candidate], rules: &LineupRules) -> Result<Prepared> {
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
pub(super) fn solve(
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
